"""The workflow config schema (workflow/schemas/config.schema.yaml): bad configs are rejected
before any job runs, with a message naming the key and the allowed values."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_repo, require_tool

from dln import workflow as dlnwf
from dln.experiments import FAMILIES

sys.path.insert(0, str(ROOT / "workflow" / "schemas"))
import make_schema  # noqa: E402

#: The families a configuration sweeps (every family but those every configuration runs).
SWEPT = [f for f in dlnwf.families(dlnwf.load_schema()) if f not in dlnwf.ALWAYS]

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


def bad(path: str, value, base: dict | None = None) -> dict:
    """``base`` (default BASE) with the value at a dotted ``path`` replaced (``value=DELETE`` removes the key)."""
    cfg = copy.deepcopy(BASE if base is None else base)
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
    # YAML 1.1 (PyYAML, Snakemake) reads 1e-3 as a string: the message says how to write the number
    (bad("families.schatten.sweep.p", ["1e-3"]), "families.schatten.sweep.p[0]", "as a string: write 0.001"),
    (bad("families.schatten.fixed.p", "2E5"), "families.schatten.fixed.p", "as a string: write 200000.0"),
    (bad("families.schatten.fixed.N", "1e1"), "families.schatten.fixed.N", "as a string: write 10"),
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


#: A configuration of three families for the checks of size and sense (dlnwf.check_config).
SENSE_BASE = {
    "families": {
        "schatten": copy.deepcopy(BASE["families"]["schatten"]),
        "langevin": {
            "sweep": {"kappa": [1.0]},
            "fixed": {"N": 3, "d": 2, "T": 1.0, "dt": 0.01, "n_paths": 100, "n_save": 5},
        },
        "fast_slow": {
            "sweep": {"kappa": [1.0]},
            "fixed": {"N": 3, "d": 2, "imbalance_min": 0.1, "imbalance_max": 1.0, "n_imbalance": 3},
        },
    },
    "figures": True,
    "ledger": True,
    "book": False,
}


def sense(path: str, value) -> dict:
    """SENSE_BASE with the value at a dotted ``path`` replaced."""
    return bad(path, value, SENSE_BASE)


NAN, INF = float("nan"), float("inf")
HUGE = {"N": 1024, "d": 16}

# (config, key the message must name, text the message must contain): every one rejected before any job
CHECKED_CONFIGS = [
    *BAD_CONFIGS,
    (sense("families.schatten.fixed.N", "three"), "families.schatten.fixed.N", "integer >= 2"),
    (sense("families.schatten.fixed.N", True), "families.schatten.fixed.N", "not of type 'integer'"),
    (sense("families.schatten.fixed.d", 0), "families.schatten.fixed.d", "integer >= 1 <= 16"),
    (sense("families.schatten.fixed.d", 17), "families.schatten.fixed.d", "integer >= 1 <= 16"),
    (sense("families.schatten.sweep.field", "real"), "families.schatten.sweep.field", "a list of one of"),
    (sense("families.schatten.sweep.objective", ["nope"]), "families.schatten.sweep.objective[0]", '"norms"'),
    (sense("families.schatten", []), "families.schatten", "a mapping with keys chunk, fixed, sweep"),
    (sense("families", []), "'families'", "a mapping with keys"),
    (sense("ledger", 1), "'ledger'", "boolean"),
    (sense("book", "no"), "'book'", "boolean"),
    (sense("families.schatten.fixed", [1]), "families.schatten.fixed", "a mapping with keys"),
    (sense("families.schatten.extra", {}), "families.schatten.extra", "allowed keys here: chunk, fixed, sweep"),
    (sense("families.schatten.sweep.p", [-1.0]), "families.schatten.sweep.p[0]", "number > 0"),
    (sense("families.schatten.sweep.p", ["1.0"]), "families.schatten.sweep.p[0]", "not of type 'number'"),
    (sense("families.schatten.fixed.n_restarts", 1001), "families.schatten.fixed.n_restarts", "<= 1000"),
    (sense("families.schatten.sweep.N", [2, 2.5]), "families.schatten.sweep.N[1]", "integer"),
    (sense("families.langevin.fixed.zeta", 1.0), "families.langevin.fixed.zeta", "allowed keys here: N, T"),
    (sense("families.langevin.sweep.loss", ["cubic"]), "families.langevin.sweep.loss[0]", '"quadratic"'),
    (sense("families.fast_slow.fixed.mask_density", 1.5), "families.fast_slow.fixed.mask_density", "<= 1"),
    (sense("families.langevin.fixed.dt", 0.0), "families.langevin.fixed.dt", "number > 0"),
    (sense("families.fast_slow.fixed.n_imbalance", 0), "families.fast_slow.fixed.n_imbalance", "integer >= 1"),
    (sense("families.langevin.fixed.n_paths", 0), "families.langevin.fixed.n_paths", "integer >= 1"),
    (sense("families.fast_slow.sweep.loss", ["hinge"]), "families.fast_slow.sweep.loss[0]", '"completion"'),
    (sense("families.langevin.fixed.kappa", 1.0), "families.langevin", "both 'sweep' and 'fixed'"),
    (sense("families.fast_slow.fixed.rtol", 0.5), "families.fast_slow.fixed.rtol", "<= 0.1"),
    (sense("families.langevin.fixed.n_save", 2), "families.langevin.fixed.n_save", "integer >= 3"),
    (sense("families.schatten.sweep.p", [1e9]), "families.schatten.sweep.p[0]", "<= 1000"),
    # NaN and infinities, wherever they stand
    (sense("families.langevin.fixed.T", NAN), "families.langevin.fixed.T", "nan is not a finite number"),
    (sense("families.schatten.sweep.p", [1.0, NAN]), "families.schatten.sweep.p[1]", "not a finite number"),
    (sense("families.langevin.fixed.T", INF), "families.langevin.fixed.T", "not a finite number"),
    (sense("families.langevin.fixed.beta", -INF), "families.langevin.fixed.beta", "not a finite number"),
    (sense("families.fast_slow.fixed.imbalance_max", NAN), "families.fast_slow.fixed.imbalance_max", "finite"),
    # sizes: jobs per family, jobs in total, memory of one job
    (
        sense("families.schatten.sweep.p", [0.01 * (i + 1) for i in range(2001)]),
        "families.schatten.sweep",
        "is 4,002, above the limit 2,000 (set DLN_MAX_JOBS_PER_FAMILY",
    ),
    (
        sense(
            "families",
            {
                f: {"sweep": {("p" if f == "schatten" else "kappa"): [0.1 * (i + 1) for i in range(1800)]}, "fixed": {}}
                for f in ("schatten", "langevin", "fast_slow")
            },
        ),
        "'families'",
        "all families together is 5,401, above the limit 5,000 (set DLN_MAX_JOBS",
    ),
    (
        sense("families.langevin.fixed", {**HUGE, "T": 1.0, "dt": 0.01, "n_paths": 10_000_000, "n_save": 5}),
        "families.langevin.fixed.n_paths",
        "estimated memory of one job's largest arrays (GB) is 41,943, above the limit 8",
    ),
    (
        sense("families.schatten.fixed", {**HUGE, "n_seeds": 10000, "n_restarts": 2}),
        "families.schatten.fixed.n_seeds",
        "DLN_MAX_JOB_MEMORY_GB",
    ),
    (
        sense("families.langevin.fixed", {**HUGE, "T": 1.0, "dt": 0.01, "n_paths": 1_000_000, "n_save": 5}),
        "families.langevin.fixed.n_paths",
        "above the limit 8",
    ),
    # rules between parameters of one job
    (sense("families.langevin.fixed.T", 0.001), "families.langevin.fixed.dt", "break the rule dt < T"),
    (
        sense("families.langevin.fixed.n_save", 1000),
        "families.langevin.fixed.n_save",
        "break the rule round(T / dt) >= 2 * (n_save - 1)",
    ),
    (
        sense(
            "families.langevin",
            {"sweep": {"kappa": [1.0], "dt": [0.001, 0.5]}, "fixed": {"N": 3, "d": 2, "T": 0.1, "n_save": 5}},
        ),
        "families.langevin.sweep.dt",
        "break the rule dt < T (job kappa=1.0+dt=0.5)",
    ),
    (
        sense("families.fast_slow.fixed.imbalance_min", 2.0),
        "families.fast_slow.fixed.imbalance_min",
        "break the rule imbalance_min <= imbalance_max",
    ),
    (
        sense("families.fast_slow.fixed.imbalance_max", 0.1),
        "families.fast_slow.fixed.imbalance_min",
        "break the rule n_imbalance == 1 or imbalance_min < imbalance_max",
    ),
]


@pytest.mark.parametrize(
    ("cfg", "key", "text"), CHECKED_CONFIGS, ids=[f"{i}-{c[1]}" for i, c in enumerate(CHECKED_CONFIGS)]
)
def test_bad_config_rejected_before_any_job_naming_the_key(cfg, key, text):
    """The whole check the workflow runs at parse time, before any job (dlnwf.check_config): schema (the
    BAD_CONFIGS, with the allowed values), finite numbers, sizes, memory, rules between parameters. Every
    message names the key."""
    with pytest.raises(dlnwf.ConfigError) as info:
        dlnwf.check_config(cfg)
    msg = str(info.value)
    assert key in msg, msg
    assert text in msg, msg


@pytest.mark.parametrize(
    "path,value",
    [
        ("figures", "1e3"),
        ("families.schatten.sweep.p", "1e-3"),
        ("families.schatten.fixed.N", "2.5e0"),
        ("families.schatten.fixed.p", "1e400"),
    ],
)
def test_no_number_hint_where_it_would_not_help(path, value):
    """The hint for a number YAML 1.1 left a string is given only where a number is expected (not for a boolean
    or a list), only when it is a valid value of that type (not 2.5 for an integer) and finite."""
    (msg,) = dlnwf.config_errors(bad(path, value))
    assert "YAML reads" not in msg, msg


def test_corpus_is_large_and_the_base_configs_pass():
    assert len(CHECKED_CONFIGS) >= 50
    jobs = dlnwf.check_config(copy.deepcopy(SENSE_BASE))
    assert {f: len(j) for f, j in jobs.items()} == {"schatten": 4, "langevin": 1, "fast_slow": 1, "lm_figures": 1}


def test_limits_are_overridable_on_purpose(monkeypatch):
    cfg = sense("families.schatten.sweep.p", [0.01 * (i + 1) for i in range(2001)])
    monkeypatch.setenv("DLN_MAX_JOBS_PER_FAMILY", "5000")
    assert len(dlnwf.check_config(cfg)["schatten"]) == 4002
    monkeypatch.setenv("DLN_MAX_JOBS_PER_FAMILY", "many")
    with pytest.raises(dlnwf.ConfigError, match="DLN_MAX_JOBS_PER_FAMILY='many' is not a number"):
        dlnwf.check_config(cfg)


def test_job_memory_estimate():
    # an ensemble of 10^6 complex layer tuples of N = 8 layers of 16 x 16: 16 bytes x 8 x 256 x 10^6
    assert dlnwf.job_memory_bytes({"N": 8, "d": 16, "n_paths": 10**6}) == pytest.approx(16 * 8 * 256 * 1e6)
    # saved trajectories: n_t times per seed
    assert dlnwf.job_memory_bytes({"N": 2, "d": 2, "n_t": 100, "n_seeds": 3}) == pytest.approx(16 * 8 * 100 * 3)


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
    assert list(jobs) == ["p=1.0+field=real", "p=1.0+field=complex", "p=2.5+field=real", "p=2.5+field=complex"]
    assert jobs["p=2.5+field=complex"] == {"N": 4, "d": 3, "p": 2.5, "field": "complex"}
    assert isinstance(jobs["p=1.0+field=real"]["p"], float)  # "number" parameters are floats
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


def test_schema_has_every_family_in_book_order():
    assert dlnwf.families(dlnwf.load_schema()) == list(FAMILIES)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_schema_is_rendered_from_its_spec(family):
    """Each family's schema node holds exactly its spec: the parameters (fixed), the sweepable ones (sweep),
    the defaults and rules the workflow reads while it parses; both shipped configs run every swept family."""
    schema = dlnwf.load_schema(check=True)
    node = dlnwf.family_node(schema, family)
    spec = FAMILIES[family].spec
    assert list(node["properties"]["fixed"]["properties"]) == list(spec.names)
    assert list(node["properties"]["sweep"]["properties"]) == list(spec.sweep_keys)
    assert dlnwf.family_defaults(schema, family) == spec.defaults
    assert node.get(dlnwf.X_RULES, []) == list(spec.rules)
    assert not (ROOT / "workflow" / "rules" / f"{family}.smk").exists(), "families.smk has every family's rules"
    if family in dlnwf.ALWAYS:
        return
    for name in ("config.yaml", "ci.yaml"):
        cfg = yaml.safe_load((ROOT / "config" / name).read_text())
        assert family in cfg["families"], f"config/{name} has no sweep for {family}"


def test_a_changed_spec_makes_the_schema_stale(tmp_path, monkeypatch):
    """load_schema(check=True) compares each family's spec digest with the one rendered into the schema."""
    schema = dlnwf.load_schema()
    node = dlnwf.family_node(schema, "schatten")
    node[dlnwf.X_SPEC_HASH] = "0" * 64
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(schema))
    with pytest.raises(dlnwf.ConfigError, match=r"stale: the parameters of schatten changed.*make_schema.py"):
        dlnwf.load_schema(path, check=True)


def test_integer_and_number_values_are_normalized_to_their_type():
    """`N: 3.0` is the job of `N: 3` (JSON schema counts 3.0 as an integer) and `p: 1` the job of `p: 1.0`."""
    a = dlnwf.check_config(bad("families.schatten.fixed.N", 3.0))["schatten"]
    b = dlnwf.check_config(bad("families.schatten.fixed.N", 3))["schatten"]
    assert a == b and all(type(p["N"]) is int for p in a.values())
    c = dlnwf.check_config(bad("families.schatten.sweep.p", [1, 2]))["schatten"]
    assert list(c) == list(b) and all(type(p["p"]) is float for p in c.values())
    assert FAMILIES["schatten"].resolve({"N": 3.0}) == FAMILIES["schatten"].resolve({"N": 3})


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


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (
            "families:\n  fibers:\n    sweep: {field: [real, complex]\n    fixed:\n      d: 3\n",
            "line 4, column 5",
            "flow mapping",
        ),
        ("families:\n\tfibers: {}\n", "line 2, column 1", "'\\t'"),
        ("families: [a, b\n", "line 2, column 1", "flow sequence"),
        ("families:\n  fibers:\n    sweep: 'x\n", "line 4, column 1", "quoted scalar"),
        ("- just\n- a list\n", "", "must be a mapping"),
    ],
)
def test_yaml_errors_name_file_line_and_column(tmp_path, text, where, what):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    msg = dlnwf.yaml_error(path)
    assert msg is not None and str(path) in msg and where in msg and what in msg, msg
    proc = subprocess.run(
        [sys.executable, "-m", "dln.workflow", "check-yaml", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and msg in proc.stderr


def test_shipped_config_files_parse():
    for path in sorted((ROOT / "config").glob("*.yaml")):
        assert dlnwf.yaml_error(path) is None, path
