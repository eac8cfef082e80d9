"""Dataset conventions (dln.experiments._conventions) and the real CF checker.

Every dataset the workflow writes must pass ``cfchecks`` (cfchecker) with the local CF tables;
tests/test_workflow.py checks the files of a whole workflow run, this file checks a dataset
with every kind of variable and one job + aggregate of every experiment family.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from conftest import cf_check

from dln import DLNError
from dln.experiments import FAMILIES
from dln.experiments._conventions import (
    CONVENTIONS,
    DIMENSIONS,
    GLOBAL_ATTRIBUTES,
    check_metadata,
    data_array,
    finalize,
    flag_variable,
    read_netcdf,
    restamp,
    write_netcdf,
)


def kitchen_sink() -> xr.Dataset:
    """A dataset with every kind of variable the experiments use."""
    t = np.linspace(0.0, 2.0, 7)
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {
            "G_norm": (
                ("field", "seed", "t"),
                rng.random((2, 3, 7)),
                {"long_name": "norm of G", "units": "1", "ancillary_variables": "G_norm_available"},
            ),
            "G_norm_available": flag_variable(
                data_array(rng.random((2, 3, 7)) > 0.2, ("field", "seed", "t"), "1 where G_norm is defined"),
                "undefined defined",
            ),
            "z": (("t",), np.exp(1j * t), {"long_name": "a complex phase", "units": "1"}),
            "count": (("seed",), np.array([1, 2, 3]), {"long_name": "a count", "units": "1"}),
            "converged": (("seed",), np.array([True, False, True]), {"long_name": "converged", "units": "1"}),
            "label": (("seed",), np.array(["a", "bb", "ccc"]), {"long_name": "a label", "units": "1"}),
            "rate": ((), 0.5, {"long_name": "a scalar rate", "units": "1"}),
        },
        coords={"field": ["real", "complex"], "seed": [0, 1, 2], "t": t, "p": 1.5},
    )
    return finalize(ds, title="kitchen sink", summary="every variable kind", references=["LM", "MY"], config={"a": 1})


def test_finalize_sets_every_global_attribute():
    ds = kitchen_sink()
    for attr in GLOBAL_ATTRIBUTES:
        assert attr in ds.attrs, attr
    assert ds.attrs["Conventions"] == CONVENTIONS == "CF-1.11, ACDD-1.3"
    assert "arXiv:2511.01137" in ds.attrs["references"] and "arXiv:2509.09088" in ds.attrs["references"]
    assert ds.attrs["source"].startswith("dln ") and "git commit" in ds.attrs["source"]
    assert json.loads(ds.attrs["config"]) == {"a": 1}
    for name in list(ds.data_vars) + list(ds.coords):
        assert {"long_name", "units"} <= set(ds[name].attrs), name
    assert ds["G_norm"].encoding["zlib"] is True
    check_metadata(ds)


def test_every_documented_dimension_has_long_name_and_units():
    for name, (long_name, units) in DIMENSIONS.items():
        assert long_name and units, name


def test_finalize_rejects_missing_metadata_and_nan_naming_context():
    ds = xr.Dataset({"x": (("t",), np.ones(3), {"long_name": "x"})}, coords={"t": np.arange(3.0)})
    with pytest.raises(DLNError, match=r"rule demo params \{\}: variable 'x' lacks long_name or units"):
        finalize(ds, title="", summary="", references=[], context="rule demo params {}")
    ds["x"].attrs["units"] = "1"
    ds["x"][1] = np.nan
    with pytest.raises(DLNError, match=r"rule demo: variable 'x' contains NaN or Inf"):
        finalize(ds, title="", summary="", references=[], context="rule demo")


def test_round_trip_and_restamp(tmp_path):
    ds = kitchen_sink()
    path = write_netcdf(ds, tmp_path / "a.nc")
    back = read_netcdf(path)
    xr.testing.assert_identical(back[list(ds.data_vars)].drop_attrs(), ds[list(ds.data_vars)].drop_attrs())
    assert back["field"].values.tolist() == ["real", "complex"]
    assert back["z"].dtype == np.complex128 and back["z"].attrs["long_name"] == "a complex phase"
    new = restamp(back, config={"b": 2}, history="step two")
    assert json.loads(new.attrs["config"]) == {"b": 2}
    assert new.attrs["history"].endswith(": step two")
    check_metadata(new)


def test_string_coordinate_must_be_words(tmp_path):
    ds = xr.Dataset({"x": (("k",), np.ones(2), {"long_name": "x", "units": "1"})}, coords={"k": ["a b", "c"]})
    ds["k"].attrs.update(long_name="k", units="1")
    with pytest.raises(DLNError, match="coordinate 'k'"):
        write_netcdf(ds, tmp_path / "k.nc")
    assert not list(tmp_path.iterdir())


def test_read_netcdf_missing_and_corrupt(tmp_path):
    with pytest.raises(DLNError, match="does not exist; rerun the rule"):
        read_netcdf(tmp_path / "nope.nc")
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"CDF\x01 this is not a netCDF file")
    with pytest.raises(DLNError, match="is not a readable netCDF dataset"):
        read_netcdf(bad)
    good = write_netcdf(kitchen_sink(), tmp_path / "good.nc")
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])  # a truncated (half-written) file
    with pytest.raises(DLNError, match="is not a readable netCDF dataset"):
        read_netcdf(good)


def test_write_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves neither the target nor a temporary file."""
    ds = kitchen_sink()

    def boom(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"half")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        write_netcdf(ds, tmp_path / "x.nc")
    assert list(tmp_path.iterdir()) == []


def test_kitchen_sink_passes_cf_checker(tmp_path):
    path = write_netcdf(kitchen_sink(), tmp_path / "sink.nc")
    errors = cf_check([path])
    assert errors == {str(path): []}


@pytest.fixture(scope="module")
def family_files(tmp_path_factory):
    """Per family: one job (the defaults) and its aggregate written with write_netcdf,
    then ONE cfchecks run over all files. Maps family -> (paths, errors) or to the exception raised."""
    root = tmp_path_factory.mktemp("families")
    files, failures = {}, {}
    for family in FAMILIES:
        try:
            fam = FAMILIES[family]
            job = write_netcdf(fam.simulate(fam.defaults), root / f"{family}_job.nc")
            agg = write_netcdf(fam.aggregate([read_netcdf(job)]), root / f"{family}.nc")
        except Exception as exc:  # reported by that family's test
            failures[family] = exc
            continue
        files[family] = [job, agg]
    errors = cf_check([p for paths in files.values() for p in paths]) if files else {}
    return {f: (paths, {str(p): errors[str(p)] for p in paths}) for f, paths in files.items()} | failures


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_datasets_pass_cf_checker(family, family_files):
    result = family_files[family]
    if isinstance(result, Exception):
        raise result
    paths, errors = result
    bad = {p: e for p, e in errors.items() if e}
    assert not bad, f"CF checker errors: {json.dumps(bad, indent=1)}"
    for path in paths:
        check_metadata(read_netcdf(path), str(path))
