# Experiment family `fast_slow`: the fast-slow regularized dynamics (LM section 4.1).
# One job per point of the sweep in config["families"]["fast_slow"]; the science is in
# dln.experiments.fast_slow (simulate/aggregate); these rules only move data.


rule fast_slow:
    """One point of the fast_slow sweep: dln.experiments.fast_slow.simulate(params) -> netCDF."""
    output:
        "results/fast_slow/jobs/{job}.nc",
    log:
        "logs/fast_slow/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="fast_slow",
        code=lambda wc: dlnwf.family_code("fast_slow"),
        sim=lambda wc: job_params("fast_slow", wc.job),
    script:
        "../scripts/simulate.py"


rule fast_slow_aggregate:
    """Combine every job of the fast_slow sweep into results/fast_slow.nc."""
    input:
        lambda wc: job_files("fast_slow"),
    output:
        "results/fast_slow.nc",
    log:
        "logs/fast_slow/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="fast_slow",
        config=lambda wc: family_config("fast_slow"),
    script:
        "../scripts/aggregate.py"
