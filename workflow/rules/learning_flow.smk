# Experiment family `learning_flow`: the learning flow and the regularized learning flow (LM section 3).
# One job per point of the sweep in config["families"]["learning_flow"]; the science is in
# dln.experiments.learning_flow (simulate/aggregate); these rules only move data.


rule learning_flow:
    """One point of the learning_flow sweep: dln.experiments.learning_flow.simulate(params) -> netCDF."""
    output:
        "results/learning_flow/jobs/{job}.nc",
    log:
        "logs/learning_flow/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="learning_flow",
        code=lambda wc: dlnwf.family_code("learning_flow"),
        sim=lambda wc: job_params("learning_flow", wc.job),
    script:
        "../scripts/simulate.py"


rule learning_flow_aggregate:
    """Combine every job of the learning_flow sweep into results/learning_flow.nc."""
    input:
        lambda wc: job_files("learning_flow"),
    output:
        "results/learning_flow.nc",
    log:
        "logs/learning_flow/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="learning_flow",
        config=lambda wc: family_config("learning_flow"),
    script:
        "../scripts/aggregate.py"
