"""The theorem ledger (issue 4): registry completeness and metadata, status logic, dataset hooks, write_ledger.

The status-logic and writer tests use synthetic registries (monkeypatched), so they do not depend
on the entries other modules register. ``test_every_expected_id_is_registered`` is intentionally
strict: it fails until every catalogue ID of THEOREMS.md has an entry.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

import dln.checks as checks
from dln.checks import _registry as reg
from dln.checks import ledger
from dln.tolerances import TOL

# --------------------------------------------------------------------------------------------
# the real registry
# --------------------------------------------------------------------------------------------


def test_expected_ids_are_the_32_of_issue_4():
    assert len(checks.EXPECTED_IDS) == 32
    assert len(set(checks.EXPECTED_IDS)) == 32
    for cid in ("LM-Cons", "LM-(2.31)", "NUM-proj", "MY-complex", "CKM-concavity", "LM-p1"):
        assert cid in checks.EXPECTED_IDS


def test_every_expected_id_is_registered():
    missing = checks.missing_ids()
    assert not missing, f"catalogue IDs without a ledger entry: {missing}"


def test_every_entry_has_its_metadata():
    assert checks.CHECKS, "no ledger entries registered"
    for cid, c in checks.CHECKS.items():
        assert c.id == cid
        for name in ("statement", "source", "measures"):
            assert isinstance(getattr(c, name), str) and getattr(c, name).strip(), (cid, name)
        assert c.tolerance in TOL, (cid, c.tolerance)
        assert c.tolerance_value > 0 and len(c.tolerance_reason) > 20, cid
        if c.erratum:
            assert c.printed_statement.strip(), cid
        json.dumps(c.params)  # parameters are plain data


def test_extra_entries_have_new_ids():
    extras = [cid for cid in checks.CHECKS if cid not in checks.EXPECTED_IDS]
    from dln.checks import _extra

    for cid in _extra.EXTRA_IDS:
        assert cid in extras and cid not in checks.EXPECTED_IDS


# --------------------------------------------------------------------------------------------
# status logic on synthetic checks
# --------------------------------------------------------------------------------------------


def make(fn, erratum=False, tolerance="identity", **kw):
    return reg.Check(
        id="T",
        statement="s",
        source="src",
        measures="m",
        tolerance=tolerance,
        fn=fn,
        erratum=erratum,
        printed_statement="printed" if erratum else "",
        **kw,
    )


@pytest.mark.parametrize(
    "outcome,erratum,status",
    [
        (reg.Outcome(1e-14, True), False, "pass"),
        (reg.Outcome(1e-3, False), False, "fail"),
        (reg.Outcome(1e-14), False, "pass"),  # passed=None: |measured| <= tolerance decides
        (reg.Outcome(-1e-14), False, "pass"),
        (reg.Outcome(1e-3), False, "fail"),
        (reg.Outcome(float("nan")), False, "fail"),
        (reg.Outcome(float("nan"), True), False, "fail"),
        (reg.Outcome(1e-14, True, printed=0.7), True, "erratum"),
        (reg.Outcome(1e-14, printed=0.7), True, "erratum"),
        (reg.Outcome(1e-14, True, printed=1e-15), True, "fail"),  # the printed statement holds after all
        (reg.Outcome(1e-14, True, printed=None), True, "fail"),  # erratum without the printed number
        (reg.Outcome(0.5, False, printed=0.7), True, "fail"),  # the corrected statement fails too
    ],
)
def test_status_logic(outcome, erratum, status):
    check = make(lambda p: outcome, erratum=erratum)
    res = reg.run_check(check)
    assert res.status == status
    assert res.data_source == "direct"
    if erratum and outcome.printed is not None:
        assert res.printed == pytest.approx(outcome.printed)


def test_crashing_check_fails_with_its_error():
    def boom(p):
        raise RuntimeError("exploded")

    res = reg.run_check(make(boom))
    assert res.status == "fail" and math.isnan(res.measured) and "exploded" in res.error


def test_non_outcome_return_fails():
    res = reg.run_check(make(lambda p: 0.0))
    assert res.status == "fail" and "Outcome" in res.error


def test_params_are_merged_and_values_cleaned():
    seen = {}

    def fn(p):
        seen.update(p)
        return reg.Outcome(0.0, True, values={"n": np.int64(3), "x": np.float64(0.5), "v": np.arange(2)})

    res = reg.run_check(make(fn, params={"a": 1, "b": 2}), params={"b": 5})
    assert seen == {"a": 1, "b": 5} and res.params == {"a": 1, "b": 5}
    assert res.values == {"n": 3, "x": 0.5, "v": [0, 1]} and isinstance(res.values["n"], int)
    json.dumps(res.to_dict())


def test_dataset_hook_and_fallback():
    calls = []

    def direct(p):
        calls.append("direct")
        return reg.Outcome(1e-14, True)

    def hook(datasets):
        calls.append("dataset")
        if "fam" not in datasets:
            raise KeyError("fam")
        return reg.Outcome(2e-14, True), "fam.nc (all seeds)"

    check = make(direct, from_dataset=hook)
    assert reg.run_check(check).data_source == "direct" and calls == ["direct"]
    calls.clear()
    res = reg.run_check(check, datasets={"fam": "x.nc"})
    assert calls == ["dataset"] and res.data_source == "dataset: fam.nc (all seeds)" and res.measured == 2e-14
    calls.clear()
    res = reg.run_check(check, datasets={})
    assert calls == ["dataset", "direct"] and res.status == "pass"
    assert res.data_source.startswith("direct (dataset unavailable: KeyError")


def test_register_validates(monkeypatch):
    monkeypatch.setattr(reg, "CHECKS", {})
    with pytest.raises(KeyError, match="unknown tolerance"):
        reg.register("X", statement="s", source="s", measures="m", tolerance="nope")
    with pytest.raises(ValueError, match="statement"):
        reg.register("X", statement=" ", source="s", measures="m", tolerance="identity")
    with pytest.raises(ValueError, match="printed_statement"):
        reg.register("X", statement="s", source="s", measures="m", tolerance="identity", erratum=True)
    deco = reg.register("X", statement="s", source="s", measures="m", tolerance="identity")
    deco(lambda p: reg.Outcome(0.0, True))
    with pytest.raises(KeyError, match="twice"):
        reg.register("X", statement="s", source="s", measures="m", tolerance="identity")(lambda p: None)


def _synthetic(monkeypatch, expected=("A", "B", "C"), fail=False, missing=False):
    """A registry of quick synthetic checks A (pass), B (erratum), C (pass or fail), with a dataset hook on A."""
    monkeypatch.setattr(reg, "CHECKS", {})
    monkeypatch.setattr(reg, "EXPECTED_IDS", tuple(expected))

    def hook(datasets):
        from dln.experiments._conventions import read_netcdf

        ds = read_netcdf(datasets["fam"])
        return reg.Outcome(float(ds["err"].max()), None), datasets["fam"]

    reg.register("A", statement="a", source="sa", measures="ma", tolerance="identity", from_dataset=hook)(
        lambda p: reg.Outcome(1e-15, True)
    )
    reg.register(
        "B", statement="b", source="sb", measures="mb", tolerance="identity", erratum=True, printed_statement="pb"
    )(lambda p: reg.Outcome(1e-15, True, printed=0.5))
    if not missing:
        reg.register("C", statement="c", source="sc", measures="mc", tolerance="identity")(
            lambda p: reg.Outcome(1.0 if fail else 0.0, None)
        )
    reg.register("EXTRA-1", statement="e", source="se", measures="me", tolerance="optimizer")(
        lambda p: reg.Outcome(0.0, True)
    )


def test_run_checks_orders_expected_first_and_rejects_unknown(monkeypatch):
    _synthetic(monkeypatch, expected=("C", "A", "B"))
    assert [r.id for r in reg.run_checks()] == ["C", "A", "B", "EXTRA-1"]
    with pytest.raises(ValueError, match="unknown check"):
        reg.run_checks(["nope"])


# --------------------------------------------------------------------------------------------
# write_ledger on a synthetic registry
# --------------------------------------------------------------------------------------------


def _dataset(tmp_path, err=1e-14):
    from dln.experiments._conventions import finalize, write_netcdf

    ds = xr.Dataset({"err": (("seed",), np.array([err, err / 2]), {"long_name": "error", "units": "1"})})
    ds = finalize(ds, title="t", summary="s", references=["LM"])
    return write_netcdf(ds, tmp_path / "fam.nc")


def test_write_ledger_json_and_netcdf(monkeypatch, tmp_path):
    from dln.experiments._conventions import check_metadata, read_netcdf

    _synthetic(monkeypatch, missing=True)
    path = _dataset(tmp_path)
    rows = ledger.write_ledger(tmp_path / "ledger.json", tmp_path / "ledger.nc", datasets={"fam": path})
    on_disk = json.loads((tmp_path / "ledger.json").read_text())
    assert on_disk == rows
    by_id = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == ["A", "B", "C", "EXTRA-1"]
    for r in rows:
        assert set(r) == set(ledger.ROW_FIELDS)
    assert by_id["A"]["status"] == "pass" and by_id["A"]["data_source"].startswith("dataset")
    assert by_id["B"]["status"] == "erratum" and by_id["B"]["printed"] == 0.5
    assert by_id["C"]["status"] == "fail" and "no registered ledger entry" in by_id["C"]["error"]
    assert by_id["C"]["measured"] is None  # JSON: missing numbers are null, never NaN
    check_metadata(ledger.ledger_dataset(rows))  # CF metadata; missing numbers are the _FillValue on disk
    ds = read_netcdf(tmp_path / "ledger.nc")
    assert list(ds["check_id"].values) == ["A", "B", "C", "EXTRA-1"]
    assert list(ds["status"].values) == ["pass", "erratum", "fail", "pass"]
    assert list(ds["status_flag"].values) == [0, 1, 2, 0]
    assert ds["status_flag"].attrs["flag_meanings"] == "pass erratum fail"
    assert np.isnan(ds["measured"].values[2]) and np.isnan(ds["printed"].values[0])
    assert json.loads(str(ds["values"].values[0])) == {}


def test_write_ledger_falls_back_when_dataset_missing(monkeypatch, tmp_path):
    _synthetic(monkeypatch)
    rows = ledger.write_ledger(
        tmp_path / "l.json", tmp_path / "l.nc", datasets={"fam": str(tmp_path / "does_not_exist.nc")}
    )
    a = next(r for r in rows if r["id"] == "A")
    assert a["status"] == "pass"
    assert a["data_source"].startswith("direct (dataset unavailable") and "does not exist" in a["data_source"]
    rows = ledger.write_ledger(tmp_path / "l.json", tmp_path / "l.nc")
    assert all(r["data_source"] == "direct" for r in rows)


def test_dataset_value_decides(monkeypatch, tmp_path):
    _synthetic(monkeypatch)
    path = _dataset(tmp_path, err=1e-3)  # the dataset shows a violation: the entry fails
    rows = ledger.write_ledger(tmp_path / "l.json", tmp_path / "l.nc", datasets={"fam": path})
    assert next(r for r in rows if r["id"] == "A")["status"] == "fail"


def test_ledger_netcdf_passes_cf_checker(monkeypatch, tmp_path):
    from conftest import CF_VERSION_ERROR, cf_check

    _synthetic(monkeypatch, missing=True)
    ledger.write_ledger(tmp_path / "l.json", tmp_path / "ledger.nc", datasets={"fam": _dataset(tmp_path)})
    errors = cf_check([tmp_path / "ledger.nc"])
    bad = [e for errs in errors.values() for e in errs if e != CF_VERSION_ERROR]
    assert not bad, bad


def test_summarize():
    rows = [{"id": "a", "status": "pass"}, {"id": "b", "status": "fail"}, {"id": "c", "status": "erratum"}]
    assert ledger.summarize(rows) == {"counts": {"pass": 1, "erratum": 1, "fail": 1}, "failed": ["b"], "total": 3}


# --------------------------------------------------------------------------------------------
# everything, for real
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_all_checks_pass_or_erratum(tmp_path):
    rows = ledger.write_ledger(tmp_path / "ledger.json", tmp_path / "ledger.nc")
    failed = {r["id"]: (r["measured"], r["tolerance"], r["error"][:300]) for r in rows if r["status"] == "fail"}
    assert not failed, failed
    assert {r["id"] for r in rows} >= set(checks.EXPECTED_IDS)
