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


@pytest.fixture(scope="module")
def small_sweeps():
    return {}


def _sweep(cache, family):
    if family not in cache:
        cache[family] = run_sweep(family, family_module(family).MUTATION)
    return cache[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_family_interface(family):
    mod = family_module(family)
    for name in ("simulate", "aggregate", "DEFAULT_PARAMS", "SWEEP_KEYS", "LEDGER", "MUTATION", "COST", "FIGURES"):
        assert hasattr(mod, name), (family, name)
    assert set(mod.SWEEP_KEYS) <= set(mod.DEFAULT_PARAMS), family
    for spec in (mod.LEDGER, mod.MUTATION):
        assert set(spec["sweep"]) | set(spec["fixed"]) <= set(mod.DEFAULT_PARAMS), family
        assert not set(spec["sweep"]) & set(spec["fixed"]), family
        assert len(sweep_jobs(family, spec)) >= 1


@pytest.mark.parametrize("family", FAMILIES)
def test_sweep_dataset_dims_metadata_and_rerun(family, small_sweeps):
    mod = family_module(family)
    ds = _sweep(small_sweeps, family)
    for key in mod.SWEEP_KEYS:
        assert key in ds.dims, (family, key)
    for key, vals in mod.MUTATION["sweep"].items():
        assert list(ds[key].values) == sorted(vals) or set(ds[key].values.tolist()) == set(vals), (family, key)
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name") and "units" in var.attrs, (family, name)
    for name, var in ds.data_vars.items():
        if np.issubdtype(var.dtype, np.floating):
            assert np.all(np.isfinite(var.values)), (family, name)
    again = run_sweep(family, mod.MUTATION)
    xr.testing.assert_identical(ds.drop_attrs(), again.drop_attrs())


@pytest.mark.parametrize("family", FAMILIES)
def test_unknown_parameter_is_an_error_naming_it(family):
    mod = family_module(family)
    with pytest.raises(dln.DLNError, match="bogus"):
        mod.simulate({**mod.DEFAULT_PARAMS, "bogus": 1})


@pytest.mark.parametrize("family", [f for f in FAMILIES if "field" in family_module(f).DEFAULT_PARAMS])
def test_bad_field_is_an_error(family):
    mod = family_module(family)
    with pytest.raises(dln.DLNError, match="field"):
        mod.simulate({**mod.DEFAULT_PARAMS, "field": "quaternion"})


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
