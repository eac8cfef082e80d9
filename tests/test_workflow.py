"""The Snakemake workflow end to end, in a temporary copy of the repository.

Fast tests run the workflow machinery on a toy experiment package (``dlntoy``, see conftest):
NaN aborts naming rule and parameters, a killed job leaves no file and the rerun completes,
progress lines with ETA, rerun triggers, a corrupt input's clear error. The slow test runs
the CI config (``config/ci.yaml``) for real: every dataset exists and passes the checks and the
CF checker, a rerun has nothing to do, a second clean run gives identical data hashes, lint is
clean and ``--report`` includes the figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import cf_check, copy_repo, require_tool, write_toy_experiments

from dln.experiments._conventions import check_metadata, read_netcdf

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
NOTHING_TO_DO = "Nothing to be done"
# shell rules call `python`, `jupyter-book`: the environment running the tests comes first
PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def snakemake(repo: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    require_tool("snakemake")
    return subprocess.run(
        [SNAKEMAKE, *args],
        cwd=repo,
        env={**os.environ, "PATH": PATH, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (
        f"snakemake failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    )
    return proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------------
# machinery, on toy experiments
# ------------------------------------------------------------------------------------------------
TOY_CONFIG = {
    "families": {"free_energy": {"sweep": {"p": [1.0, 2.0], "seed": [0, 1]}, "fixed": {"N": 3}}},
    "figures": False,
    "ledger": False,
    "book": False,
}


@pytest.fixture
def toy(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    env = write_toy_experiments(tmp_path / "toy", repo=repo)

    def write_config(cfg: dict, name: str = "toy.yaml") -> str:
        (repo / "config" / name).write_text(yaml.safe_dump(cfg))
        return f"config/{name}"

    return repo, env, write_config


@pytest.mark.slow
def test_toy_run_rerun_triggers_and_progress(toy):
    repo, env, write_config = toy
    cfg = write_config(TOY_CONFIG)
    _ok(snakemake(repo, "--cores", "2", "--configfile", cfg, env=env))
    jobs = sorted(p.name for p in (repo / "results" / "free_energy" / "jobs").iterdir())
    assert jobs == ["p=1.0+seed=0.nc", "p=1.0+seed=1.nc", "p=2.0+seed=0.nc", "p=2.0+seed=1.nc"]
    ds = read_netcdf(repo / "results" / "free_energy.nc")
    check_metadata(ds)
    assert dict(ds.sizes) == {"p": 2, "seed": 2, "t": 11}
    assert json.loads(ds.attrs["config"])["workflow"]["sweep"] == {"p": [1.0, 2.0], "seed": [0, 1]}
    job = read_netcdf(repo / "results" / "free_energy" / "jobs" / "p=2.0+seed=1.nc")
    assert json.loads(job.attrs["config"]) == {"p": 2.0, "N": 3, "d": 3, "field": "real", "seed": 1, "beta": 5.0}
    log = (repo / "logs" / "free_energy" / "p=2.0+seed=1.log").read_text()
    assert "100.0% done" in log and "ETA" in log and "done rule free_energy" in log
    # a second run has nothing to do
    assert NOTHING_TO_DO in _ok(snakemake(repo, "-n", "--cores", "2", "--configfile", cfg, env=env))
    # a changed fixed parameter reruns every job (Snakemake's params trigger); T: 5 == T: 5.0
    changed = json.loads(json.dumps(TOY_CONFIG))
    changed["families"]["free_energy"]["fixed"]["N"] = 4
    out = _ok(snakemake(repo, "-n", "--cores", "2", "--configfile", write_config(changed, "toy2.yaml"), env=env))
    assert re.search(r"free_energy\s+4\b", out) or out.count("rule free_energy:") == 4
    assert "params" in out.lower()
    # an int written for a float parameter is the same job (p: 1 == p: 1.0)
    same = json.loads(json.dumps(TOY_CONFIG))
    same["families"]["free_energy"]["sweep"]["p"] = [1, 2]
    assert NOTHING_TO_DO in _ok(
        snakemake(repo, "-n", "--cores", "2", "--configfile", write_config(same, "toy3.yaml"), env=env)
    )


def test_chunked_jobs_give_the_data_of_one_job_per_point(toy):
    """`chunk: 3` runs the 4 points of the toy sweep in 2 jobs (files chunk1-of-2, chunk2-of-2 listing their
    points); the aggregated dataset has the same data as with one job per point."""
    import xarray as xr

    repo, env, write_config = toy
    _ok(snakemake(repo, "--cores", "2", "--configfile", write_config(TOY_CONFIG), env=env))
    one_per_point = read_netcdf(repo / "results" / "free_energy.nc")
    chunked = json.loads(json.dumps(TOY_CONFIG))
    chunked["families"]["free_energy"]["chunk"] = 3
    for name in ("results", ".snakemake"):
        shutil.rmtree(repo / name, ignore_errors=True)
    _ok(snakemake(repo, "--cores", "2", "--configfile", write_config(chunked, "chunked.yaml"), env=env))
    jobs = sorted(p.name for p in (repo / "results" / "free_energy" / "jobs").iterdir())
    assert jobs == ["chunk1-of-2.nc", "chunk2-of-2.nc"]
    first = read_netcdf(repo / "results" / "free_energy" / "jobs" / "chunk1-of-2.nc")
    assert [(p["p"], p["seed"]) for p in json.loads(first.attrs["dln_points"])] == [(1.0, 0), (1.0, 1), (2.0, 0)]
    together = read_netcdf(repo / "results" / "free_energy.nc")
    xr.testing.assert_identical(together.drop_attrs(), one_per_point.drop_attrs())


def test_a_new_family_is_one_module_and_a_config_entry(tmp_path):
    """A family the package has never seen: its module (a spec and simulate) in the experiments package and an
    entry in the config; the schema is rendered from it, the generic rules run it under its own rule names."""
    repo = copy_repo(tmp_path / "repo")
    env = write_toy_experiments(tmp_path / "toy", families=("toy_decay",), repo=repo)
    schema = yaml.safe_load((repo / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert list(schema["properties"]["families"]["properties"]) == ["toy_decay"]
    cfg = {"families": {"toy_decay": {"sweep": {"p": [1.0, 2.0]}}}, "figures": True, "ledger": False, "book": False}
    (repo / "config" / "new.yaml").write_text(yaml.safe_dump(cfg))
    dry = _ok(snakemake(repo, "-n", "--cores", "2", "--configfile", "config/new.yaml", env=env))
    assert re.search(r"^toy_decay\s+2$", dry, re.M) and re.search(r"^toy_decay_aggregate\s+1$", dry, re.M), dry
    _ok(snakemake(repo, "--cores", "2", "--configfile", "config/new.yaml", env=env))
    ds = read_netcdf(repo / "results" / "toy_decay.nc")
    check_metadata(ds)
    assert list(ds["p"].values) == [1.0, 2.0] and ds.attrs["title"] == "toy"
    assert (repo / "results" / "figures" / "toy_decay_overview.png").stat().st_size > 0
    # a parameter the spec does not have is refused before any job, naming it
    cfg["families"]["toy_decay"]["fixed"] = {"kappa": 1.0}
    (repo / "config" / "bad.yaml").write_text(yaml.safe_dump(cfg))
    bad = snakemake(repo, "-n", "--cores", "2", "--configfile", "config/bad.yaml", env=env)
    assert bad.returncode != 0 and "families.toy_decay.fixed.kappa" in bad.stdout + bad.stderr


NEW_FAMILY = '''\
"""Toy decay: y(t) = exp(-p t) sampled at 21 times, a family only this test knows.

Its claim NUM-toy-decay reads the decay rate back from the dataset by a least-squares fit of log y.
"""
import numpy as np
import xarray as xr

from dln.checks import Evidence, claim
from dln.experiments._conventions import data_array, finalize
from dln.experiments._spec import Spec, param

SPEC = Spec(param("p", 1.0, sweep=True), param("n_t", 21, minimum=3))
TITLE, SUMMARY, REFERENCES = "Toy decay, all jobs", "y(t) = exp(-p t) for every rate p.", ["LM"]
LEDGER = MUTATION = {"sweep": {"p": [1.0]}, "fixed": {}}
COST = 1.0


def simulate(params, progress=None):
    p = SPEC.resolve(params, "toy_decay")
    t = np.linspace(0.0, 1.0, p["n_t"])
    ds = xr.Dataset({"y": data_array(np.exp(-p["p"] * t), ("t",), "toy decay y(t)")}, coords={"t": t})
    return finalize(ds, title="toy decay", summary="one rate", references=["LM"], config=p, context="toy_decay")


def fig_curve(ds):
    """The toy decay y(t), one curve per rate."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    for p in ds["p"].values:
        ax.semilogy(ds["t"], ds["y"].sel(p=p), label=f"p = {p}")
    ax.legend()
    return fig


FIGURES = {"toy_decay_curve": fig_curve}


@claim(
    "NUM-toy-decay",
    paper="NUM",
    where="the toy family of the workflow tests",
    statement=r"y(t) = e^{-pt}",
    family="toy_decay",
    implements=("rng_from_params",),
    fails_if="the fitted rate of log y differs from p by more than round-off",
)
def toy_decay_claim(ds) -> Evidence:
    ev = Evidence()
    t = ds["t"].values
    rates = [-np.polyfit(t, np.log(ds["y"].sel(p=p).values), 1)[0] for p in ds["p"].values]
    ev.require("rate_error", np.max(np.abs(np.array(rates) - ds["p"].values)), "identity", "max |fitted rate - p|")
    return ev
'''


@pytest.mark.slow
def test_a_new_family_runs_through_the_ledger_and_the_book(tmp_path):
    """One module (spec, simulate, a figure, a claim) and a config entry: its claim is in the ledger, and the book
    gets a page for it (rendered from the module: title, summary, figure, checks) in its table of contents."""
    repo = copy_repo(tmp_path / "repo")
    env = write_toy_experiments(tmp_path / "toy", families=("toy_decay",), repo=repo, module=NEW_FAMILY)
    cfg = {"families": {"toy_decay": {"sweep": {"p": [0.5, 2.0]}}}}
    (repo / "config" / "new.yaml").write_text(yaml.safe_dump(cfg))
    _ok(snakemake(repo, "--cores", "2", "--configfile", "config/new.yaml", env=env, timeout=600))
    rows = {r["id"]: r for r in json.loads((repo / "results" / "ledger.json").read_text())}
    assert rows["NUM-toy-decay"]["status"] == "pass", rows["NUM-toy-decay"]
    assert rows["LM-Thm2"]["status"] == "fail" and "unavailable" in rows["LM-Thm2"]["error"]
    toc = yaml.safe_load((repo / "book" / "_generated" / "_toc.yml").read_text())
    assert toc["parts"][0] == {"caption": "Experiments", "chapters": [{"file": "_generated/pages/toy_decay"}]}
    html = repo / "book" / "_build" / "html"
    page = (html / "_generated" / "pages" / "toy_decay.html").read_text()
    assert "Toy decay, all jobs" in page and "y(t) = exp(-p t) for every rate p." in page
    assert "toy_decay_curve.png" in page and "NUM-toy-decay" in page
    # the figure's provenance links resolve from the page, two levels below the root
    for href in re.findall(r'href="((?:\.\./)+(?:data|code)/[^"#]+)', page):
        assert (html / "_generated" / "pages" / href).resolve().is_file(), href
    assert re.search(r'href="\.\./\.\./data/toy_decay\.nc"', page), "no link to the dataset"
    assert "toy_decay" in (html / "claims.html").read_text()
    assert not (html / "regularizing_flow.html").exists()  # a page of a family that is not in the book


def test_nan_aborts_naming_rule_and_params(toy):
    repo, env, write_config = toy
    cfg = json.loads(json.dumps(TOY_CONFIG))
    cfg["families"]["free_energy"]["sweep"] = {"p": [1.5], "seed": [666]}
    proc = snakemake(repo, "--cores", "1", "--configfile", write_config(cfg), env=env)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert 'rule free_energy params {"N": 3, "beta": 5.0, "d": 3, "field": "real", "p": 1.5, "seed": 666}' in err
    assert "variable 'y' contains NaN or Inf" in err
    assert not list((repo / "results").rglob("*.nc*"))


@pytest.mark.slow
def test_killed_job_leaves_no_file_and_rerun_completes(toy):
    repo, env, write_config = toy
    cfg = json.loads(json.dumps(TOY_CONFIG))
    cfg["families"]["free_energy"]["sweep"] = {"p": [1.0], "seed": [777]}
    cfg = write_config(cfg)
    pidfile = Path(env["DLN_TOY_PIDFILE"])
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "1", "--configfile", cfg],
        cwd=repo,
        env={**os.environ, "PATH": PATH, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        t0 = time.monotonic()
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() - t0 < 60, "the toy job did not start"
            time.sleep(0.2)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)  # the job dies mid-run
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, out
    assert "Error in rule free_energy" in out
    leftovers = [p for p in (repo / "results").rglob("*") if p.is_file()]
    assert leftovers == [], leftovers
    # the rerun completes (the toy sleeps only while its pid file is absent)
    _ok(snakemake(repo, "--cores", "1", "--configfile", cfg, env=env))
    check_metadata(read_netcdf(repo / "results" / "free_energy" / "jobs" / "p=1.0+seed=777.nc"))
    assert (repo / "results" / "free_energy.nc").exists()


@pytest.mark.slow
def test_corrupt_input_gives_clear_error(toy):
    repo, env, write_config = toy
    cfg = json.loads(json.dumps(TOY_CONFIG))
    cfg["families"]["free_energy"]["sweep"] = {"p": [1.0], "seed": [0]}
    cfg = write_config(cfg)
    _ok(snakemake(repo, "--cores", "1", "--configfile", cfg, env=env))
    job = repo / "results" / "free_energy" / "jobs" / "p=1.0+seed=0.nc"
    job.write_bytes(job.read_bytes()[:200])  # truncated, newer than the aggregate
    proc = snakemake(repo, "--cores", "1", "--configfile", cfg, env=env)
    assert proc.returncode != 0
    assert "is not a readable netCDF dataset" in proc.stdout + proc.stderr
    assert "results/free_energy/jobs/p=1.0+seed=0.nc" in proc.stdout + proc.stderr


def test_unknown_job_is_a_clear_error(toy):
    repo, env, write_config = toy
    cfg = write_config(TOY_CONFIG)
    proc = snakemake(repo, "-n", "results/free_energy/jobs/p=9.0+seed=0.nc", "--configfile", cfg, env=env)
    assert proc.returncode != 0
    assert "is not a job of the configured sweep" in proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------------
# the real CI config
# ------------------------------------------------------------------------------------------------
def _hashes(repo: Path, *ignore_vars: str) -> dict:
    args = [sys.executable, str(repo / "workflow" / "scripts" / "hash_results.py"), str(repo / "results")]
    for name in ignore_vars:
        args += ["--ignore-var", name]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_ci_config_end_to_end(tmp_path, ci_run):
    """The CI config for real: datasets, checks, CF, nothing-to-do rerun, identical hashes, lint, report."""
    repo = ci_run["repo"]
    cfg = yaml.safe_load((repo / "config" / "ci.yaml").read_text())
    print(f"CI config: full run in {ci_run['wall']:.1f} s")
    results = repo / "results"
    families = list(cfg["families"])
    for family in families:
        path = results / f"{family}.nc"
        assert path.exists(), path
        check_metadata(read_netcdf(path), str(path))
        assert list((results / family / "jobs").glob("*.nc")), family
        if cfg.get("figures", True):
            assert (results / "figures" / f"{family}_overview.png").exists()
    if cfg.get("ledger", True):
        assert (results / "ledger.json").exists() and (results / "ledger.nc").exists()
        # the workflow's ledger: every claim, each measured on its family's dataset under results/, none failed
        from dln.checks import CLAIMS

        rows = json.loads((results / "ledger.json").read_text())
        assert [r["id"] for r in rows] == list(CLAIMS)
        failed = {r["id"]: (r["measured"], r["tolerance"], r["error"][:300]) for r in rows if r["status"] == "fail"}
        assert not failed, failed
        for r in rows:
            assert Path(r["data_source"]).name == f"{r['family']}.nc", r["id"]
    # every netCDF file passes the CF checker
    files = sorted(results.glob("*.nc")) + sorted(results.glob("*/jobs/*.nc"))
    bad = {p: e for p, e in cf_check(files).items() if e}
    assert not bad, json.dumps(bad, indent=1)
    # the rerun has nothing to do
    assert NOTHING_TO_DO in _ok(snakemake(repo, "-n", "--cores", "2", "--configfile", "config/ci.yaml"))
    # lint and report
    lint = snakemake(repo, "--lint", "--configfile", "config/ci.yaml")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    _ok(snakemake(repo, "--report", "report.html", "--configfile", "config/ci.yaml"))
    html = (repo / "report.html").read_text(errors="replace")
    for family in families if cfg.get("figures", True) else []:
        assert f"{family}_overview.png" in html
    # a second clean run (fresh copy, datasets only) gives identical data
    repo2 = copy_repo(tmp_path / "run2")
    targets = ["datasets"] + (["results/ledger.json"] if cfg.get("ledger", True) else [])
    _ok(snakemake(repo2, *targets, "--cores", "2", "--configfile", "config/ci.yaml", timeout=600))
    compared = {f"{f}.nc" for f in families} | ({"ledger.nc"} if cfg.get("ledger", True) else set())
    # the ledger records each check's run time (variable `seconds`): not part of the data
    h1 = {k: v for k, v in _hashes(repo, "seconds").items() if k in compared}
    h2 = {k: v for k, v in _hashes(repo2, "seconds").items() if k in compared}
    assert h1 == h2 and set(h1) == compared


@pytest.mark.slow
def test_editing_one_module_reruns_only_the_families_that_use_it(ci_run):
    """Each job's params carry the hash of its family's import closure inside dln: after a full run, a one-line
    edit of dln/_posterior.py makes exactly the posterior jobs (and the ledger and book built from them) stale,
    an edit of dln/plotting.py only the book, and the dry run says why."""
    repo = ci_run["repo"]
    env = {"PYTHONPATH": str(repo / "src")}  # the copy's dln: the hashes follow the files the jobs would run
    args = ("-n", "--cores", "2", "--configfile", "config/ci.yaml")
    out = _ok(snakemake(repo, *args, env=env))
    assert NOTHING_TO_DO in out, "the code hashes depend on the checkout's location:\n" + out[-3000:]

    def stale_after_editing(module: str) -> dict[str, int]:
        path = repo / "src" / "dln" / module
        text = path.read_text()
        try:
            path.write_text(text + "\n# one more line\n")
            out = _ok(snakemake(repo, *args, env=env))
        finally:
            path.write_text(text)
        stats = out.split("Job stats:", 1)[1].split("Reasons:", 1)[0]
        jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", stats, re.M))
        assert "Params have changed" in out or "params have changed" in out, out[-2000:]
        return {k: int(v) for k, v in jobs.items() if k != "total"}

    posterior = stale_after_editing("_posterior.py")
    n_jobs = len(list((repo / "results" / "posterior" / "jobs").glob("*.nc")))
    assert posterior == {
        "posterior": n_jobs,
        "posterior_aggregate": 1,
        "overview_figures": 1,
        "ledger": 1,
        "book_assets": 1,
        "book": 1,
        "all": 1,
    }, posterior
    assert stale_after_editing("plotting.py") == {"book_assets": 1, "book": 1, "all": 1}
    assert NOTHING_TO_DO in _ok(snakemake(repo, *args, env=env))


def test_stacked_points_split_into_the_datasets_of_their_own_jobs():
    """stack_points/split_points round trip: each point's dataset comes back identical (dimensions in their own
    order, the swept parameters as size-1 dimensions where the job had them), with its parameters as config."""
    import numpy as np
    import xarray as xr

    from dln import workflow as dlnwf

    points = [{"p": p, "seed": s, "N": 3} for p in (1.0, 2.0) for s in (0, 1)]
    rng = np.random.default_rng(0)
    datasets = []
    for pt in points:
        ds = xr.Dataset(
            {
                "y": (("t", "p"), rng.standard_normal((3, 1))),  # a swept dimension after another one
                "z": (("seed", "i"), rng.standard_normal((1, 2))),
                "w": ((), rng.standard_normal()),
            },
            coords={"t": [0.0, 0.5, 1.0], "p": [pt["p"]], "seed": [pt["seed"]], "i": [0, 1]},
        )
        datasets.append(ds)
    back = dlnwf.split_points(dlnwf.stack_points(datasets, points, ("p", "seed", "N")))
    assert len(back) == len(points)
    for ds, one, pt in zip(datasets, back, points, strict=True):
        assert json.loads(one.attrs["config"]) == pt
        xr.testing.assert_identical(one.drop_attrs(), ds)
    with pytest.raises(ValueError):  # a dimension of another size cannot share the file
        dlnwf.stack_points([datasets[0], datasets[1].isel(t=[0, 1])], points[:2], ("p", "seed"))
