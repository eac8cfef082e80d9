# Experiment family `posterior`: the Gibbs posterior on the fiber (LM section 4.3).
# One job per point of the sweep in config["families"]["posterior"]; the science is in
# dln.experiments.posterior (simulate/aggregate); these rules only move data.


rule posterior:
    """One point of the posterior sweep: dln.experiments.posterior.simulate(params) -> netCDF."""
    output:
        "results/posterior/jobs/{job}.nc",
    log:
        "logs/posterior/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="posterior",
        code=lambda wc: dlnwf.family_code("posterior"),
        sim=lambda wc: job_params("posterior", wc.job),
    script:
        "../scripts/simulate.py"


rule posterior_aggregate:
    """Combine every job of the posterior sweep into results/posterior.nc."""
    input:
        lambda wc: job_files("posterior"),
    output:
        "results/posterior.nc",
    log:
        "logs/posterior/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="posterior",
        config=lambda wc: family_config("posterior"),
    script:
        "../scripts/aggregate.py"
