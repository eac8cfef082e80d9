"""The ``dln`` console script: ``dln check`` output and exit status, ``dln ledger``.

The exit-status logic is tested on synthetic registries (monkeypatched), so it does not depend on
the entries other modules register; one test runs the installed console script on a real entry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dln import cli
from dln.checks import _registry as reg


def _registry(monkeypatch, fail=False, missing=False, crash=False):
    monkeypatch.setattr(reg, "CHECKS", {})
    monkeypatch.setattr(reg, "EXPECTED_IDS", ("A", "B", "C"))
    reg.register("A", statement="a", source="sa", measures="ma", tolerance="identity")(
        lambda p: reg.Outcome(1e-15, True)
    )
    reg.register(
        "B", statement="b", source="sb", measures="mb", tolerance="identity", erratum=True, printed_statement="pb"
    )(lambda p: reg.Outcome(1e-15, True, printed=0.5))
    if not missing:

        def c(p):
            if crash:
                raise RuntimeError("boom")
            return reg.Outcome(1.0 if fail else 0.0)

        reg.register("C", statement="c", source="sc", measures="mc", tolerance="identity")(c)


def test_check_all_pass_exit_0(monkeypatch, capsys):
    _registry(monkeypatch)
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "3 entries: 2 pass, 1 erratum, 0 fail" in out
    for col in ("ID", "status", "measured", "tolerance", "printed"):
        assert col in out.splitlines()[0]
    assert "erratum" in out and "0.5" in out


def test_check_json(monkeypatch, capsys):
    _registry(monkeypatch)
    assert cli.main(["check", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["A", "B", "C"]
    assert [r["status"] for r in rows] == ["pass", "erratum", "pass"]
    assert rows[1]["printed"] == 0.5 and rows[0]["tolerance"] == 1e-10


@pytest.mark.parametrize("kind", ["fail", "missing", "crash"])
def test_check_failure_exit_1(monkeypatch, capsys, kind):
    _registry(monkeypatch, **{kind: True})
    assert cli.main(["check", "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    c = next(r for r in rows if r["id"] == "C")
    assert c["status"] == "fail"
    if kind == "missing":
        assert "no registered ledger entry" in c["error"]
    if kind == "crash":
        assert "boom" in c["error"] and c["measured"] is None


def test_check_subset_and_unknown_id(monkeypatch, capsys):
    _registry(monkeypatch, missing=True)
    # a subset does not report the missing expected ID C
    assert cli.main(["check", "--id", "A", "B"]) == 0
    assert "2 entries" in capsys.readouterr().out
    assert cli.main(["check", "--id", "nope"]) == 2
    assert "unknown ID" in capsys.readouterr().err


def test_check_list(monkeypatch, capsys):
    _registry(monkeypatch, missing=True)
    assert cli.main(["check", "--list", "--json"]) == 1
    listing = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in listing["entries"]] == ["A", "B"] and listing["missing"] == ["C"]
    _registry(monkeypatch)
    assert cli.main(["check", "--list"]) == 0
    assert "A" in capsys.readouterr().out


def test_ledger_command(monkeypatch, tmp_path, capsys):
    _registry(monkeypatch)
    j, n = tmp_path / "l.json", tmp_path / "l.nc"
    assert cli.main(["ledger", "--results", str(tmp_path), "--json-out", str(j), "--nc-out", str(n)]) == 0
    assert j.exists() and n.exists()
    assert "3 entries" in capsys.readouterr().out


def test_console_script_runs_a_real_entry():
    exe = Path(sys.executable).parent / "dln"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "dln.cli"]
    proc = subprocess.run(cmd + ["check", "--json", "--id", "LM-Def8"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows[0]["id"] == "LM-Def8" and rows[0]["status"] == "pass"
    bad = subprocess.run(cmd + ["check", "--id", "NOT-AN-ID"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
