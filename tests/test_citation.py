"""Citation metadata (CITATION.cff, .zenodo.json) and the CI workflow agree with the package and the README."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAPERS = {"2511.01137", "2509.09088", "2512.06137"}


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_citation_cff_names_the_software_and_the_three_papers():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["version"] == _version()
    assert cff["license"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    for key in ("title", "message", "authors", "abstract"):
        assert cff[key], key
    ids = {i["value"].removeprefix("arXiv:") for r in cff["references"] for i in r["identifiers"]}
    assert ids == PAPERS
    for r in cff["references"]:
        assert r["type"] == "article" and r["title"] and r["authors"] and r["url"].startswith("https://arxiv.org/abs/")


def test_zenodo_metadata():
    z = json.loads((ROOT / ".zenodo.json").read_text())
    assert z["upload_type"] == "software" and z["version"] == _version() and z["license"] == "MIT"
    assert {r["identifier"].removeprefix("arXiv:") for r in z["related_identifiers"]} == PAPERS


def test_ci_workflow_runs_on_every_change_and_calls_the_readme_test_command():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as True
    assert "push" in on and "pull_request" in on
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    for step in steps:
        assert ("uses" in step) != ("run" in step), step
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
    runs = "\n".join(s.get("run", "") for s in steps)
    readme = (ROOT / "README.md").read_text()
    assert "bash run.sh test" in readme and "bash run.sh test" in runs
    for command in (
        "ruff check",
        "ruff format --check",
        "snakefmt --check",
        "snakemake --lint",
        "--require-hashes -r requirements.lock",
        "dln repro compare",
    ):
        assert command in runs, command
    assert all(job.get("timeout-minutes") for job in wf["jobs"].values())


def test_repository_link_of_the_book_header():
    """The book's header links the repository when its address is known (explicitly, or in GitHub Actions)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dln_book", ROOT / "book" / "_ext" / "dln_book.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    assert ext.repository_url({}) is None
    assert ext.repository_url({"DLN_REPOSITORY_URL": "https://github.com/o/r/"}) == "https://github.com/o/r"
    gha = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r"}
    assert ext.repository_url(gha) == "https://github.com/o/r"


def _check_workflow_schema(*paths) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).with_name("check-jsonschema"))
    if not Path(exe).exists():
        pytest.fail("check-jsonschema is not installed: it is a dev dependency (pip install -e '.[dev]')")
    cmd = [exe, "--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_github_workflows_are_valid(tmp_path):
    """Every workflow under .github/workflows validates against GitHub's workflow schema (the SchemaStore schema
    vendored by check-jsonschema, so no network is needed), and a broken one does not."""
    files = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "pages.yml"}
    proc = _check_workflow_schema(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "broken.yml"
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    wf["on"] = wf.pop(True)  # YAML 1.1 reads the key `on` as True; write it back as the string
    ok = tmp_path / "ok.yml"
    ok.write_text(yaml.safe_dump(wf))
    assert _check_workflow_schema(ok).returncode == 0  # the round trip alone keeps it valid
    job = next(iter(wf["jobs"].values()))
    job["runs-on"], job["timeout-minutes"] = None, "ninety"  # a job without a runner, a timeout that is no number
    broken.write_text(yaml.safe_dump(wf))
    proc = _check_workflow_schema(broken)
    assert proc.returncode != 0, "the schema check accepts a broken workflow"
