# Experiment family `fibers`: fibers, moments and the Gram operator at random points (LM §1-3).
# One job per point of the sweep in config["families"]["fibers"]; the science is in
# dln.experiments.fibers (simulate/aggregate); these rules only move data.


rule fibers:
    """One point of the fibers sweep: dln.experiments.fibers.simulate(params) -> netCDF."""
    output:
        "results/fibers/jobs/{job}.nc",
    params:
        family="fibers",
        sim=lambda wc: job_params("fibers", wc.job),
    log:
        "logs/fibers/{job}.log",
    threads: 1
    conda:
        "../envs/dln.yaml"
    script:
        "../scripts/simulate.py"


rule fibers_aggregate:
    """Combine every job of the fibers sweep into results/fibers.nc."""
    input:
        lambda wc: job_files("fibers"),
    output:
        "results/fibers.nc",
    params:
        family="fibers",
        config=lambda wc: family_config("fibers"),
    log:
        "logs/fibers/aggregate.log",
    threads: 1
    conda:
        "../envs/dln.yaml"
    script:
        "../scripts/aggregate.py"
