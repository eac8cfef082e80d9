"""Snakemake script of every ``<family>_aggregate`` rule: job files -> ``results/<family>.nc``."""

import sys

from dln import workflow as dlnwf

dlnwf.pin_threads(snakemake.threads)  # before NumPy is imported

from dln import DLNError  # noqa: E402

try:
    dlnwf.run_aggregate(
        snakemake.params.family,
        list(snakemake.input),
        snakemake.output[0],
        dict(snakemake.params.config),
        snakemake.log[0],
    )
except (DLNError, RuntimeError) as exc:
    print(f"ERROR: {exc}", file=sys.stderr)
    sys.exit(1)
