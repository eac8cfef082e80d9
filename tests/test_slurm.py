"""The SLURM profile against a real single-node SLURM cluster started on localhost by this test.

Installs nothing (``bash run.sh test`` installs Debian's slurmctld, slurmd, slurm-client and munge
as root). The test, as root:

1. starts its own ``munged`` (own key, socket, pid/log files in a temp dir; ``--force`` because
   the temp dir's parents are world-writable), in the foreground as the ``munge`` user;
2. writes a slurm.conf for one node (``hostname -s``, 2 CPUs, no accounting, free ports) to
   ``/etc/slurm/slurm.conf`` (backing up and restoring an existing one: the jobstep plugin drops
   ``SLURM_CONF`` before its nested ``srun``) and starts ``slurmctld -D`` and ``slurmd -D``; where a
   slurmctld or slurmd already runs on the machine it does not, since that cluster's jobs read the file;
3. runs a 2-job target of the workflow, in a temp copy of the repository, through
   ``workflow/profiles/slurm`` under ``timeout 240`` (a hang fails instead of blocking CI);
4. checks both job files, then stops slurmd, slurmctld and munged BY PID (also on failure)
   and runs ``snakemake --unlock`` if the run was cut off.

Skips when the binaries are missing or we are not root, unless DLN_REQUIRE_ALL=1 (then it fails).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import copy_repo, missing, require_all, require_tool, write_toy_experiments

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SNAKEMAKE_TIMEOUT = 240
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(pred, timeout: float, what: str, logs: list[Path] = ()) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {p}:\n{p.read_text()[-2000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tails}")


def _running_slurm_daemons() -> list[str]:
    """``name (pid)`` of every slurmctld and slurmd process on this machine (from /proc)."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:  # the process has exited
            continue
        if name in ("slurmctld", "slurmd"):
            found.append(f"{name} ({comm.parent.name})")
    return sorted(found)


def _stop(proc: subprocess.Popen, name: str) -> None:
    """Stop one daemon we started, by its PID: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


SLURM_CONF = """\
ClusterName=dlntest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@contextlib.contextmanager
def single_node_slurm(workdir: Path):
    """Start munged, slurmctld and slurmd (as children, so we know their PIDs); stop them by PID."""
    exes = {
        name: require_tool(name, "apt-get install slurmctld slurmd slurm-client munge")
        for name in ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
    }
    if os.geteuid() != 0:
        missing("the single-node SLURM test starts slurmctld/slurmd as root")
    live = _running_slurm_daemons()
    if live:  # its jobs would read the slurm.conf this test puts at /etc/slurm/slurm.conf, and fail
        msg = (
            f"a SLURM cluster is running on this machine ({', '.join(live)}); the test would replace its "
            f"{SYSTEM_CONF} while it runs"
        )
        if require_all():
            pytest.fail(msg + "; stop that cluster, or run the test on another machine")
        pytest.skip(msg)
    import pwd

    munge_user = pwd.getpwnam("munge")
    d = workdir / "slurm"
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True)
    # munged (running as the munge user) must reach its files: pytest's temp dirs are root-only
    mdir = Path(tempfile.mkdtemp(prefix="dln-munge-"))
    key = mdir / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(mdir, 0o700)
    os.chmod(key, 0o400)
    for p in (mdir, key):
        os.chown(p, munge_user.pw_uid, munge_user.pw_gid)
    munge_socket = mdir / "munge.socket"
    procs: list[tuple[str, subprocess.Popen]] = []
    backup = None
    wrote_system_conf = False
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, SLURM_CONF=str(d / "slurm.conf"), PATH=path)
    try:
        munged = subprocess.Popen(
            [
                exes["munged"],
                "--foreground",
                "--force",
                f"--socket={munge_socket}",
                f"--key-file={key}",
                f"--log-file={mdir / 'munged.log'}",
                f"--pid-file={mdir / 'munged.pid'}",
                f"--seed-file={mdir / 'munged.seed'}",
            ],
            user=munge_user.pw_uid,
            group=munge_user.pw_gid,
            stdout=subprocess.DEVNULL,
            stderr=open(mdir / "munged.stderr", "w"),  # noqa: SIM115
        )
        procs.append(("munged", munged))

        def munge_ok() -> bool:
            cred = subprocess.run([exes["munge"], "-n", "-S", str(munge_socket)], capture_output=True)
            if cred.returncode:
                return False
            out = subprocess.run([exes["unmunge"], "-S", str(munge_socket)], input=cred.stdout, capture_output=True)
            return b"STATUS:          Success" in out.stdout or b"Success" in out.stdout

        _wait_for(munge_ok, 20, "munged", [mdir / "munged.log", mdir / "munged.stderr"])
        # The slurm.conf goes to the default path /etc/slurm/slurm.conf (an existing one is backed up
        # and restored): the jobstep plugin strips every SLURM_* variable, SLURM_CONF included, before
        # its nested `srun`, which then finds no configuration anywhere else.
        if SYSTEM_CONF.exists():
            backup = d / "slurm.conf.system-backup"
            shutil.copy2(SYSTEM_CONF, backup)
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        wrote_system_conf = True
        host = socket.gethostname().split(".")[0]
        mem = max(512, int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.5))
        (d / "slurm.conf").write_text(
            SLURM_CONF.format(
                host=host,
                ctld_port=_free_port(),
                d_port=_free_port(),
                munge_socket=munge_socket,
                d=d,
                cpus=os.cpu_count() or 1,
                mem=mem,
            )
        )
        shutil.copy2(d / "slurm.conf", SYSTEM_CONF)
        ctld = subprocess.Popen(
            [exes["slurmctld"], "-D", "-i", "-f", str(d / "slurm.conf")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(d / "slurmctld.stderr", "w"),  # noqa: SIM115
        )
        procs.append(("slurmctld", ctld))
        slurmd = subprocess.Popen(
            [exes["slurmd"], "-D", "-f", str(d / "slurm.conf")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(d / "slurmd.stderr", "w"),  # noqa: SIM115
        )
        procs.append(("slurmd", slurmd))
        logs = [d / "slurmctld.log", d / "slurmd.log", d / "slurmctld.stderr", d / "slurmd.stderr"]

        def node_idle() -> bool:
            for name, p in procs:
                if p.poll() is not None:
                    raise AssertionError(
                        f"{name} exited with {p.returncode}\n"
                        + "\n".join(f"--- {q}:\n{q.read_text()[-2000:]}" for q in logs if q.exists())
                    )
            out = subprocess.run([exes["sinfo"], "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            return out.returncode == 0 and out.stdout.strip().startswith("idle")

        _wait_for(node_idle, 60, "the node to be idle in sinfo", logs)
        yield env
    finally:
        for name, proc in reversed(procs):
            _stop(proc, name)
        shutil.rmtree(mdir, ignore_errors=True)
        if backup is not None:
            shutil.copy2(backup, SYSTEM_CONF)
        elif wrote_system_conf:
            SYSTEM_CONF.unlink(missing_ok=True)


def test_slurm_profile_runs_two_jobs(tmp_path):
    require_tool("snakemake")
    repo = copy_repo(tmp_path / "repo")
    toy_env = write_toy_experiments(tmp_path / "toy", repo=repo)
    (repo / "config" / "slurm-test.yaml").write_text(
        # two swept parameters: the job ID joins them, and the remote job receives it through --target-jobs
        "families:\n  free_energy:\n    sweep:\n      p: [1.0, 2.0]\n      seed: [0]\n"
        "figures: false\nledger: false\nbook: false\n"
    )
    targets = ["results/free_energy/jobs/p=1.0+seed=0.nc", "results/free_energy/jobs/p=2.0+seed=0.nc"]
    with single_node_slurm(tmp_path) as env:
        env = {**env, **toy_env}
        cmd = [
            "timeout",
            "-k",
            "10",
            str(SNAKEMAKE_TIMEOUT),
            str(Path(sys.executable).parent / "snakemake"),
            "--workflow-profile",
            "workflow/profiles/slurm",
            "--configfile",
            "config/slurm-test.yaml",
            "--jobs",
            "2",
            *targets,
        ]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            subprocess.run(
                [str(Path(sys.executable).parent / "snakemake"), "--unlock", "--configfile", "config/slurm-test.yaml"],
                cwd=repo,
                env=env,
                capture_output=True,
            )
        assert proc.returncode == 0, (
            f"snakemake via SLURM failed (rc {proc.returncode}, {wall:.0f} s):\n{proc.stderr[-5000:]}"
        )
    for t in targets:
        assert (repo / t).exists(), t
    assert "slurm" in proc.stderr.lower() and "2 of 2 steps (100%) done" in proc.stderr
    print(f"SLURM round trip: 2 jobs in {wall:.1f} s")


def test_a_running_slurm_daemon_is_seen():
    """The guard that keeps the test from rewriting a live cluster's slurm.conf sees a process named slurmd."""
    # a Python process that names itself slurmd (its /proc/<pid>/comm)
    code = "open('/proc/self/comm', 'w').write('slurmd'); import time; time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        _wait_for(lambda: any(s == f"slurmd ({proc.pid})" for s in _running_slurm_daemons()), 10, "the fake slurmd")
    finally:
        proc.kill()
        proc.wait()
    assert f"slurmd ({proc.pid})" not in _running_slurm_daemons()
