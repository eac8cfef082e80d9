"""``dln repro compare``: a run against a committed reference, each value within its named tolerance.

Synthetic runs (a small ledger, book numbers and two netCDF files in a temporary folder) exercise the rules:
a reference compared with itself moves nothing; a value perturbed beyond its tolerance fails and one perturbed
below it does not; a missing value and a changed status fail; ``--update`` round-trips and writes the same
bytes twice; bad input exits 2 naming the file. The real CI run is compared with ``reference/ci.json`` where
one is at hand (the repository's own current run, or the CI configuration's run under ``slow``).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dln import cli, repro
from dln.tolerances import TOL

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "ci.json"


def _item(name, value, enforced=True, relation="le", tolerance_name="identity", tolerance=1e-10, **extra):
    it = {"name": name, "value": value, "definition": f"definition of {name}", "enforced": enforced}
    if enforced:
        it.update(relation=relation, tolerance_name=tolerance_name, tolerance=tolerance, target=None, holds=True)
    if extra:
        it["extra"] = extra
    return it


LEDGER = [
    {
        "id": "LM-A",
        "status": "pass",
        "stochastic": False,
        "family": "fibers",
        "items": [
            _item("residual", 3.0e-15),
            _item("rank", 3, relation="eq", tolerance_name="exact", tolerance=0.0),
            _item("slope", 0.0025, enforced=False),
            _item("tiny", 1.0e-9, enforced=False),
        ],
        "printed": _item("printed", 0.4426126520636412, relation="gt"),
        "seconds": 0.25,
    },
    {
        "id": "LM-B",
        "status": "erratum",
        "stochastic": True,
        "family": "langevin",
        "items": [
            _item(
                "max_z",
                1.25,
                relation="z",
                tolerance_name="ledger_false_fail",
                tolerance=3.86,
                m=12,
                z_threshold=3.86,
                max_z_mean=1.25,
                detectable_rel_min=2e-17,
            ),
            _item(
                "order",
                1.024,
                relation="dev",
                tolerance_name="order_band",
                tolerance=0.2,
                se=0.01,
                false_fail_probability=1e-20,
            ),
            _item("ess_min", 4991.5, enforced=False),
        ],
        "printed": None,
        "seconds": 1.5,
    },
]

NUMBERS = {
    "LM_A__status": {"value": "pass", "definition": "status of LM-A", "source": "ledger:LM-A"},
    "LM_A__residual": {"value": 3.0e-15, "definition": "d", "source": "ledger:LM-A:residual"},
    "LM_B__max_z": {"value": 1.25, "definition": "d", "source": "ledger:LM-B:max_z"},
    "LM_B__max_z__detectable_rel_min": {
        "value": 2e-17,
        "definition": "d",
        "source": "ledger:LM-B:max_z:detectable_rel_min",
    },
    "ledger_n": {"value": 2, "definition": "number of claims", "source": "ledger"},
    "ledger_false_fail": {"value": 0.001, "definition": "d", "source": "tolerances"},
    "fibers__field": {"value": "complex, real", "definition": "d", "source": "dataset:fibers:field:values"},
    "prov_fibers": {"value": "Data: rule `fibers`", "definition": "provenance", "source": "dataset:fibers:attrs"},
    "figure_x": {"value": "drawn at commit `de089d8b58fb`", "definition": "provenance", "source": "dataset:x"},
}


def _write_nc(path: Path, values) -> None:
    import netCDF4

    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("t", len(values))
        nc.createVariable("x", "f8", ("t",))[:] = np.asarray(values, dtype=float)
        nc.createVariable("seconds", "f8", ("t",))[:] = np.random.default_rng().random(len(values))
        nc.history = "written by a test at a time that changes"


def _run(folder: Path, ledger=None, numbers=None, data=(1.0, 2.0)) -> dict[str, Path]:
    """A synthetic run in ``folder``: results/ledger.json, results/{a,b}.nc, numbers.json, config.yaml."""
    results = folder / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "ledger.json").write_text(json.dumps(LEDGER if ledger is None else ledger, indent=1))
    _write_nc(results / "a.nc", data)
    _write_nc(results / "b.nc", (5.0,))
    (folder / "numbers.json").write_text(json.dumps(NUMBERS if numbers is None else numbers, indent=1))
    (folder / "config.yaml").write_text("families: {}\n")
    return {"results": results, "numbers": folder / "numbers.json", "config": folder / "config.yaml"}


def _dln(capsys, paths, reference, *extra) -> tuple[int, str, str]:
    argv = ["repro", "compare", "--results", str(paths["results"]), "--numbers", str(paths["numbers"])]
    argv += ["--reference", str(reference), "--config", str(paths["config"]), *extra]
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def reference(tmp_path, capsys) -> Path:
    """A reference written by ``--update`` from the synthetic run."""
    ref = tmp_path / "reference" / "ci.json"
    rc, out, _ = _dln(capsys, _run(tmp_path / "ref"), ref, "--update")
    assert rc == 0 and ref.exists(), out
    return ref


def _summary(out: str) -> str:
    return out.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------------------ the rules


def test_reference_against_itself_moves_nothing(tmp_path, capsys, reference):
    rc, out, _ = _dln(capsys, _run(tmp_path / "run"), reference)
    assert rc == 0, out
    n = len(repro.read_reference(reference).entries)
    assert _summary(out) == f"{n} values compared, 0 out of tolerance, 0 missing, 0 new"
    assert "nothing moved" in out
    # the data differ only in the run times, which the hashes leave out
    assert "2 of 2 files the same" in out


def test_what_is_compared_and_with_which_tolerance(reference):
    ref = repro.read_reference(reference)
    e = ref.entries
    assert e["ledger:LM-A:status"] == repro.Entry("pass", "repro_exact")
    assert e["ledger:LM-A:residual"] == repro.Entry(3.0e-15, "repro_residual", 1e-10)
    assert e["ledger:LM-A:rank"].tolerance == "repro_exact"
    assert e["ledger:LM-A:slope"].tolerance == "repro_information"
    assert e["ledger:LM-A:printed"].tolerance == "repro_roundoff"
    # Monte Carlo values of a stochastic claim: z-scores in z units, band estimates in their standard errors
    assert e["ledger:LM-B:max_z"] == repro.Entry(1.25, "repro_monte_carlo", 1.0)
    assert e["ledger:LM-B:max_z:max_z_mean"] == repro.Entry(1.25, "repro_monte_carlo", 1.0)
    assert e["ledger:LM-B:order"] == repro.Entry(1.024, "repro_monte_carlo", 0.01)
    assert e["ledger:LM-B:ess_min"].tolerance == "repro_information"
    assert e["ledger:LM-B:max_z:m"].tolerance == "repro_exact"
    # a number of the book that is a ledger item takes the item's tolerance; others go by their type
    assert e["book:LM_A__residual"] == e["ledger:LM-A:residual"]
    assert e["book:LM_B__max_z"] == e["ledger:LM-B:max_z"]
    assert e["book:ledger_n"].tolerance == e["book:fibers__field"].tolerance == "repro_exact"
    assert e["book:ledger_false_fail"].tolerance == "repro_roundoff"
    # run times are not compared; provenance and commit hashes are skipped, with the reason
    assert not any("seconds" in k for k in e)
    assert set(ref.skipped) == {"book:prov_fibers", "book:figure_x"}
    assert set(ref.hashes) == {"a.nc", "b.nc"}
    for name in {x.tolerance for x in e.values()}:
        assert name in TOL and TOL[name].reason, name


def _perturbed_ledger(cid: str, item: str, delta: float) -> list[dict]:
    rows = copy.deepcopy(LEDGER)
    row = next(r for r in rows if r["id"] == cid)
    it = next(i for i in row["items"] if i["name"] == item)
    it["value"] += delta
    return rows


@pytest.mark.parametrize(
    ("cid", "item"),
    [("LM-A", "residual"), ("LM-A", "slope"), ("LM-A", "tiny"), ("LM-B", "max_z"), ("LM-B", "order")],
)
@pytest.mark.parametrize("factor", [2.0, 0.5])
def test_a_perturbation_beyond_its_tolerance_fails_and_one_below_does_not(
    tmp_path, capsys, reference, cid, item, factor
):
    entry = repro.read_reference(reference).entries[f"ledger:{cid}:{item}"]
    allowed = repro.allowed_difference(entry.tolerance, entry.value, entry.value, entry.scale)
    assert allowed > 0
    rc, out, _ = _dln(capsys, _run(tmp_path / "run", ledger=_perturbed_ledger(cid, item, factor * allowed)), reference)
    line = next(x for x in out.splitlines() if x.startswith(f"ledger:{cid}:{item} "))
    if factor > 1:
        assert rc == 1 and line.split()[-1] == "OUT", out
        assert " 1 out of tolerance" in _summary(out)
    else:
        assert rc == 0 and line.split()[-1] == "ok", out
        assert " 0 out of tolerance" in _summary(out)
    assert entry.tolerance in line


def test_a_missing_value_fails(tmp_path, capsys, reference):
    rows = copy.deepcopy(LEDGER)
    rows[0]["items"] = [i for i in rows[0]["items"] if i["name"] != "slope"]
    rc, out, _ = _dln(capsys, _run(tmp_path / "run", ledger=rows), reference)
    assert rc == 1
    assert _summary(out).endswith("0 out of tolerance, 1 missing, 0 new")
    assert any(x.startswith("ledger:LM-A:slope ") and x.split()[-1] == "missing" for x in out.splitlines())


def test_a_changed_status_or_string_fails(tmp_path, capsys, reference):
    rows = copy.deepcopy(LEDGER)
    rows[0]["status"] = "fail"
    numbers = copy.deepcopy(NUMBERS)
    numbers["fibers__field"]["value"] = "real"
    rc, out, _ = _dln(capsys, _run(tmp_path / "run", ledger=rows, numbers=numbers), reference)
    assert rc == 1
    assert " 2 out of tolerance" in _summary(out)
    outs = {x.split()[0] for x in out.splitlines() if x.split() and x.split()[-1] == "OUT"}
    assert outs == {"ledger:LM-A:status", "book:fibers__field"}


def test_a_new_value_is_reported_and_does_not_fail(tmp_path, capsys, reference):
    rows = copy.deepcopy(LEDGER)
    rows[0]["items"].append(_item("extra_check", 1e-16))
    rc, out, _ = _dln(capsys, _run(tmp_path / "run", ledger=rows), reference)
    assert rc == 0
    assert _summary(out).endswith("1 new")


def test_data_hashes_are_information_only(tmp_path, capsys, reference):
    rc, out, _ = _dln(capsys, _run(tmp_path / "run", data=(1.0, 2.0 + 1e-15)), reference)
    assert rc == 0, out
    assert "data differ bitwise: a.nc" in out and "1 of 2 files the same" in out


def test_json_output(tmp_path, capsys, reference):
    rc, out, _ = _dln(
        capsys, _run(tmp_path / "run", ledger=_perturbed_ledger("LM-A", "slope", 1.0)), reference, "--json"
    )
    assert rc == 1
    data = json.loads(out)
    assert data["summary"]["out_of_tolerance"] == 1 and data["summary"]["missing"] == 0
    (row,) = data["rows"]
    assert row["name"] == "ledger:LM-A:slope" and row["status"] == "OUT"
    assert row["tolerance_name"] == "repro_information" and row["difference"] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------------ --update


def test_update_round_trips_and_is_byte_deterministic(tmp_path, capsys, reference):
    first = reference.read_bytes()
    paths = _run(tmp_path / "again")
    rc, out, _ = _dln(capsys, paths, reference, "--update")
    assert rc == 0 and "0 changed, 0 added, 0 removed" in out
    assert reference.read_bytes() == first  # another run with the same values: the same bytes
    # a deliberate change: --update counts it, and the run then compares clean against the new reference
    moved = _run(tmp_path / "moved", ledger=_perturbed_ledger("LM-A", "slope", 0.5))
    rc, out, _ = _dln(capsys, moved, reference, "--update")
    assert rc == 0 and "1 changed, 0 added, 0 removed" in out
    rc, out, _ = _dln(capsys, moved, reference)
    assert rc == 0 and "nothing moved" in out
    text = reference.read_text()
    assert str(tmp_path) not in text  # no machine paths
    ref = json.loads(text)
    assert ref["header"]["format"] == repro.REFERENCE_FORMAT and ref["header"]["dln_version"]
    assert ref["header"]["config"] == "config.yaml"  # a path outside the working directory: its name only
    assert list(ref) == sorted(ref) and list(ref["entries"]) == sorted(ref["entries"])
    # floats at full precision: every value reads back to the same float
    assert ref["entries"]["ledger:LM-A:printed"]["value"] == 0.4426126520636412


def test_floats_round_trip_exactly(tmp_path):
    values = [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -2.5e-17, 0.0]
    snap = repro.Snapshot({f"book:v{i}": repro.Entry(v, "repro_roundoff") for i, v in enumerate(values)}, {}, {}, {})
    snap.header = {"format": repro.REFERENCE_FORMAT}
    repro.write_reference(snap, tmp_path / "r.json")
    back = repro.read_reference(tmp_path / "r.json")
    assert [back.entries[f"book:v{i}"].value for i in range(len(values))] == values
    assert repro.dumps_reference(back) == (tmp_path / "r.json").read_text()


# ------------------------------------------------------------------------------------------------ bad input


def test_a_missing_reference_is_bad_input(tmp_path, capsys):
    missing = tmp_path / "nowhere.json"
    rc, _, err = _dln(capsys, _run(tmp_path / "run"), missing)
    assert rc == 2 and str(missing) in err and err.startswith("dln repro compare: reference")


@pytest.mark.parametrize("which", ["ledger", "numbers"])
def test_a_missing_run_file_is_bad_input(tmp_path, capsys, reference, which):
    paths = _run(tmp_path / "run")
    path = paths["results"] / "ledger.json" if which == "ledger" else paths["numbers"]
    path.unlink()
    rc, _, err = _dln(capsys, paths, reference)
    assert rc == 2 and str(path) in err


@pytest.mark.parametrize("which", ["ledger", "numbers", "reference"])
@pytest.mark.parametrize("text", ["{not json", '{"entries": 1}', "[1, 2]"])
def test_malformed_input_is_bad_input_naming_the_file(tmp_path, capsys, reference, which, text):
    paths = _run(tmp_path / "run")
    path = {"ledger": paths["results"] / "ledger.json", "numbers": paths["numbers"], "reference": reference}[which]
    path.write_text(text)
    rc, out, err = _dln(capsys, paths, reference)
    assert rc == 2, out
    assert str(path) in err and which in err


def test_a_malformed_reference_is_not_overwritten_by_update(tmp_path, capsys, reference):
    reference.write_text("{not json")
    rc, _, err = _dln(capsys, _run(tmp_path / "run"), reference, "--update")
    assert rc == 2 and str(reference) in err
    assert reference.read_text() == "{not json"


# ------------------------------------------------------------------------------------------------ data hashes


def test_the_hash_script_prints_the_package_hashes(tmp_path):
    paths = _run(tmp_path / "run")
    script = ROOT / "workflow" / "scripts" / "hash_results.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(paths["results"]), "--ignore-var", "seconds"],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = json.loads(proc.stdout)
    assert printed == repro.hash_results(paths["results"], ignore_vars=("seconds",))
    assert set(printed) == {"a.nc", "b.nc", "total"}
    # without --ignore-var the run times are hashed too
    assert repro.hash_dataset(paths["results"] / "a.nc") != printed["a.nc"]


# ------------------------------------------------------------------------------------------------ the real run


@pytest.mark.slow
def test_the_ci_run_matches_the_reference(ci_run):
    """A fresh run of the CI configuration (the session's shared one) against the committed reference: every
    ledger value and book number within its tolerance, none missing."""
    results = ci_run["repo"] / "results"
    numbers = ci_run["repo"] / "book" / "_generated" / "numbers.json"
    run = repro.snapshot(results, numbers, config=ROOT / "config" / "ci.yaml")
    assert not run.notes, run.notes  # the run is of config/ci.yaml, as the reference
    comparison = repro.compare(repro.read_reference(REFERENCE), run)
    bad = [r for r in comparison.rows if r.status in ("OUT", "missing")]
    report = "\n".join(f"{r.name}: {r.reference!r} -> {r.run!r} ({r.tolerance_name}, {r.status})" for r in bad[:40])
    assert comparison.ok, (
        f"{comparison.summary()}; if the change is deliberate, refresh the reference (reference/README.md):\n{report}"
    )


def test_notes_on_the_configuration_and_on_changed_tolerances(tmp_path, capsys, reference):
    paths = _run(tmp_path / "run", ledger=copy.deepcopy(LEDGER))
    paths["config"].write_text("families:\n  a:\n    sweep:\n      x: [1]\n")
    rows = copy.deepcopy(LEDGER)
    rows[0]["items"][0]["tolerance"] = 1e-9  # the check's own tolerance changed
    (paths["results"] / "ledger.json").write_text(json.dumps(rows))
    rc, out, _ = _dln(capsys, paths, reference)
    assert rc == 0, out
    notes = [x for x in out.splitlines() if x.startswith("note: ")]
    assert any("a.nc was not made with the sweep of" in x for x in notes), notes
    assert any(x.startswith("note: 2 values have another tolerance") and "residual" in x for x in notes), notes
    assert any("changed since the reference was written" in x for x in notes), notes
