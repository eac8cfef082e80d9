"""The experiment families' interface: every family, on its small ``MUTATION`` sweep.

What each family's numbers mean is the claims' business (``test_claims.py``); here: a sweep aggregates to a
dataset with one dimension per swept parameter and CF metadata on every variable, a rerun gives an identical
dataset (seeds derive from the parameters), and bad parameters are errors naming the key.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import dln
from dln.experiments import FAMILIES, family_module, run_sweep, sweep_jobs
from dln.repro import HASH_IGNORE_VARS


@pytest.fixture(scope="module")
def small_sweeps():
    return {}


def _sweep(cache, family):
    if family not in cache:
        cache[family] = run_sweep(family, family_module(family).MUTATION)
    return cache[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_family_interface(family):
    """The protocol: a typed SPEC, simulate(params, progress=None), the aggregated dataset's metadata, the
    ledger's and the mutation tests' sweeps (resolvable by the spec), its cost and its figures (name -> a drawing
    function of the module)."""
    import inspect

    from dln.experiments._spec import Spec

    mod = family_module(family)
    for name in ("SPEC", "simulate", "TITLE", "SUMMARY", "REFERENCES", "LEDGER", "MUTATION", "COST", "FIGURES"):
        assert hasattr(mod, name), (family, name)
    assert isinstance(mod.SPEC, Spec)
    assert isinstance(mod.FIGURES, dict), family
    for name, draw in mod.FIGURES.items():
        assert isinstance(name, str) and callable(draw) and draw.__module__ == mod.__name__, (family, name)
    assert list(inspect.signature(mod.simulate).parameters) == ["params", "progress"], family
    assert not hasattr(mod, "aggregate"), "the aggregation is shared: dln.experiments.aggregate"
    assert not hasattr(mod, "DEFAULT_PARAMS") and not hasattr(mod, "SWEEP_KEYS"), "derived from SPEC, not restated"
    for spec in (mod.LEDGER, mod.MUTATION):
        assert set(spec["sweep"]) | set(spec["fixed"]) <= set(mod.SPEC.names), family
        assert set(spec["sweep"]) <= set(mod.SPEC.sweep_keys), family
        assert not set(spec["sweep"]) & set(spec["fixed"]), family
        assert len(sweep_jobs(family, spec)) >= 1


_WRONG = {"integer": [2.5, "3", True, None], "number": ["1.0", float("nan"), None, True], "string": [3, None]}


@pytest.mark.parametrize("family", FAMILIES)
def test_spec_rejects_wrong_values_naming_the_parameter(family):
    """Every parameter: values of the wrong type, out of range or not finite are DLNErrors naming it; an
    integer given as an integral float is that integer (one job, not two)."""
    fam = FAMILIES[family]
    for p in fam.spec:
        wrong = list(_WRONG.get(p.kind, []))
        if p.maximum is not None:
            wrong.append(p.maximum * 2 + 1)
        if p.minimum is not None:
            wrong.append(p.minimum - 1)
        if p.choices is not None:
            wrong.append("quaternion")
        for value in wrong:
            with pytest.raises(dln.DLNError, match=rf"parameter '{p.name}'"):
                fam.resolve({p.name: value})
        if p.kind == "integer":
            got = fam.resolve({p.name: float(p.default)})[p.name]
            assert got == p.default and type(got) is int, (family, p.name)


@pytest.mark.parametrize("family", FAMILIES)
def test_sweep_dataset_dims_metadata_and_rerun(family, small_sweeps):
    mod = family_module(family)
    ds = _sweep(small_sweeps, family)
    for key in mod.SPEC.sweep_keys:
        assert key in ds.dims, (family, key)
    for key, vals in mod.MUTATION["sweep"].items():
        assert list(ds[key].values) == sorted(vals) or set(ds[key].values.tolist()) == set(vals), (family, key)
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name") and "units" in var.attrs, (family, name)
    for name, var in ds.data_vars.items():
        if np.issubdtype(var.dtype, np.floating):
            assert np.all(np.isfinite(var.values)), (family, name)
    again = run_sweep(family, mod.MUTATION)
    timing = [v for v in HASH_IGNORE_VARS if v in ds.variables]  # wall times: information, not data
    xr.testing.assert_identical(ds.drop_vars(timing).drop_attrs(), again.drop_vars(timing).drop_attrs())


@pytest.mark.parametrize("family", FAMILIES)
def test_unknown_parameter_is_an_error_naming_it(family):
    mod = family_module(family)
    with pytest.raises(dln.DLNError, match="bogus"):
        mod.simulate({**mod.SPEC.defaults, "bogus": 1})


@pytest.mark.parametrize("family", [f for f in FAMILIES if "field" in family_module(f).SPEC.names])
def test_bad_field_is_an_error(family):
    mod = family_module(family)
    with pytest.raises(dln.DLNError, match="field"):
        mod.simulate({**mod.SPEC.defaults, "field": "quaternion"})


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_datasets_follow_the_umask(tmp_path, mask):
    """A dataset is readable by whoever the umask lets read it (a group on a shared cluster), not only its owner."""
    import os
    import stat

    import xarray as xr

    from dln.experiments import write_netcdf

    old = os.umask(mask)
    try:
        path = write_netcdf(xr.Dataset({"x": ("i", [1.0, 2.0])}), tmp_path / "a.nc")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert not list(tmp_path.glob("*.tmp"))


def test_checksums_of_written_datasets(tmp_path):
    """``write_netcdf(checksum=True)`` stores the SHA-256 of the data; a changed value is caught, naming the file."""
    import netCDF4
    import xarray as xr

    from dln import DLNError
    from dln.experiments import write_netcdf
    from dln.experiments._conventions import verify_checksum

    ds = xr.Dataset({"x": ("i", [1.0, 2.0, 3.0])})
    plain = write_netcdf(ds, tmp_path / "plain.nc")
    assert verify_checksum(plain) is False  # no checksum written: nothing to check
    path = write_netcdf(ds, tmp_path / "a.nc", checksum=True)
    assert verify_checksum(path, rule="fibers") is True
    with netCDF4.Dataset(path, "a") as nc:
        nc.variables["x"][1] = 2.0 + 1e-12
    with pytest.raises(DLNError, match=r"a\.nc.*do not match the checksum.*rerun the rule 'fibers'"):
        verify_checksum(path, rule="fibers")
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(DLNError, match="not a readable netCDF dataset"):
        verify_checksum(path)


def test_book_numbers_of_a_family_are_raw_and_recomputable():
    """The book's numbers about a dataset: the raw values of each swept dimension and the job count, each with
    its definition and source; formatted only by the Sphinx extension (dln._markdown.fmt)."""
    from dln._markdown import fmt
    from dln.experiments import book_numbers

    ds = xr.Dataset(
        {"y": (("p", "field"), np.zeros((3, 2)))},
        coords={"p": [0.5, 1.0, 2.0], "field": ["real", "complex"]},
    )
    nums = book_numbers("schatten", ds)
    assert nums["schatten__p"]["value"] == [0.5, 1.0, 2.0]
    assert nums["schatten__field"]["value"] == ["real", "complex"]
    assert nums["schatten__jobs"]["value"] == 6  # objective, N, d are not dimensions here
    assert set(nums) == {"schatten__p", "schatten__field", "schatten__jobs"}
    assert all(n["source"].startswith("dataset:schatten:") and n["definition"] for n in nums.values())
    assert fmt(nums["schatten__p"]["value"]) == "0.5, 1, 2" and fmt(nums["schatten__field"]["value"]) == "real, complex"


def test_the_book_refuses_a_dataset_number_no_page_shows(tmp_path):
    import importlib.util

    from conftest import ROOT
    from sphinx.errors import ConfigError

    spec = importlib.util.spec_from_file_location("dln_book", ROOT / "book" / "_ext" / "dln_book.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    (tmp_path / "_generated").mkdir()
    (tmp_path / "page.md").write_text("{{ a__jobs }} jobs")
    numbers = {
        "a__jobs": {"value": 2, "source": "dataset:a:jobs"},
        "a__p": {"value": [1.0], "source": "dataset:a:p:values"},
        "LM_x__y": {"value": 1.0, "source": "ledger:LM-x:y"},
    }
    with pytest.raises(ConfigError, match="no page shows: a__p"):
        ext._check_dataset_numbers_used(tmp_path, numbers)
    (tmp_path / "_generated" / "checks_a.md").write_text("p = {{ a__p }}")
    ext._check_dataset_numbers_used(tmp_path, numbers)  # a ledger number need not be shown


def test_aggregate_refuses_an_incomplete_or_repeated_grid():
    """Jobs missing from the sweep's Cartesian product are an error naming them, not points padded with 0."""
    from dln.experiments import aggregate

    fam = FAMILIES["fast_slow"]
    base = dict(fam.spec.defaults, N=3, d=2, T=1.0, n_t=11, n_imbalance=2, imbalance_min=0.1, imbalance_max=0.4)
    jobs = {(k, ell): dict(base, kappa=k, loss=ell) for k in (0.5, 1.0) for ell in ("completion", "quadratic")}
    keys = fam.spec.sweep_keys
    assert {"kappa", "loss"} <= set(keys)
    sims = {pt: fam.simulate(p) for pt, p in jobs.items()}
    full = aggregate("fast_slow", list(sims.values()))
    assert full.sizes["kappa"] == 2 and full.sizes["loss"] == 2
    partial = [ds for pt, ds in sims.items() if pt != (1.0, "quadratic")]
    with pytest.raises(dln.DLNError, match=r"1 of the 4 points of the sweep have no job: .*kappa=1\.0.*loss=quadratic"):
        aggregate("fast_slow", partial)
    with pytest.raises(dln.DLNError, match=r"more than one job for .*kappa=0\.5.*loss=completion"):
        aggregate("fast_slow", [*sims.values(), sims[(0.5, "completion")]])
