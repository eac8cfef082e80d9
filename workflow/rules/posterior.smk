# Experiment family `posterior`: the Gibbs posterior on the fiber (LM section 4.3).
# One job per point of the sweep in config["families"]["posterior"]; the science is in
# dln.experiments.posterior (simulate/aggregate); these rules only move data.


rule posterior:
    """One point of the posterior sweep: dln.experiments.posterior.simulate(params) -> netCDF."""
    output:
        "results/posterior/jobs/{job}.nc",
    params:
        family="posterior",
        sim=lambda wc: job_params("posterior", wc.job),
    log:
        "logs/posterior/{job}.log",
    threads: 1
    conda:
        "../envs/dln.yaml"
    script:
        "../scripts/simulate.py"


rule posterior_aggregate:
    """Combine every job of the posterior sweep into results/posterior.nc."""
    input:
        lambda wc: job_files("posterior"),
    output:
        "results/posterior.nc",
    params:
        family="posterior",
        config=lambda wc: family_config("posterior"),
    log:
        "logs/posterior/aggregate.log",
    threads: 1
    conda:
        "../envs/dln.yaml"
    script:
        "../scripts/aggregate.py"
