# Shared by every rule: config validation (before any job runs), sweep expansion, targets.

import os
import sys
import glob
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

import dlnwf  # noqa: E402  (workflow/scripts/dlnwf.py)

# One BLAS thread per job: the jobs are the parallelism, and fixed thread counts keep
# floating-point reductions (and hence the data hashes) identical between runs.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The command that started the workflow, for the datasets' `history` attribute (an environment
# variable, not a rule param, so that a different command line does not rerun anything; jobs on
# SLURM inherit it through sbatch's --export=ALL).
os.environ.setdefault("DLN_WORKFLOW_COMMAND", " ".join(["snakemake", *sys.argv[1:]]))

SCHEMA = dlnwf.load_schema()
# Our own pass first: it names every bad key with its allowed values.
try:
    dlnwf.validate_config(config, SCHEMA)
except dlnwf.ConfigError as _exc:
    raise WorkflowError(str(_exc)) from None
# Snakemake's own validation as well (also fills in the schema's defaults).
validate(config, schema="../schemas/config.schema.yaml")

FAMILIES = [f for f in dlnwf.FAMILIES if f in config["families"]]

# Size and sense before any job: job counts, memory estimates, rules between parameters (dlnwf.check_config).
try:
    JOBS = dlnwf.check_config(config, SCHEMA)
except (dlnwf.ConfigError, RuntimeError) as _exc:
    raise WorkflowError(str(_exc)) from None

BOOK_ENABLED = config.get("book", True) and (Path(workflow.basedir) / "workflow" / "rules" / "book.smk").exists()


wildcard_constraints:
    job=r"[A-Za-z0-9_.=,+\-]+",


def job_params(family, job):
    """The full parameter dict of one job (looked up, not parsed, so types are exact)."""
    try:
        return JOBS[family][job]
    except KeyError:
        raise WorkflowError(
            f"results/{family}/jobs/{job}.nc is not a job of the configured sweep of {family!r}; "
            f"configured jobs: {', '.join(JOBS.get(family, {})) or 'none (family not in config)'}"
        ) from None


def job_files(family):
    return [f"results/{family}/jobs/{job}.nc" for job in JOBS.get(family, {})]


def family_config(family):
    """The family's sweep and fixed parameters, numbers normalized (so `p: 1` and `p: 1.0` agree)."""
    return dlnwf.normalized_family_config(family, config["families"][family], SCHEMA)


def dataset_targets():
    return [f"results/{f}.nc" for f in FAMILIES]


def figure_targets():
    return [f"results/figures/{f}_overview.png" for f in FAMILIES] if config.get("figures", True) else []


def ledger_targets():
    return ["results/ledger.json", "results/ledger.nc"] if config.get("ledger", True) else []


def all_targets():
    return dataset_targets() + figure_targets() + ledger_targets()


def book_targets():
    return list(rules.book.output) if BOOK_ENABLED and hasattr(rules, "book") else []
