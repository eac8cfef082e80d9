# Experiment family `langevin`: Langevin dynamics on the fiber (LM section 4.2).
# One job per point of the sweep in config["families"]["langevin"]; the science is in
# dln.experiments.langevin (simulate/aggregate); these rules only move data.


rule langevin:
    """One point of the langevin sweep: dln.experiments.langevin.simulate(params) -> netCDF."""
    output:
        "results/langevin/jobs/{job}.nc",
    log:
        "logs/langevin/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="langevin",
        code=lambda wc: dlnwf.family_code("langevin"),
        sim=lambda wc: job_params("langevin", wc.job),
    script:
        "../scripts/simulate.py"


rule langevin_aggregate:
    """Combine every job of the langevin sweep into results/langevin.nc."""
    input:
        lambda wc: job_files("langevin"),
    output:
        "results/langevin.nc",
    log:
        "logs/langevin/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="langevin",
        config=lambda wc: family_config("langevin"),
    script:
        "../scripts/aggregate.py"
