"""The claims registry and the ledger: metadata, evidence and status rules, datasets, writing the ledger.

Status and writer tests use synthetic registries, so they do not depend on the claims the paper modules
register. The last tests evaluate every real claim in memory (each family's LEDGER sweep).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

import dln
from dln.checks import CLAIMS, KINDS, PAPERS, STATUSES, Evidence, claim, ledger, stochastic_alpha
from dln.checks import _claims as reg
from dln.experiments import FAMILIES
from dln.experiments._conventions import finalize, write_netcdf
from dln.tolerances import TOL

# --------------------------------------------------------------------------------------------------- metadata


def test_every_claim_has_its_metadata():
    assert len(CLAIMS) >= 50
    public = set(dln.__all__)
    for cid, c in CLAIMS.items():
        assert c.id == cid and cid.split("-")[0] == c.paper and c.paper in PAPERS
        assert c.kind in KINDS and c.family in FAMILIES, cid
        for name in ("where", "statement", "fails_if"):
            assert len(getattr(c, name).strip()) > 10, (cid, name)
        assert c.implements and set(c.implements) <= public, (cid, set(c.implements) - public)
        if c.kind in ("erratum", "notation"):
            assert c.printed_statement.strip(), cid
            assert c.residual_tex.strip(), cid  # the errata page writes each residual as mathematics
        if c.kind == "finding":
            assert len(c.derivation) > 100, cid
        if c.kind == "notation":
            assert c.reading.strip(), cid


def test_no_reference_outside_the_repository():
    """Code, tests, workflow, book and README cite the papers, never a file outside the repository."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    words = ("THEOREMS" + ".md", "catalog" + "ue")
    files = [root / "README.md", root / "Snakefile", root / "pyproject.toml", root / "environment.yml"]
    for folder in ("src", "tests", "workflow", "book", "config", "benchmarks", ".ci"):
        files += [
            p
            for p in (root / folder).rglob("*")
            if p.is_file()
            and p.suffix in (".py", ".md", ".smk", ".yaml", ".yml", ".rst", ".toml", ".txt", ".cfg", "")
            and not {"_build", "_generated", "__pycache__", "dln.egg-info"} & set(p.parts)
        ]
    hits = [
        (str(p.relative_to(root)), w)
        for p in files
        if p.exists()
        for w in words
        if w.lower() in p.read_text(errors="replace").lower()
    ]
    assert not hits, hits


# --------------------------------------------------------------------------------------------- status rules


def _toy(kind="theorem", stochastic=False, **kw):
    registry = {}

    def deco(fn):
        claim(
            "T-1",
            paper="NUM",
            where="somewhere in a paper",
            statement="a statement",
            family="fibers",
            implements=("moments",),
            fails_if="something goes wrong",
            kind=kind,
            stochastic=stochastic,
            printed_statement="printed" if kind in ("erratum", "notation") else "",
            residual_tex="r" if kind in ("erratum", "notation") else "",
            derivation="derived " * 20 if kind == "finding" else "",
            reading="read" if kind == "notation" else "",
            registry=registry,
            **kw,
        )(fn)
        return registry

    return deco


def _status(reg_, ds=None):
    return reg.evaluate(reg_["T-1"], ds, "test", registry=reg_)


@pytest.mark.parametrize(
    "value,tolerance,holds",
    [(1e-15, "identity", True), (1e-3, "identity", False), (float("nan"), "identity", False), (-1.0, "identity", True)],
)
def test_require_le(value, tolerance, holds):
    ev = Evidence()
    assert ev.require("x", value, tolerance, "def") is holds
    assert ev.items[0].enforced and ev.items[0].tolerance == TOL[tolerance].value


def test_require_deviation_equality_and_information():
    ev = Evidence()
    assert ev.require("slope", 1.99, "taylor_slope", "def", target=2.0)
    assert not ev.require("slope2", 1.5, "taylor_slope", "def", target=2.0)
    assert ev.require_equal("rank", 6, 6, "def") and not ev.require_equal("rank2", 5, 6, "def")
    assert ev.require_positive("eig", 0.1, "def") and not ev.require_positive("eig2", 0.0, "def")
    ev.info("n", 3, "a count")
    assert not ev.items[-1].enforced and not ev.holds()


@pytest.mark.parametrize(
    "kind,printed,status",
    [
        ("theorem", None, "pass"),
        ("finding", None, "finding"),
        ("notation", None, "notation"),
        ("erratum", 0.5, "erratum"),
        ("erratum", 1e-15, "fail"),  # the printed statement holds after all
        ("erratum", None, "fail"),  # an erratum without its printed residual
    ],
)
def test_status_by_kind(kind, printed, status):
    def measure(ds):
        ev = Evidence()
        ev.require("x", 1e-15, "identity", "def")
        if printed is not None:
            ev.printed_residual(printed, "identity", "printed def")
        return ev

    assert _status(_toy(kind)(measure))["status"] == status


def test_failing_number_crash_and_wrong_return_fail():
    def bad(ds):
        ev = Evidence()
        ev.require("x", 1.0, "identity", "def")
        return ev

    row = _status(_toy()(bad))
    assert row["status"] == "fail" and row["measured_name"] == "x"

    def boom(ds):
        raise RuntimeError("exploded")

    row = _status(_toy()(boom))
    assert row["status"] == "fail" and "exploded" in row["error"] and row["measured"] is None
    assert _status(_toy()(lambda ds: 0.0))["status"] == "fail"
    assert _status(_toy()(lambda ds: Evidence()))["status"] == "fail"  # no enforced number: nothing was checked


def test_bonferroni_threshold_and_printed_z():
    from scipy.stats import norm

    def measure(ds):
        ev = Evidence()
        ev.ztest("a", np.array([0.5, 1.0, 2.0]), "three z-scores", se_over_pred=np.array([0.1, 0.1, 0.2]))
        ev.ztest("b", np.array([3.0]), "the max of 9", counts=np.array([9]))
        ev.printed_residual(50.0, "ledger_false_fail", "printed z")
        return ev

    registry = _toy(stochastic=True)(measure)
    row = _status(registry)
    alpha = stochastic_alpha(registry)
    assert alpha == TOL["ledger_false_fail"].value  # one stochastic claim in this registry
    z = row["items"][0]
    assert z["name"] == "max_z" and z["value"] == 3.0 and z["extra"]["m"] == 12
    assert z["tolerance"] == pytest.approx(norm.isf(alpha / 24))
    assert z["extra"]["detectable_rel_max"] == pytest.approx(0.2 * (z["tolerance"] + norm.isf(0.1)))
    assert row["status"] == "pass" and row["printed"]["tolerance"] == z["tolerance"]


def test_stochastic_alpha_splits_the_budget():
    n = sum(c.stochastic for c in CLAIMS.values())
    assert n >= 3
    assert stochastic_alpha() * n == pytest.approx(TOL["ledger_false_fail"].value)


def test_register_validates():
    registry = {}
    with pytest.raises(ValueError, match="paper"):
        claim("X", paper="ZZ", where="w", statement="s", family="f", implements=("a",), fails_if="x", registry=registry)
    with pytest.raises(ValueError, match="printed_statement"):
        claim(
            "X",
            paper="LM",
            where="w",
            statement="s",
            family="f",
            implements=("a",),
            fails_if="x",
            kind="erratum",
            registry=registry,
        )
    with pytest.raises(ValueError, match="derivation"):
        claim(
            "X",
            paper="LM",
            where="w",
            statement="s",
            family="f",
            implements=("a",),
            fails_if="x",
            kind="finding",
            registry=registry,
        )
    deco = claim(
        "X", paper="LM", where="w", statement="s", family="f", implements=("a",), fails_if="x", registry=registry
    )
    deco(lambda ds: Evidence())
    with pytest.raises(KeyError, match="twice"):
        deco(lambda ds: Evidence())


# ------------------------------------------------------------------------------------------------ datasets


def _dataset(tmp_path, family, value):
    ds = xr.Dataset({"err": (("seed",), np.array([value, value / 2]), {"long_name": "an error", "units": "1"})})
    return write_netcdf(finalize(ds, title="t", summary="s", references=["LM"]), tmp_path / f"{family}.nc")


def _file_registry():
    registry = {}

    def measure(ds):
        ev = Evidence()
        ev.require("err", float(ds["err"].max()), "identity", "max err")
        ev.cover(ds, "seed")
        return ev

    claim(
        "A-1",
        paper="LM",
        where="w",
        statement="s",
        family="fibers",
        implements=("moments",),
        fails_if="x",
        registry=registry,
    )(measure)
    claim(
        "A-2",
        paper="LM",
        where="w",
        statement="s",
        family="schatten",
        implements=("moments",),
        fails_if="x",
        registry=registry,
    )(measure)
    return registry


def test_dataset_decides_and_a_missing_one_fails_without_fallback(tmp_path):
    registry = _file_registry()
    _dataset(tmp_path, "fibers", 1e-14)
    rows = ledger.run_ledger(results=tmp_path, registry=registry)
    a, b = rows
    assert a["status"] == "pass" and a["data_source"].endswith("fibers.nc") and a["coverage"] == {"seed": [0, 1]}
    assert b["status"] == "fail" and "does not exist" in b["error"] and b["data_source"] == "none"
    _dataset(tmp_path, "fibers", 1e-3)  # the dataset shows a violation: the claim fails
    assert ledger.run_ledger(["A-1"], results=tmp_path, registry=registry)[0]["status"] == "fail"
    (tmp_path / "fibers.nc").write_bytes(b"not netcdf")
    row = ledger.run_ledger(["A-1"], results=tmp_path, registry=registry)[0]
    assert row["status"] == "fail" and "not a readable netCDF" in row["error"]


def test_unknown_id_is_an_error():
    with pytest.raises(dln.DLNError, match="unknown claim"):
        ledger.run_ledger(["NOT-A-CLAIM"])


def test_write_ledger_json_and_netcdf(monkeypatch, tmp_path):
    from conftest import CF_VERSION_ERROR, cf_check

    from dln.experiments._conventions import check_metadata, read_netcdf

    monkeypatch.setattr(reg, "CLAIMS", _file_registry())
    _dataset(tmp_path, "fibers", 1e-14)
    rows = ledger.write_ledger(tmp_path / "ledger.json", tmp_path / "ledger.nc", results=tmp_path, history="test")
    assert json.loads((tmp_path / "ledger.json").read_text()) == rows
    assert [r["status"] for r in rows] == ["pass", "fail"]
    assert rows[1]["measured"] is None  # JSON has no NaN
    for r in rows:
        assert set(r) == set(ledger.ROW_FIELDS)
    ds = read_netcdf(tmp_path / "ledger.nc")
    with xr.open_dataset(tmp_path / "ledger.nc", mask_and_scale=False) as raw:  # missing numbers: the fill value
        check_metadata(raw)
    assert list(ds["claim_id"].values) == ["A-1", "A-2"] and ds["status_flag"].attrs["flag_meanings"] == " ".join(
        STATUSES
    )
    assert math.isnan(float(ds["measured"].values[1])) and ds.attrs["history"].endswith("test")
    errors = cf_check([tmp_path / "ledger.nc"])
    assert not [e for errs in errors.values() for e in errs if e != CF_VERSION_ERROR]


def test_summarize():
    rows = [{"id": "a", "status": "pass"}, {"id": "b", "status": "fail"}, {"id": "c", "status": "finding"}]
    s = ledger.summarize(rows)
    assert s["counts"]["pass"] == 1 and s["counts"]["finding"] == 1 and s["failed"] == ["b"] and s["total"] == 3


# -------------------------------------------------------------------------------------------- the real ledger


@pytest.fixture(scope="module")
def in_memory_rows():
    return ledger.run_ledger(jobs=2)


@pytest.mark.slow
def test_every_claim_holds_in_memory(in_memory_rows):
    failed = {
        r["id"]: (r["measured_name"], r["measured"], r["tolerance"], r["error"][:500])
        for r in in_memory_rows
        if r["status"] == "fail"
    }
    assert not failed, failed
    assert [r["id"] for r in in_memory_rows] == list(CLAIMS)


@pytest.mark.slow
def test_coverage_of_deterministic_claims(in_memory_rows):
    """Deterministic claims: both fields wherever the statement covers both, at least 2 sizes and 3 seeds where
    the family has random points."""
    real_only = {"MY-Thm4", "CKM-Thm1.2", "CKM-Thm1.3", "LM-Fig1.1", "LM-Fig1.2", "LM-Fig1.3"}
    complex_only = {"MY-complex", "CKM-complex"}
    for r in in_memory_rows:
        cov = r["coverage"]
        if r["family"] == "lm_figures" or r["id"] in real_only | complex_only or r["id"] == "MY-const":
            continue
        assert set(cov.get("field", [])) == {"real", "complex"}, (r["id"], cov)
        sizes = len(cov.get("N", [])) * len(cov.get("d", []))
        assert sizes >= 2 or r["family"] in ("langevin", "posterior") and len(cov.get("d", [])) >= 1, (r["id"], cov)
        # random draws per configuration: seeds, or random points (entropy) or random starts (free energy);
        # the Monte Carlo families draw paths and chains instead
        draws = {"entropy": "point", "free_energy": "start"}.get(r["family"], "seed")
        if r["family"] not in ("langevin", "posterior"):
            assert len(cov.get(draws, [])) >= 3, (r["id"], draws, cov)


def test_statements_split_at_top_level_semicolons():
    from dln._markdown import math_block, math_md, split_statement

    assert split_statement(r"a = b;\ c = \text{x; y}") == ["a = b", r"c = \text{x; y}"]
    assert split_statement(r"\{a; b\}") == [r"\{a", r"b\}"]  # an escaped brace is not a group
    assert split_statement("a;\\quad b") == ["a", "b"]
    assert math_md(r"a;\ b") == "$a$; $b$"
    assert math_md("$x$ already") == "$x$ already"
    assert math_block(r"a;\ b") == "$$\n\\begin{gathered}a \\\\ b\\end{gathered}\n$$"
    assert math_block("a") == "$$\na\n$$"
