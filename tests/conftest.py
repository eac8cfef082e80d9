"""Shared pytest fixtures and helpers.

``require_tool(name)``: skip a test when a system tool (or library) is missing, unless the
environment variable ``DLN_REQUIRE_ALL=1`` is set (CI sets it), in which case the test fails:
in CI a missing tool is a broken set-up, not a reason to skip.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

#: Tools that are not executables on PATH: name -> how to find them.
_LIBRARIES = {"udunits2": lambda: ctypes.util.find_library("udunits2")}


def require_all() -> bool:
    return os.environ.get("DLN_REQUIRE_ALL", "") == "1"


def find_tool(name: str) -> str | None:
    """Path of an executable (looked up next to the running Python first, then on PATH), or a library."""
    if name in _LIBRARIES:
        return _LIBRARIES[name]()
    cand = VENV_BIN / name
    if cand.exists():
        return str(cand)
    return shutil.which(name) or (shutil.which(name, path="/usr/sbin:/sbin") if name.endswith("d") else None)


def missing(msg: str):
    """A prerequisite outside Python is missing: skip the test, or fail it under ``DLN_REQUIRE_ALL=1`` (CI)."""
    if require_all():
        pytest.fail(msg + "; DLN_REQUIRE_ALL=1 makes this a failure (bash run.sh test installs it)")
    pytest.skip(msg)


def require_tool(name: str, why: str = "") -> str:
    """Return the tool's path; skip the test if it is missing (fail under ``DLN_REQUIRE_ALL=1``)."""
    path = find_tool(name)
    if path is None:
        missing(f"required tool {name!r} is not installed" + (f" ({why})" if why else ""))
    return path


def cf_tables() -> Path | None:
    """Folder with the CF tables (offline): $DLN_CF_TABLES, else ``shared/cf-tables`` beside the repository or
    beside one of its ancestor folders."""
    for cand in (os.environ.get("DLN_CF_TABLES"), *(p / "shared" / "cf-tables" for p in ROOT.parents)):
        if cand and (Path(cand) / "cf-standard-name-table.xml").exists():
            return Path(cand)
    return None


@pytest.fixture
def require():
    """The :func:`require_tool` helper as a fixture."""
    return require_tool


#: The one message the CF checker may print that is not a defect of the file: cfchecker 4.1,
#: the newest release, knows CF versions up to 1.8 only, so it does not recognise "CF-1.11" in
#: ``Conventions`` (the datasets use no feature newer than CF-1.8). Every other error fails.
CF_VERSION_ERROR = "ERROR: (2.6.1): This netCDF file does not appear to contain CF Convention data."


def cf_check(paths) -> dict[str, list[str]]:
    """Run the real CF checker (``cfchecks``) on netCDF files; return {path: [error lines]}.

    Uses the local CF tables (:func:`cf_tables`); skips (fails under ``DLN_REQUIRE_ALL=1``)
    when cfchecks, udunits2 or the tables are missing.
    """
    import subprocess

    exe = require_tool("cfchecks", "pip install cfchecker")
    require_tool("udunits2", "apt-get install -y libudunits2-0")
    tables = cf_tables()
    if tables is None:
        missing("CF tables not found (set DLN_CF_TABLES, or put them in shared/cf-tables beside the repository)")
    paths = [str(p) for p in paths]
    proc = subprocess.run(
        [
            exe,
            "-s",
            str(tables / "cf-standard-name-table.xml"),
            "-a",
            str(tables / "area-type-table.xml"),
            "-r",
            str(tables / "standardized-region-list.xml"),
            *paths,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out: dict[str, list[str]] = {}
    current = None
    for line in proc.stdout.splitlines():
        if line.startswith("CHECKING NetCDF FILE:"):
            current = line.split(":", 1)[1].strip()
            out[current] = []
        elif line.startswith(("ERROR:", "FATAL")) and current is not None and line.strip() != CF_VERSION_ERROR:
            out[current].append(line.strip())
        elif "aborted due to error" in line and current is not None:
            out[current].append(line.strip())
    unchecked = [p for p in paths if p not in out]
    if unchecked:
        raise AssertionError(f"cfchecks did not check {unchecked}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    # the exit status is the number of errors (or minus the number of warnings): parse instead
    if "Traceback" in proc.stderr:
        raise AssertionError(f"cfchecks crashed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return out


# ------------------------------------------------------------------------------------------------
# a copy of the repository to run the workflow in, and toy experiment modules
# ------------------------------------------------------------------------------------------------
COPY_ITEMS = ("Snakefile", "workflow", "config", "book", "src")
COPY_IGNORE = (
    "_build",
    "_generated",
    "__pycache__",
    ".snakemake",
    "results",
    "logs",
    "*.egg-info",
    ".ipynb_checkpoints",
)


def copy_repo(dest: Path) -> Path:
    """Copy what the workflow needs (Snakefile, workflow/, config/, book/, src/) to ``dest``.

    The ``dln`` package is still imported from the installed (editable) checkout.
    """
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(*COPY_IGNORE)
    for item in COPY_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / item)
    return dest


TOY_MODULE = '''\
"""A toy stand-in for an experiment family, for testing the workflow machinery.

seed == 666 gives a NaN (the job must abort naming rule and params); seed == 777 writes the
process id to $DLN_TOY_PIDFILE and sleeps, if that file does not exist yet (so that a test can kill
the job, and the rerun completes).
"""
import os
import time

import numpy as np
import xarray as xr

from dln import rng_from_params
from dln.experiments._conventions import finalize
from dln.experiments._spec import Spec, param

SPEC = Spec(
    param("p", 1.0, sweep=True),
    param("N", 3),
    param("d", 3),
    param("field", "real"),
    param("seed", 0, sweep=True),
    param("beta", 5.0),
)
TITLE, SUMMARY, REFERENCES = "toy", "toy aggregate", ["LM"]
LEDGER = MUTATION = {"sweep": {"p": [1.0]}, "fixed": {}}
COST, FIGURES = 1.0, {}


def simulate(params, progress=None):
    p = SPEC.resolve(params, "toy")
    rng = rng_from_params(family="toy", **p)
    if p["seed"] == 777 and not os.path.exists(os.environ["DLN_TOY_PIDFILE"]):
        with open(os.environ["DLN_TOY_PIDFILE"], "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(120)
    t = np.linspace(0.0, 1.0, 11)
    y = np.exp(-p["p"] * t) * (1 + 0.01 * rng.standard_normal(t.size))
    if p["seed"] == 666:
        y[3] = np.nan
    for i in range(5):
        if progress is not None:
            progress((i + 1) / 5, f"step {i + 1} of 5")
    ds = xr.Dataset(
        {"y": (("t",), y, {"long_name": "toy decay", "units": "1"})},
        coords={"t": t},
    ).expand_dims({"p": [p["p"]], "seed": [p["seed"]]})
    return finalize(ds, title="toy", summary="toy job", references=["LM"], config=p, context="toy")
'''


def write_toy_experiments(
    dest: Path, families=("free_energy",), repo: Path | None = None, module: str = TOY_MODULE
) -> dict:
    """Write a package ``dlntoy`` whose modules ``<family>`` are ``module`` (default :data:`TOY_MODULE`); with
    ``repo``, render that copy's config schema from them (``workflow/schemas/make_schema.py``).

    Returns the environment variables that make the workflow use it
    (``DLN_EXPERIMENTS_PACKAGE=dlntoy`` and ``PYTHONPATH``).
    """
    pkg = dest / "dlntoy"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    for family in families:
        (pkg / f"{family}.py").write_text(module)
    pythonpath = os.pathsep.join([str(dest), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {"DLN_EXPERIMENTS_PACKAGE": "dlntoy", "PYTHONPATH": pythonpath, "DLN_TOY_PIDFILE": str(dest / "toy.pid")}
    if repo is not None:
        subprocess.run(
            [sys.executable, str(repo / "workflow" / "schemas" / "make_schema.py")],
            env={**os.environ, **env},
            check=True,
            timeout=120,
        )
    return env


# ------------------------------------------------------------------------------------------------
# the built book (shared by test_book.py and test_book_numbers.py)
# ------------------------------------------------------------------------------------------------
BOOK = ROOT / "book"
HTML = BOOK / "_build" / "html"
#: The datasets the book was built from (``DLN_RESULTS`` for a book built from another results directory,
#: in which case the tests never run Snakemake and use ``book/_build/html`` as it is).
RESULTS = Path(os.environ.get("DLN_RESULTS", ROOT / "results"))


def _inputs_mtime() -> float:
    paths = [*BOOK.glob("*.md"), BOOK / "_config.yml", *BOOK.glob("_ext/*.py")]
    paths += [*RESULTS.glob("*.nc"), RESULTS / "ledger.json"]
    # the code that computed the ledger and drew the figures: a build older than it is stale
    paths += [
        *(ROOT / "src" / "dln").rglob("*.py"),
        *(ROOT / "workflow").rglob("*.py"),
        *(ROOT / "workflow").rglob("*.smk"),
    ]
    return max(p.stat().st_mtime for p in paths if p.exists())


def _book_is_current() -> bool:
    index = HTML / "index.html"
    if not index.exists() or not (RESULTS / "ledger.json").exists():
        return False
    return index.stat().st_mtime >= _inputs_mtime()


@pytest.fixture(scope="session")
def book_build(request) -> dict[str, Path]:
    """The built book: ``{"html": <html dir>, "results": <results dir it was built from>, "generated": <its
    book/_generated>}``.

    The repository's own build when it is current (or ``DLN_RESULTS`` is set); otherwise the book of the CI
    configuration's run (:func:`ci_run`).
    """
    if "DLN_RESULTS" in os.environ:
        if not (HTML / "index.html").exists():
            pytest.fail(f"DLN_RESULTS is set but {HTML}/index.html does not exist")
        return {"html": HTML, "results": RESULTS, "generated": BOOK / "_generated"}
    if _book_is_current():
        return {"html": HTML, "results": RESULTS, "generated": BOOK / "_generated"}
    ci_run = request.getfixturevalue("ci_run")
    repo = ci_run["repo"]
    html = repo / "book" / "_build" / "html"
    assert (html / "index.html").exists(), "the CI configuration built no book"
    return {"html": html, "results": repo / "results", "generated": repo / "book" / "_generated"}


@pytest.fixture(scope="session")
def ci_run(tmp_path_factory) -> dict:
    """The whole workflow of the CI configuration (datasets, figures, ledger, book), run once per session in a
    temporary copy of the repository: ``{"repo": <copy>, "wall": <seconds>}``. The end-to-end workflow test and
    the book tests read it; the repository's own ``results/`` is left alone."""
    repo = copy_repo(tmp_path_factory.mktemp("ci") / "run1")
    snakemake = str(Path(sys.executable).parent / "snakemake")
    if not Path(snakemake).exists():
        snakemake = shutil.which("snakemake") or snakemake
    cmd = [snakemake, "--cores", "2", "--configfile", "config/ci.yaml"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=1200)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        log = repo / "logs" / "book" / "book.log"
        tail = log.read_text()[-4000:] if log.exists() else ""
        pytest.fail(
            f"{' '.join(cmd)} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}\n{tail}"
        )
    print(f"the CI configuration's workflow ran in {wall:.1f} s")
    return {"repo": repo, "wall": wall}
