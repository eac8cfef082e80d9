"""environment.yml (conda) and pyproject.toml (pip) name the same dependencies; the locks (requirements.lock,
environment.lock.yml) pin them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-only entries with no PyPI counterpart in pyproject.toml, and why
CONDA_ONLY = {
    "python": "the interpreter itself (pyproject: requires-python)",
    "pip": "installer used for the editable install",
    "udunits2": "C library needed by cfchecker; pip users get it from Debian (libudunits2-0), see run.sh",
}


def _name_and_spec(req: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", req)
    name = m.group(1).lower().replace("_", "-").replace(".", "-")
    spec = m.group(2).replace(" ", "")
    return name, spec


def test_same_dependencies_and_pins():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_reqs = list(py["dependencies"])
    for extra in py["optional-dependencies"].values():
        pip_reqs += extra
    pip = dict(_name_and_spec(r) for r in pip_reqs)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_name_and_spec(r) for r in env["dependencies"] if isinstance(r, str))
    for section in (r for r in env["dependencies"] if isinstance(r, dict)):
        conda.update(_name_and_spec(r) for r in section.get("pip", []) if not r.startswith("-"))
    for name in CONDA_ONLY:
        conda.pop(name, None)
    assert set(conda) == set(pip), f"only conda: {set(conda) - set(pip)}, only pip: {set(pip) - set(conda)}"
    for name in pip:
        assert conda[name] == pip[name], f"{name}: conda pins {conda[name]!r}, pip pins {pip[name]!r}"
    assert {"conda-forge"} <= set(env["channels"])


def test_python_version_consistent():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_py = next(r for r in env["dependencies"] if isinstance(r, str) and r.startswith("python"))
    assert py["requires-python"] == ">=3.11" and conda_py in ("python=3.11", "python>=3.11")


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-").replace(".", "-")] = m.group(2)
    return pins


def test_lock_satisfies_pyproject():
    """requirements.lock pins every dependency of pyproject.toml (core and extras) inside its range."""
    from packaging.requirements import Requirement

    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(py["dependencies"]) + [r for extra in py["optional-dependencies"].values() for r in extra]
    pins = _lock_pins()
    assert len(pins) > 50, "requirements.lock pins too few packages"
    for text in reqs:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-").replace(".", "-")
        assert name in pins, f"{name} is not pinned in requirements.lock (run: bash run.sh lock)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {req.specifier}"
        )


def test_lock_has_hashes_and_no_machine_paths():
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)
    for block in blocks[1:]:
        assert "--hash=sha256:" in block, f"no hash for {block.split()[0]}"
    for bad in ("--index-url", "--extra-index-url", "--find-links", "file://"):
        assert bad not in text, f"requirements.lock names a machine-specific source: {bad}"


def test_conda_lock_installs_exactly_the_pip_lock():
    """environment.lock.yml: conda supplies Python (same minor version as environment.yml) and the CF checker's C
    library; every Python package comes from requirements.lock with its hashes checked."""
    env = yaml.safe_load((ROOT / "environment.lock.yml").read_text())
    plain = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    strings = [d for d in deps if isinstance(d, str)]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["--require-hashes", "-r requirements.lock"], pip
    assert (ROOT / "requirements.lock").exists()
    py = next(d for d in strings if d.startswith("python"))
    assert py in [d for d in plain["dependencies"] if isinstance(d, str)], (py, "differs from environment.yml")
    # nothing else is resolved by conda: no Python package outside the lock
    assert set(strings) <= {py, "pip", "udunits2=2.2"}, strings
    assert env["channels"] == plain["channels"] and env["name"] != plain["name"]
