"""The ``dln`` console script: ``dln check`` (table, JSON, --id, --list, --where, --results), ``dln ledger``.

Exit statuses are tested on a synthetic registry (monkeypatched); the console script itself runs on real claims.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dln import cli
from dln.checks import CLAIMS, Evidence, claim
from dln.checks import _claims as reg
from dln.experiments._conventions import finalize, write_netcdf

ROOT = Path(__file__).resolve().parents[1]


def _registry(monkeypatch, fail=False, crash=False):
    registry = {}

    def ok(ds):
        ev = Evidence()
        ev.require("x", 1e-15, "identity", "def")
        return ev

    def printed(ds):
        ev = ok(ds)
        ev.printed_residual(0.5, "identity", "printed")
        return ev

    def c(ds):
        if crash:
            raise RuntimeError("boom")
        ev = Evidence()
        ev.require("y", 1.0 if fail else 0.0, "identity", "def")
        return ev

    common = {
        "paper": "LM",
        "where": "w",
        "statement": "s",
        "family": "fibers",
        "implements": ("moments",),
        "fails_if": "x",
        "registry": registry,
    }
    claim("A", **common)(ok)
    claim("B", kind="erratum", printed_statement="p", residual_tex="r", **common)(printed)
    claim("C", **common)(c)
    monkeypatch.setattr(reg, "CLAIMS", registry)
    return registry


@pytest.fixture
def results(tmp_path):
    ds = xr.Dataset({"v": (("seed",), np.zeros(2), {"long_name": "v", "units": "1"})})
    write_netcdf(finalize(ds, title="t", summary="s", references=["LM"]), tmp_path / "fibers.nc")
    return tmp_path


def test_check_table_and_exit_0(monkeypatch, capsys, results):
    _registry(monkeypatch)
    assert cli.main(["check", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "3 claims: 2 pass, 1 erratum, 0 notation, 0 finding, 0 open, 0 fail" in out
    for col in ("ID", "status", "measured", "tolerance", "printed"):
        assert col in out.splitlines()[0]
    assert "0.5" in out


def test_check_json(monkeypatch, capsys, results):
    _registry(monkeypatch)
    assert cli.main(["check", "--json", "--results", str(results)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["A", "B", "C"] and [r["status"] for r in rows] == ["pass", "erratum", "pass"]
    assert rows[1]["printed"]["value"] == 0.5 and rows[0]["tolerance"] == 1e-10


@pytest.mark.parametrize("kind", ["fail", "crash"])
def test_check_failure_exit_1(monkeypatch, capsys, results, kind):
    _registry(monkeypatch, **{kind: True})
    assert cli.main(["check", "--results", str(results)]) == 1
    out = capsys.readouterr().out
    assert "C fails:" in out and ("boom" in out if kind == "crash" else "y = 1" in out)


def test_missing_results_fail(monkeypatch, capsys, tmp_path):
    _registry(monkeypatch)
    assert cli.main(["check", "--json", "--results", str(tmp_path)]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert all(r["status"] == "fail" and "does not exist" in r["error"] for r in rows)


def test_ids_repeat_and_comma_lists(monkeypatch, capsys, results):
    _registry(monkeypatch)
    assert cli.main(["check", "--json", "--results", str(results), "--id", "A", "--id", "B,C"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["A", "B", "C"]
    assert cli.main(["check", "--id", "nope"]) == 2
    assert "unknown ID" in capsys.readouterr().err


def test_list_and_where(monkeypatch, capsys):
    assert cli.main(["check", "--list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in listing] == list(CLAIMS)
    assert all(e["statement"] and e["fails_if"] for e in listing)
    assert cli.main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    assert "fails if:" in out and "tolerances (dln.tolerances.TOL)" in out
    assert cli.main(["check", "--where", "LM-Thm2"]) == 0
    out = capsys.readouterr().out
    assert "dln.regularizing_flow" in out and "results/regularizing_flow.nc" in out
    assert cli.main(["check", "--where", "NOPE"]) == 2


def test_ledger_command(monkeypatch, tmp_path, capsys, results):
    _registry(monkeypatch)
    j, n = tmp_path / "l.json", tmp_path / "l.nc"
    assert cli.main(["ledger", "--results", str(results), "--json-out", str(j), "--nc-out", str(n)]) == 0
    assert j.exists() and n.exists() and "3 claims" in capsys.readouterr().out


def _exe():
    exe = Path(sys.executable).parent / "dln"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dln.cli"]


def test_console_script_runs_real_claims():
    proc = subprocess.run(
        _exe() + ["check", "--json", "--id", "LM-Def8,MY-Jacobi"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == ["LM-Def8", "MY-Jacobi"] and {r["status"] for r in rows} == {"pass"}
    assert subprocess.run(_exe() + ["check", "--id", "NOT-AN-ID"], capture_output=True, timeout=120).returncode == 2


def test_list_through_a_closed_pipe():
    proc = subprocess.run(
        " ".join(_exe()) + " check --list | head -n 2", shell=True, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_where_names_existing_files_for_every_claim(capsys):
    """``dln check --where ID``: every path it names exists, every claim has a test, a rule and a book page."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def exists(ref: str) -> bool:
        path = ref.split("::")[0].split(":")[0].split("#")[0].split(" ")[0]
        return (root / path).exists()

    for cid in CLAIMS:
        assert cli.main(["check", "--where", cid, "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["id"] == cid
        refs = [
            info["measurement"],
            info["experiment"],
            *info["implements"].values(),
            *info["tests"],
        ]
        refs.append(info["rule"].split("(")[1].rstrip(")"))
        refs.append(info["book_page"].split(" ")[0])
        missing = [r for r in refs if not exists(r)]
        assert not missing, (cid, missing)
        assert info["tests"], cid


def test_figure_lists_every_figure_and_rejects_unknown_names(capsys, tmp_path):
    from dln import figures

    assert cli.main(["figure", "--list"]) == 0
    out = capsys.readouterr().out
    for name, fig in figures.FIGURES.items():
        assert name in out and f"results/{fig.family}.nc" in out and fig.dotted_name in out
        path, line = fig.source()
        assert path == f"src/dln/experiments/{fig.family}.py" and f"({path}:{line})" in out, (name, path)
        text = (ROOT / path).read_text().splitlines()
        assert text[line - 1].startswith(f"def {fig.qualname}("), (name, path, line)
    assert cli.main(["figure", "no_such_figure"]) == 2
    assert "unknown figure" in capsys.readouterr().err
    assert cli.main(["figure", "entropy", "--results", str(tmp_path)]) == 2
    assert "run.sh all" in capsys.readouterr().err


def test_run_one_job_outside_the_workflow(tmp_path, capsys):
    """`dln run FAMILY key=value`: the values are read as YAML and resolved by the family's spec (an integer given
    as 3.0 is 3), the dataset is written with its parameters, a summary and the figures' paths are printed."""
    from dln.experiments import FAMILIES, read_netcdf

    out = tmp_path / "one.nc"
    assert cli.main(["run", "regularizing_flow", "N=3.0", "d=2", "field=complex", "T=1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    ds = read_netcdf(out)
    assert str(out) in text and "figure regularizing_flow_errors:" in text
    assert list(ds["N"].values) == [3] and list(ds["field"].values) == ["complex"]
    assert ds.sizes["t"] == FAMILIES["regularizing_flow"].defaults["n_t"]
    assert (tmp_path / "one.regularizing_flow_errors.png").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "schatten", "p=-1"], "parameter 'p': expected a finite number > 0"),
        (["run", "schatten", "p=-1e3"], "<= 1000, got -1000.0"),  # 1e3 read as YAML 1.2 reads it: a number
        (["run", "schatten", "q=1"], "unknown parameter(s) ['q']"),
        (["run", "schatten", "p"], "expected key=value"),
        (["run", "langevin", "dt=0.5", "T=0.1"], "break the rule dt < T"),
        (["run", "nosuchfamily"], "unknown family 'nosuchfamily'"),
    ],
)
def test_run_rejects_bad_parameters_naming_them(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_assignment_values_read_exponents_as_numbers():
    """``1e10`` unquoted is a number (YAML 1.2), also in a list; quoted it stays a string; PyYAML itself is left
    as it is."""
    import yaml

    assert cli._parse_assignment("p=1e10") == ("p", 1e10)
    assert cli._parse_assignment("fibers=[1e-3, 2.0, -.5E2]") == ("fibers", [1e-3, 2.0, -50.0])
    assert cli._parse_assignment("x='1e3'") == ("x", "1e3")
    assert cli._parse_assignment("N=5") == ("N", 5) and isinstance(cli._parse_assignment("N=5")[1], int)
    assert cli._parse_assignment("field=real") == ("field", "real")
    assert yaml.safe_load("1e10") == "1e10"


def test_run_help_lists_the_spec(capsys):
    from dln.experiments import FAMILIES

    assert cli.main(["run", "langevin", "--help"]) == 0
    text = capsys.readouterr().out
    for p in FAMILIES["langevin"].spec:
        assert f"  {p.name}={p.kind}" in text
    assert "rule: dt < T" in text
