# The Jupyter Book (issue 7): figures and numbers rendered from the datasets, then the HTML.
#
# Snakemake is the only execution engine: `book_assets` reads the datasets (declared as inputs, so a
# changed dataset reruns it) and writes book/_generated/ (figures, numbers.json, generated Markdown);
# `book` renders the pages with Jupyter Book 1.x, which executes nothing (execute_notebooks: off).
# Both take seconds. The top-level Snakefile includes this file.

BOOK_FAMILIES = [
    "regularizing_flow",
    "kirwan_ness",
    "learning_flow",
    "schatten",
    "fast_slow",
    "langevin",
    "posterior",
    "entropy",
    "free_energy",
]

BOOK_PAGES = [
    "index",
    "dln_fibers",
    "regularizing_flow",
    "kirwan_ness",
    "minimum_principles",
    "learning_flow",
    "fast_slow",
    "noise",
    "posterior",
    "entropy",
    "entropic_regularization",
    "ledger",
    "errata",
    "reproducibility",
]


rule book_assets:
    """Draw every figure of the book and collect every quoted number from the datasets."""
    input:
        datasets=expand("results/{family}.nc", family=BOOK_FAMILIES),
        lm_figures="results/lm_figures.nc",
        ledger="results/ledger.json",
        plotting="src/dln/plotting.py",
    output:
        numbers="book/_generated/numbers.json",
        figures=directory("book/_generated/figures"),
        ledger_table="book/_generated/ledger_table.md",
        errata="book/_generated/errata_list.md",
        provenance="book/_generated/provenance_table.md",
    log:
        "logs/book/book_assets.log",
    conda:
        "../envs/dln.yaml"
    script:
        "../scripts/book_assets.py"


rule book:
    """Build the HTML book (Jupyter Book 1.x); any Sphinx warning fails the build."""
    input:
        numbers="book/_generated/numbers.json",
        figures="book/_generated/figures",
        ledger_table="book/_generated/ledger_table.md",
        errata="book/_generated/errata_list.md",
        provenance="book/_generated/provenance_table.md",
        datasets=expand("results/{family}.nc", family=BOOK_FAMILIES),
        lm_figures="results/lm_figures.nc",
        ledger="results/ledger.json",
        pages=expand("book/{page}.md", page=BOOK_PAGES),
        config="book/_config.yml",
        toc="book/_toc.yml",
        ext="book/_ext/dln_book.py",
        css="book/_static/dln.css",
    output:
        "book/_build/html/index.html",
    log:
        "logs/book/book.log",
    conda:
        "../envs/dln.yaml"
    script:
        "../scripts/book_build.py"
