# Overview figures of every aggregated dataset, for the Snakemake HTML report (`snakemake --report`).
# The book draws its own figures (book.smk); these are named results/figures/<family>_*.png.


rule overview_figures:
    """A generic overview plot of every results/<family>.nc, all drawn by one process."""
    input:
        expand("results/{family}.nc", family=FAMILIES),
    output:
        [
            report(
                f"results/figures/{family}_overview.png",
                caption="../report/figure.rst",
                category="Figures",
                subcategory=family,
                labels={"family": family, "figure": "overview"},
            )
            for family in FAMILIES
        ],
    log:
        "logs/figures/overview.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        families=FAMILIES,
        code=lambda wc: dlnwf.figure_code(),
    script:
        "../scripts/plot.py"
