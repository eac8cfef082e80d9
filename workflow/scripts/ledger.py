"""Snakemake script of the ``ledger`` rule: dln.checks.ledger.write_ledger over the datasets."""

import logging
import sys

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

try:
    from dln.checks.ledger import write_ledger
except ImportError as exc:
    print(f"ERROR: rule ledger: dln.checks.ledger.write_ledger is not available ({exc})", file=sys.stderr)
    sys.exit(1)

datasets = dict(zip(snakemake.params.families, snakemake.input, strict=True))
logging.info("ledger over %s", datasets)
write_ledger(snakemake.output.json, snakemake.output.nc, datasets=datasets)
logging.info("wrote %s and %s", snakemake.output.json, snakemake.output.nc)
