"""The workflow config schema (workflow/schemas/config.schema.yaml): bad configs are rejected
before any job runs, with a message naming the key and the allowed values."""

from __future__ import annotations

import copy
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_repo, require_tool

sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "workflow" / "schemas"))
import dlnwf  # noqa: E402
import make_schema  # noqa: E402

BASE = {
    "families": {
        "schatten": {
            "sweep": {"p": [1.0, 2.0], "field": ["real", "complex"]},
            "fixed": {"N": 3, "d": 2, "n_seeds": 1, "n_restarts": 2},
        }
    },
    "figures": True,
    "ledger": True,
    "book": False,
}


def bad(path: str, value) -> dict:
    """BASE with the value at a dotted ``path`` replaced (``value=DELETE`` removes the key)."""
    cfg = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = cfg
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return cfg


DELETE = object()

# (config, key the message must name, text of the allowed values the message must contain)
BAD_CONFIGS = [
    (bad("figurez", True), "'figurez' is not allowed", "allowed keys here: book, families, figures, ledger"),
    (bad("families.regularising_flow", {"sweep": {"N": [2]}}), "families.regularising_flow", "schatten"),
    (bad("families.schatten.sweep.field", ["real", "quaternion"]), "families.schatten.sweep.field[1]", '"complex"'),
    (bad("families.schatten.fixed.N", 1), "families.schatten.fixed.N", "integer >= 2 <= 1024"),
    (bad("families.schatten.fixed.N", 2.5), "families.schatten.fixed.N", "integer >= 2"),
    (bad("families.schatten.sweep.p", [0.0, 1.0]), "families.schatten.sweep.p[0]", "number > 0"),
    (bad("families.schatten.sweep.p", []), "families.schatten.sweep.p", "at least 1 item(s)"),
    (bad("families.schatten.sweep.p", [1.0, 1.0]), "families.schatten.sweep.p", "no duplicates"),
    (bad("families.schatten.sweep.p", 1.5), "families.schatten.sweep.p", "a list of number"),
    (bad("families.schatten.sweep.q", [1]), "'families.schatten.sweep.q' is not allowed", "field, objective, p"),
    (bad("families", DELETE), "<top level>", "'families' is a required property"),
    (bad("figures", "yes"), "'figures'", "boolean"),
    (bad("families.schatten.sweep", {}), "families.schatten.sweep", "a mapping with keys"),
    (bad("families.schatten.fixed.n_seeds", 0), "families.schatten.fixed.n_seeds", "integer >= 1"),
    (bad("families.schatten.fixed.n_restarts", "many"), "families.schatten.fixed.n_restarts", "integer >= 1"),
    (bad("families.schatten.sweep", DELETE), "families.schatten", "'sweep' is a required property"),
]


@pytest.mark.parametrize(("cfg", "key", "allowed"), BAD_CONFIGS, ids=[b[1] for b in BAD_CONFIGS])
def test_bad_config_rejected_naming_key_and_allowed(cfg, key, allowed):
    with pytest.raises(dlnwf.ConfigError) as info:
        dlnwf.validate_config(cfg)
    msg = str(info.value)
    assert key in msg, msg
    assert allowed in msg, msg


def test_parameter_in_both_sweep_and_fixed_rejected():
    cfg = bad("families.schatten.fixed.p", 1.0)
    dlnwf.validate_config(cfg)  # the schema cannot see it ...
    with pytest.raises(dlnwf.ConfigError, match=r"families.schatten': parameter\(s\) \['p'\] appear in both"):
        dlnwf.expand_jobs("schatten", cfg["families"]["schatten"])  # ... the expansion does


def test_base_and_shipped_configs_are_valid():
    dlnwf.validate_config(BASE)
    for name in ("config.yaml", "ci.yaml"):
        cfg = yaml.safe_load((ROOT / "config" / name).read_text())
        assert dlnwf.config_errors(cfg) == [], name


def test_expand_jobs_cartesian_product_with_defaults():
    jobs = dlnwf.expand_jobs(
        "schatten",
        {"sweep": {"p": [1, 2.5], "field": ["real", "complex"]}, "fixed": {"N": 4}},
        defaults={"N": 3, "d": 3, "p": 1.0, "field": "real"},
    )
    assert list(jobs) == ["p=1.0,field=real", "p=1.0,field=complex", "p=2.5,field=real", "p=2.5,field=complex"]
    assert jobs["p=2.5,field=complex"] == {"N": 4, "d": 3, "p": 2.5, "field": "complex"}
    assert isinstance(jobs["p=1.0,field=real"]["p"], float)  # "number" parameters are floats
    with pytest.raises(dlnwf.ConfigError, match="allowed: N, d"):
        dlnwf.expand_jobs("schatten", {"sweep": {"p": [1.0]}}, defaults={"N": 3, "d": 3})


def test_schema_file_is_generated_and_current():
    assert make_schema.main(["--check"]) == 0, "run python workflow/schemas/make_schema.py"


def test_every_key_has_description_and_type():
    schema = dlnwf.load_schema()

    def walk(node, path):
        if isinstance(node, dict) and "type" in node and path and not path.endswith("items"):
            assert node.get("description"), f"{path} has no description"
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)

    walk(schema["properties"], "")
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("family", dlnwf.FAMILIES)
def test_family_schema_matches_module_and_configs(family):
    """Each family: a rules file, a module whose DEFAULT_PARAMS keys equal the schema's params,
    and both shipped configs run it."""
    assert (ROOT / "workflow" / "rules" / f"{family}.smk").exists()
    mod = importlib.import_module(f"dln.experiments.{family}")
    assert family in make_schema.FAMILY_PARAMS, f"add {family} to workflow/schemas/make_schema.py"
    assert sorted(make_schema.param_names(family)) == sorted(mod.DEFAULT_PARAMS)
    sweep_keys = getattr(mod, "SWEEP_KEYS", getattr(mod, "_SCALARS", None))
    if sweep_keys is not None:
        assert sorted(make_schema.FAMILY_PARAMS[family].get("sweep", [])) == sorted(sweep_keys)
    for name in ("config.yaml", "ci.yaml"):
        cfg = yaml.safe_load((ROOT / "config" / name).read_text())
        assert family in cfg["families"], f"config/{name} has no sweep for {family}"


def test_snakemake_rejects_bad_config_before_any_job(tmp_path):
    require_tool("snakemake")
    repo = copy_repo(tmp_path / "repo")
    (repo / "config" / "bad.yaml").write_text(yaml.safe_dump(bad("families.schatten.sweep.field", ["quaternion"])))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "-n", "--configfile", "config/bad.yaml"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config key 'families.schatten.sweep.field[0]'" in out and '"real", "complex"' in out, out
    assert not (repo / "results").exists() or not any((repo / "results").iterdir())
