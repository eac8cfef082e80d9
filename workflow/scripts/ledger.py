"""Snakemake script of the ``ledger`` rule: every claim on the workflow's datasets (dln.checks.ledger.write_ledger).

A claim whose family is not configured fails with the reason in its row; the rule itself fails only if it cannot
write the ledger.
"""

import logging
import os
import sys
from pathlib import Path

from dln.checks.ledger import summarize, write_ledger

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
results = Path(snakemake.output.json).parent
logging.info("ledger over the datasets in %s", results)
rows = write_ledger(
    snakemake.output.json,
    snakemake.output.nc,
    results=results,
    history=f"{os.environ.get('DLN_WORKFLOW_COMMAND', 'snakemake')} (rule ledger)",
)
s = summarize(rows)
logging.info("%s claims: %s; failed: %s", s["total"], s["counts"], s["failed"])
for row in rows:
    if row["status"] == "fail":
        print(f"ledger: {row['id']} fails: {(row['error'] or '').splitlines()[:1]}", file=sys.stderr)
