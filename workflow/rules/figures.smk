# Overview figures of every aggregated dataset, for the Snakemake HTML report (`snakemake --report`).
# The book draws its own figures (book.smk); these are named results/figures/<family>_*.png.


rule figure:
    """A generic overview plot of results/<family>.nc."""
    input:
        "results/{family}.nc",
    output:
        report(
            "results/figures/{family}_overview.png",
            caption="../report/figure.rst",
            category="Figures",
            subcategory="{family}",
            labels={"family": "{family}", "figure": "overview"},
        ),
    log:
        "logs/figures/{family}.log",
    wildcard_constraints:
        family="|".join(dlnwf.FAMILIES),
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="{family}",
        code=lambda wc: dlnwf.figure_code(wc.family),
    script:
        "../scripts/plot.py"
