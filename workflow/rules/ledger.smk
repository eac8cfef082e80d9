# The theorem ledger: every catalogue check, reading the aggregated datasets
# (dln.checks.ledger.write_ledger, issue 6) -> results/ledger.json and results/ledger.nc.


rule ledger:
    """Run the theorem ledger over the datasets of every configured family."""
    input:
        expand("results/{family}.nc", family=FAMILIES),
    output:
        json=report("results/ledger.json", caption="../report/ledger.rst", category="Ledger"),
        nc="results/ledger.nc",
    params:
        families=FAMILIES,
    log:
        "logs/ledger.log",
    threads: 1
    conda:
        "../envs/dln.yaml"
    script:
        "../scripts/ledger.py"
