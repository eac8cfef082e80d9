# Experiment family `fibers`: fibers, moments and the Gram operator at random points (LM §1-3).
# One job per point of the sweep in config["families"]["fibers"]; the science is in
# dln.experiments.fibers (simulate/aggregate); these rules only move data.


rule fibers:
    """One point of the fibers sweep: dln.experiments.fibers.simulate(params) -> netCDF."""
    output:
        "results/fibers/jobs/{job}.nc",
    log:
        "logs/fibers/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="fibers",
        code=lambda wc: dlnwf.family_code("fibers"),
        sim=lambda wc: job_params("fibers", wc.job),
    script:
        "../scripts/simulate.py"


rule fibers_aggregate:
    """Combine every job of the fibers sweep into results/fibers.nc."""
    input:
        lambda wc: job_files("fibers"),
    output:
        "results/fibers.nc",
    log:
        "logs/fibers/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="fibers",
        config=lambda wc: family_config("fibers"),
    script:
        "../scripts/aggregate.py"
