# Experiment family `schatten`: Schatten-p minimization over the fiber (LM Thm 1, Thm 20, the open p = 1 case).
# One job per point of the sweep in config["families"]["schatten"]; the science is in
# dln.experiments.schatten (simulate/aggregate); these rules only move data.


rule schatten:
    """One point of the schatten sweep: dln.experiments.schatten.simulate(params) -> netCDF."""
    output:
        "results/schatten/jobs/{job}.nc",
    log:
        "logs/schatten/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="schatten",
        code=lambda wc: dlnwf.family_code("schatten"),
        sim=lambda wc: job_params("schatten", wc.job),
    script:
        "../scripts/simulate.py"


rule schatten_aggregate:
    """Combine every job of the schatten sweep into results/schatten.nc."""
    input:
        lambda wc: job_files("schatten"),
    output:
        "results/schatten.nc",
    log:
        "logs/schatten/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="schatten",
        config=lambda wc: family_config("schatten"),
    script:
        "../scripts/aggregate.py"
