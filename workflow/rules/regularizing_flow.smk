# Experiment family `regularizing_flow`: the regularizing flow on the fiber (LM Thm 2): decay of the moments G(t).
# One job per point of the sweep in config["families"]["regularizing_flow"]; the science is in
# dln.experiments.regularizing_flow (simulate/aggregate); these rules only move data.


rule regularizing_flow:
    """One point of the regularizing_flow sweep: dln.experiments.regularizing_flow.simulate(params) -> netCDF."""
    output:
        "results/regularizing_flow/jobs/{job}.nc",
    log:
        "logs/regularizing_flow/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="regularizing_flow",
        code=lambda wc: dlnwf.family_code("regularizing_flow"),
        sim=lambda wc: job_params("regularizing_flow", wc.job),
    script:
        "../scripts/simulate.py"


rule regularizing_flow_aggregate:
    """Combine every job of the regularizing_flow sweep into results/regularizing_flow.nc."""
    input:
        lambda wc: job_files("regularizing_flow"),
    output:
        "results/regularizing_flow.nc",
    log:
        "logs/regularizing_flow/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="regularizing_flow",
        config=lambda wc: family_config("regularizing_flow"),
    script:
        "../scripts/aggregate.py"
