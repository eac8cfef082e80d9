"""Snakemake script of every simulation rule: one job = one point of a sweep.

Thin by design: the parameters of the job's points come from the config (``params.sim``), the science
from ``dln.experiments.<family>.simulate``; ``dlnwf.run_simulate`` checks the
dataset and writes it atomically. Errors name the rule and the parameters.
"""

import os
import sys

from dln import workflow as dlnwf

dlnwf.pin_threads(snakemake.threads)  # before NumPy is imported

from dln import DLNError  # noqa: E402

COMMAND = os.environ.get("DLN_WORKFLOW_COMMAND", "snakemake")

try:
    dlnwf.run_simulate(
        snakemake.params.family,
        [dict(p) for p in snakemake.params.sim],
        snakemake.output[0],
        snakemake.log[0],
        history=f"{COMMAND} (rule {snakemake.rule}, output {snakemake.output[0]})",
    )
except (DLNError, RuntimeError) as exc:
    print(f"ERROR: {exc}", file=sys.stderr)
    sys.exit(1)
