# The ledger of claims: every claim's measurement applied to its family's dataset
# (dln.checks.ledger.write_ledger) -> results/ledger.json and results/ledger.nc.


rule ledger:
    """Evaluate every claim on the datasets of the configured families (and LM's figures)."""
    input:
        expand("results/{family}.nc", family=FAMILIES),
    output:
        json=report("results/ledger.json", caption="../report/ledger.rst", category="Ledger"),
        nc="results/ledger.nc",
    log:
        "logs/ledger.log",
    conda:
        "../envs/dln.yaml"
    threads: 1
    params:
        code=lambda wc: dlnwf.step_code("ledger.py"),
    script:
        "../scripts/ledger.py"
