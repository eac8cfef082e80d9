# Shared by every rule: config validation (before any job runs), sweep expansion, targets.

import os
import sys
import glob
from pathlib import Path

from snakemake.exceptions import WorkflowError

from dln import workflow as dlnwf

# One BLAS thread per job: the jobs are the parallelism, and fixed thread counts keep
# floating-point reductions (and hence the data hashes) identical between runs.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The command that started the workflow, for the datasets' `history` attribute (an environment
# variable, not a rule param, so that a different command line does not rerun anything; jobs on
# SLURM inherit it through sbatch's --export=ALL).
os.environ.setdefault("DLN_WORKFLOW_COMMAND", " ".join(["snakemake", *sys.argv[1:]]))

# The schema holds every family's parameters (rendered from the specs; load_schema checks it is current).
try:
    SCHEMA = dlnwf.load_schema(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml", check=True)
except dlnwf.ConfigError as _exc:
    raise WorkflowError(str(_exc)) from None
# The whole check before any job (dlnwf.check_config): the JSON schema (jsonschema, as snakemake.utils.validate
# would, but naming every bad key with its allowed values), then job counts, memory estimates and the rules
# between parameters. The rules read optional keys with their schema defaults (figures, ledger, book: true).
try:
    JOBS = dlnwf.check_config(config, SCHEMA)
except (dlnwf.ConfigError, RuntimeError) as _exc:
    raise WorkflowError(str(_exc)) from None

# The jobs Snakemake runs: `chunk` sweep points each (default 1).
CHUNKS = dlnwf.chunk_jobs(config, JOBS)

# Every family that runs (the configured ones and those every configuration runs), in book order.
FAMILIES = [f for f in dlnwf.families(SCHEMA) if f in JOBS]

BOOK_ENABLED = config.get("book", True)
if BOOK_ENABLED and set(dlnwf.families(SCHEMA)) - set(FAMILIES):
    raise WorkflowError(
        "config key 'book': the book needs every family; not configured: "
        + ", ".join(sorted(set(dlnwf.families(SCHEMA)) - set(FAMILIES)))
        + " (configure them, or set book: false)"
    )


wildcard_constraints:
    job=r"[A-Za-z0-9_.=,+\-]+",


def job_params(family, job):
    """The full parameters of the points of one job (looked up, not parsed, so types are exact)."""
    try:
        return CHUNKS[family][job]
    except KeyError:
        raise WorkflowError(
            f"results/{family}/jobs/{job}.nc is not a job of the configured sweep of {family!r}; "
            f"configured jobs: {', '.join(CHUNKS.get(family, {})) or 'none (family not in config)'}"
        ) from None


def job_files(family):
    return [f"results/{family}/jobs/{job}.nc" for job in CHUNKS.get(family, {})]


def family_config(family):
    """The family's sweep and fixed parameters, each value as its type (so `p: 1` and `p: 1.0` agree)."""
    return dlnwf.normalized_family_config(family, config["families"].get(family, {}), SCHEMA)


def dataset_targets():
    return [f"results/{f}.nc" for f in FAMILIES]


def figure_targets():
    return [f"results/figures/{f}_overview.png" for f in FAMILIES] if config.get("figures", True) else []


def ledger_targets():
    return ["results/ledger.json", "results/ledger.nc"] if config.get("ledger", True) else []


def all_targets():
    return dataset_targets() + figure_targets() + ledger_targets()


def book_targets():
    return list(rules.book.output) if BOOK_ENABLED else []
