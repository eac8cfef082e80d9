"""Hard kills and concurrent runs of the README's workflow command, on toy experiments.

``bash run.sh all`` is killed with SIGKILL (the whole process group: Snakemake and its jobs, as a lost node or
an out-of-memory kill would) at spread-out moments of a run; each time the same command, run again, must
finish the workflow without any manual step, and the data must equal those of an uninterrupted run (hashes of
the data of every job file and aggregate). A second ``bash run.sh all`` while one is running must refuse with a
message and leave the running one alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_repo, missing, write_toy_experiments

from dln.repro import hash_dataset, hash_results

pytestmark = pytest.mark.slow

VENV = Path(sys.executable).absolute().parents[1]  # the venv running the tests (not the interpreter it links to)
#: 12 toy jobs and their aggregate: a few seconds on 2 cores, long enough to be killed at many points.
CONFIG = {
    "families": {"free_energy": {"sweep": {"p": [1.0, 2.0, 3.0], "seed": [0, 1, 2, 3]}, "fixed": {"N": 3}}},
    "figures": False,
    "ledger": False,
    "book": False,
}
#: When a run is killed, as fractions of the wall time of an uninterrupted run measured first on the same machine
#: (spread over set-up, the jobs and the aggregate, whatever the machine's speed).
KILL_AT = (0.04, 0.1, 0.18, 0.27, 0.36, 0.45, 0.55, 0.65, 0.75, 0.85)


@pytest.fixture(scope="module")
def toy_repo(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    repo = copy_repo(base / "repo")
    for name in ("run.sh", "pyproject.toml", "requirements.lock"):
        shutil.copy2(ROOT / name, repo / name)
    env = write_toy_experiments(base / "toy", repo=repo)
    (repo / "config" / "faults.yaml").write_text(yaml.safe_dump(CONFIG))
    env = {
        **os.environ,
        **env,
        "VENV": str(VENV),
        "CONFIG": "config/faults.yaml",
        "DLN_TOY_PIDFILE": str(base / "never-sleep.pid"),
    }
    (base / "never-sleep.pid").write_text("0")  # the toy sleeps only while this file is absent
    return repo, env


def run_sh(repo: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "run.sh", "all"], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


def start_run_sh(repo: Path, env: dict) -> subprocess.Popen:
    """``bash run.sh all`` in its own process group (so that the whole run can be killed at once)."""
    return subprocess.Popen(
        ["bash", "run.sh", "all"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _clean(repo: Path) -> None:
    for name in ("results", "logs", ".snakemake"):
        shutil.rmtree(repo / name, ignore_errors=True)


def _data(repo: Path) -> dict:
    hashes = hash_results(repo / "results", jobs=True)
    hashes.pop("total", None)
    return hashes


def test_hard_kills_recover_with_the_readme_command(toy_repo):
    repo, env = toy_repo
    _clean(repo)
    start = time.perf_counter()
    clean = run_sh(repo, env)
    wall = time.perf_counter() - start
    assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr[-4000:]
    reference = _data(repo)
    assert len(reference) == 13, reference  # 12 job files and the aggregate
    report = []
    for at in (round(fraction * wall, 2) for fraction in KILL_AT):
        _clean(repo)
        proc = start_run_sh(repo, env)
        time.sleep(at)
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        left = sorted(p.name for p in (repo / "results").rglob("*.nc")) if (repo / "results").exists() else []
        rerun = run_sh(repo, env)
        assert rerun.returncode == 0, (
            f"after a kill at {at} s the README command failed:\n{rerun.stdout[-2000:]}\n{rerun.stderr[-4000:]}"
        )
        assert _data(repo) == reference, f"after a kill at {at} s the data differ from an uninterrupted run"
        assert not list(repo.rglob("*.tmp")), "temporary files left behind"
        report.append((at, finished, len(left), "stale lock" in rerun.stderr, "temporary file" in rerun.stderr))
    # the kills hit the runs at different stages: some before any job file, some with part of the jobs done
    assert sum(1 for _, finished, _, _, _ in report if not finished) >= 8, report
    assert len({n for _, _, n, _, _ in report}) >= 3, report
    assert any(stale for *_, stale, _ in report), report
    print("kill at (s), run had finished, job files left, stale lock removed, temporary files removed:")
    for row in report:
        print("  ", row)


def test_a_second_run_refuses_while_one_is_running(toy_repo):
    repo, env = toy_repo
    _clean(repo)
    pidfile = Path(env["DLN_TOY_PIDFILE"]).with_name("sleeper.pid")
    sleeping = {**env, "DLN_TOY_PIDFILE": str(pidfile)}
    pidfile.unlink(missing_ok=True)
    cfg = {**CONFIG, "families": {"free_energy": {"sweep": {"p": [1.0], "seed": [777]}, "fixed": {"N": 3}}}}
    (repo / "config" / "sleep.yaml").write_text(yaml.safe_dump(cfg))
    sleeping["CONFIG"] = "config/sleep.yaml"
    first = start_run_sh(repo, sleeping)
    try:
        t0 = time.monotonic()
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert first.poll() is None, "the first run ended before its job started"
            assert time.monotonic() - t0 < 120, "the toy job did not start"
            time.sleep(0.2)
        second = run_sh(repo, env)
        assert second.returncode != 0
        assert "another Snakemake is running in this directory" in second.stderr, second.stderr[-2000:]
        assert first.poll() is None, "the second run disturbed the first"
        assert (repo / ".snakemake" / "locks").exists() and list((repo / ".snakemake" / "locks").iterdir())
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    # the killed first run, then the README command: it recovers and finishes
    done = run_sh(repo, sleeping)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (repo / "results" / "free_energy.nc").exists()


def _damage(path: Path) -> None:
    """Change one stored value of a netCDF file in place and give the file back its old times."""
    import netCDF4

    st = path.stat()
    with netCDF4.Dataset(path, "a") as nc:
        var = next(v for v in nc.variables.values() if v.dtype.kind == "f" and v.size > 1)
        flat = var[...].ravel()
        flat[0] = flat[0] + 1.0
        var[...] = flat.reshape(var.shape)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_damaged_job_file_is_found_by_its_checksum_and_rerun(toy_repo):
    repo, env = toy_repo
    _clean(repo)
    assert run_sh(repo, env).returncode == 0
    reference = _data(repo)
    job = sorted((repo / "results" / "free_energy" / "jobs").glob("*.nc"))[3]
    _damage(job)
    # Snakemake alone sees nothing (same times); the aggregate, when it runs, refuses the damaged file
    snakemake = str(VENV / "bin" / "snakemake")
    forced = subprocess.run(
        [snakemake, "--cores", "1", "--configfile", "config/faults.yaml", "--forcerun", "free_energy_aggregate"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert forced.returncode != 0
    log = (repo / "logs" / "free_energy" / "aggregate.log").read_text()
    assert job.name in forced.stdout + forced.stderr + log and "checksum" in log, log[-2000:]
    # the failed aggregate lost nothing: the last good dataset is kept, and the message says where
    kept = repo / "results" / ".previous" / "free_energy.nc"
    assert "the last good free_energy.nc is kept at results/.previous/free_energy.nc" in log, log[-2000:]
    assert hash_dataset(kept) == reference["free_energy.nc"]
    # the README command finds it, removes it, reruns that job and the aggregate: the data of a clean run
    again = run_sh(repo, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "removing a damaged job file" in again.stderr and job.name in again.stderr
    assert _data(repo) == reference


def test_a_directory_where_a_file_is_expected_is_named_and_kept(toy_repo):
    """A folder where the workflow writes a job file or a dataset: the README command stops before any job,
    naming the path and the rule, and deletes nothing; once it is moved away, the run completes."""
    repo, env = toy_repo
    _clean(repo)
    assert run_sh(repo, env).returncode == 0
    reference = _data(repo)
    for where, rule in (
        ("free_energy/jobs/p=2.0+seed=1.nc", "free_energy"),
        ("free_energy.nc", "free_energy_aggregate"),
    ):
        target = repo / "results" / where
        target.unlink()
        target.mkdir()
        (target / "notes.txt").write_text("a user's file")
        proc = run_sh(repo, env)
        assert proc.returncode != 0
        named = f"results/{where} is not a file, but the rule '{rule}' writes a file there"
        assert named in proc.stderr, proc.stderr[-2000:]
        assert (target / "notes.txt").read_text() == "a user's file"
        shutil.rmtree(target)
        assert run_sh(repo, env).returncode == 0
        # a job file whose aggregate is current is not needed again (Snakemake reruns it only for a new aggregate)
        got = _data(repo)
        assert got == {k: v for k, v in reference.items() if k in got} and "free_energy.nc" in got


@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` read-only for this process and its children: a read-only bind mount of it onto itself
    where the system allows one (root ignores file permissions), else its permission bits."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    bind = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True)
    if bind.returncode != 0:
        missing(f"a read-only bind mount is not allowed here ({bind.stderr.strip()}); root ignores permissions")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_results_folder_fails_naming_file_and_rule(toy_repo):
    """Job files that cannot be written (a read-only folder): the run fails naming the file and the rule, the
    good files stay; with the folder writable again the README command completes the same data."""
    repo, env = toy_repo
    _clean(repo)
    assert run_sh(repo, env).returncode == 0
    reference = _data(repo)
    jobs = repo / "results" / "free_energy" / "jobs"
    lost = jobs / "p=3.0+seed=2.nc"
    lost.unlink()
    (repo / "results" / "free_energy.nc").unlink()  # the aggregate needs the lost job again
    with read_only(jobs):
        proc = run_sh(repo, env)
        # Snakemake alone, too, stops: in the job's rule, naming the file
        direct = subprocess.run(
            [str(VENV / "bin" / "snakemake"), "--cores", "1", "--configfile", "config/faults.yaml"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode != 0
    assert (
        "results/free_energy/jobs is not writable (read-only file system or permissions): the rule 'free_energy' "
        "writes its job files there" in proc.stderr
    ), proc.stderr[-3000:]
    direct_out = direct.stdout + direct.stderr
    assert direct.returncode != 0 and "rule free_energy" in direct_out, direct_out[-3000:]
    assert str(lost.relative_to(repo)) in direct_out and "Read-only file system" in direct_out, direct_out[-3000:]
    good = {k: v for k, v in reference.items() if "p=3.0+seed=2" not in k and k != "free_energy.nc"}
    assert {k: v for k, v in _data(repo).items() if k in good} == good
    again = run_sh(repo, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _data(repo) == reference
