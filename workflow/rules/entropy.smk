# Experiment family `entropy`: the entropy formula of the deep linear network (MY).
# One job per point of the sweep in config["families"]["entropy"]; the science is in
# dln.experiments.entropy (simulate/aggregate); these rules only move data.


rule entropy:
    """One point of the entropy sweep: dln.experiments.entropy.simulate(params) -> netCDF."""
    output:
        "results/entropy/jobs/{job}.nc",
    log:
        "logs/entropy/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="entropy",
        code=lambda wc: dlnwf.family_code("entropy"),
        sim=lambda wc: job_params("entropy", wc.job),
    script:
        "../scripts/simulate.py"


rule entropy_aggregate:
    """Combine every job of the entropy sweep into results/entropy.nc."""
    input:
        lambda wc: job_files("entropy"),
    output:
        "results/entropy.nc",
    log:
        "logs/entropy/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="entropy",
        config=lambda wc: family_config("entropy"),
    script:
        "../scripts/aggregate.py"
