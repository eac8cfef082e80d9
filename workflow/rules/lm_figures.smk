# LM Figures 1.1-1.3: one job (the figures' parameters, dln.experiments.lm_figures.DEFAULT_PARAMS) ->
# results/lm_figures.nc, read by the ledger (claims LM-Fig1.1-1.3) and the book.


rule lm_figures:
    """Planar trajectories (d = 1, N = 2) for LM Figures 1.1-1.3: regularizing and learning flows."""
    output:
        "results/lm_figures.nc",
    log:
        "logs/lm_figures.log",
    conda:
        "../envs/dln.yaml"
    params:
        code=lambda wc: dlnwf.family_code("lm_figures"),
    script:
        "../scripts/lm_figures.py"
