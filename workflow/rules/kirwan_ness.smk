# Experiment family `kirwan_ness`: the Kirwan-Ness flow (LM Thm 10, eq. 2.31, Cor 1), including rank-deficient starts.
# One job per point of the sweep in config["families"]["kirwan_ness"]; the science is in
# dln.experiments.kirwan_ness (simulate/aggregate); these rules only move data.


rule kirwan_ness:
    """One point of the kirwan_ness sweep: dln.experiments.kirwan_ness.simulate(params) -> netCDF."""
    output:
        "results/kirwan_ness/jobs/{job}.nc",
    log:
        "logs/kirwan_ness/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="kirwan_ness",
        code=lambda wc: dlnwf.family_code("kirwan_ness"),
        sim=lambda wc: job_params("kirwan_ness", wc.job),
    script:
        "../scripts/simulate.py"


rule kirwan_ness_aggregate:
    """Combine every job of the kirwan_ness sweep into results/kirwan_ness.nc."""
    input:
        lambda wc: job_files("kirwan_ness"),
    output:
        "results/kirwan_ness.nc",
    log:
        "logs/kirwan_ness/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="kirwan_ness",
        config=lambda wc: family_config("kirwan_ness"),
    script:
        "../scripts/aggregate.py"
