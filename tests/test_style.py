"""Style gate: ruff lint and format over the whole repository, snakefmt over the workflow (both configured in
pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.fail("ruff is not installed: it is a dev dependency (pip install -e '.[dev]')")
    return [exe]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(args):
    proc = subprocess.run(_ruff() + args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt():
    """The Snakefile and every workflow/rules/*.smk are formatted by snakefmt (line length from pyproject.toml)."""
    exe = shutil.which("snakefmt") or str(Path(sys.executable).with_name("snakefmt"))
    if not Path(exe).exists():
        pytest.fail("snakefmt is not installed: it is a dev dependency (pip install -e '.[dev]')")
    proc = subprocess.run(
        [exe, "--check", "Snakefile", "workflow"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
