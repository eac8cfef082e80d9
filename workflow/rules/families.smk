# Every experiment family: one simulation rule `<family>` (one job per point of its sweep) and one rule
# `<family>_aggregate` combining them into results/<family>.nc. The science is in dln.experiments.<family>
# (its SPEC and simulate); these rules only move data. The rules are named after the family, so that
# `--forcerun <family>` and per-rule SLURM resources work as for hand-written rules.


for _family in FAMILIES:

    rule:
        name:
            _family
        output:
            f"results/{_family}/jobs/{{job}}.nc",
        log:
            f"logs/{_family}/{{job}}.log",
        conda:
            "../envs/dln.yaml"
        threads: 1
        params:
            family=_family,
            code=lambda wc, family=_family: dlnwf.family_code(family),
            sim=lambda wc, family=_family: job_params(family, wc.job),
        script:
            "../scripts/simulate.py"

    rule:
        name:
            f"{_family}_aggregate"
        input:
            lambda wc, family=_family: job_files(family),
        output:
            f"results/{_family}.nc",
        log:
            f"logs/{_family}/aggregate.log",
        conda:
            "../envs/dln.yaml"
        threads: 1
        params:
            family=_family,
            code=lambda wc, family=_family: dlnwf.family_code(family),
            config=lambda wc, family=_family: family_config(family),
        script:
            "../scripts/aggregate.py"
