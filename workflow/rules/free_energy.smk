# Experiment family `free_energy`: entropic regularization and the free energy (CKM).
# One job per point of the sweep in config["families"]["free_energy"]; the science is in
# dln.experiments.free_energy (simulate/aggregate); these rules only move data.


rule free_energy:
    """One point of the free_energy sweep: dln.experiments.free_energy.simulate(params) -> netCDF."""
    output:
        "results/free_energy/jobs/{job}.nc",
    log:
        "logs/free_energy/{job}.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="free_energy",
        code=lambda wc: dlnwf.family_code("free_energy"),
        sim=lambda wc: job_params("free_energy", wc.job),
    script:
        "../scripts/simulate.py"


rule free_energy_aggregate:
    """Combine every job of the free_energy sweep into results/free_energy.nc."""
    input:
        lambda wc: job_files("free_energy"),
    output:
        "results/free_energy.nc",
    log:
        "logs/free_energy/aggregate.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        family="free_energy",
        config=lambda wc: family_config("free_energy"),
    script:
        "../scripts/aggregate.py"
