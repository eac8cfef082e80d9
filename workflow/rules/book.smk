# The Jupyter Book: figures, tables and numbers rendered from the ledger and the datasets, then the HTML.
#
# Snakemake is the only execution engine: `book_assets` reads the ledger and the datasets (declared as inputs, so
# a changed dataset reruns it) and writes book/_generated/ (figures, numbers.json, generated Markdown); `book`
# renders the pages with Jupyter Book 1.x, which executes nothing (execute_notebooks: off). The top-level
# Snakefile includes this file. The table of contents is rendered from the families' book parts
# (dln.experiments.PARTS); a family without a page book/<family>.md gets one rendered from its module.

BOOK_PAGES = dlnwf.book_pages("book")
WRITTEN_PAGES = [f"book/{p}.md" for p in BOOK_PAGES.values() if not p.startswith(dlnwf.GENERATED_PAGES)]

BOOK_GENERATED = [
    "numbers.json",
    "_toc.yml",
    "pages_table.md",
    *[p.removeprefix("_generated/") + ".md" for p in BOOK_PAGES.values() if p.startswith(dlnwf.GENERATED_PAGES)],
    "claim_cards.md",
    "ledger_table.md",
    "errata_list.md",
    "tolerances.md",
    "provenance_table.md",
    "blueprint_counts.md",
    "blueprint_definitions.md",
    *[f"blueprint{view}.svg" for view in ("", "_LM", "_MY", "_CKM", "_NUM", "_around_LM-Thm2")],
    *[f"checks_{family}.md" for family in FAMILIES],
]


rule book_assets:
    """Draw every figure of the book and collect every quoted number from the ledger and the datasets."""
    input:
        datasets=expand("results/{family}.nc", family=FAMILIES),
        ledger="results/ledger.json",
        rules=glob.glob("workflow/rules/*.smk"),
    output:
        numbers="book/_generated/numbers.json",
        figures=directory("book/_generated/figures"),
        site=directory("book/_generated/site"),
        generated=[f"book/_generated/{name}" for name in BOOK_GENERATED if name != "numbers.json"],
    log:
        "logs/book/book_assets.log",
    conda:
        "../envs/dln.yaml"
    params:
        code=lambda wc: dlnwf.step_code("book_assets.py"),
    script:
        "../scripts/book_assets.py"


rule book:
    """Build the HTML book (Jupyter Book 1.x); any Sphinx warning fails the build."""
    input:
        generated=[f"book/_generated/{name}" for name in BOOK_GENERATED],
        figures="book/_generated/figures",
        site="book/_generated/site",
        pages=WRITTEN_PAGES,
        config="book/_config.yml",
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
