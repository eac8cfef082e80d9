"""Property tests: write_netcdf/read_netcdf round-trip any conforming dataset exactly, and
finalize always yields the conventions (or raises DLNError naming the context)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dln import DLNError
from dln.experiments._conventions import CONVENTIONS, check_metadata, finalize, read_netcdf, write_netcdf

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e300, max_value=1e300)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8)


@st.composite
def datasets(draw):
    nt = draw(st.integers(1, 6))
    ns = draw(st.integers(1, 3))
    labels = draw(st.lists(words, min_size=1, max_size=3, unique=True))
    t = np.sort(draw(arrays(np.float64, nt, elements=finite, unique=True)))
    data = {}
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["f", "c", "i"]))
        shape = (len(labels), ns, nt)
        if kind == "f":
            v = draw(arrays(np.float64, shape, elements=finite))
        elif kind == "c":
            v = draw(arrays(np.float64, shape, elements=finite)) + 1j * draw(arrays(np.float64, shape, elements=finite))
        else:
            v = draw(arrays(np.int64, shape, elements=st.integers(-(2**62), 2**62)))
        data[f"v{i}"] = (
            ("field", "seed", "t"),
            v,
            {"long_name": draw(words), "units": draw(st.sampled_from(["1", "m"]))},
        )
    ds = xr.Dataset(data, coords={"field": labels, "seed": np.arange(ns), "t": t})
    config = draw(st.dictionaries(words, st.one_of(st.integers(), finite, words), max_size=4))
    return ds, config


@SETTINGS
@given(datasets())
def test_round_trip_is_exact(tmp_path, case):
    ds, config = case
    fin = finalize(ds, title="t", summary="s", references=["LM"], config=config, context="prop")
    path = write_netcdf(fin, tmp_path / "x.nc")
    back = read_netcdf(path)
    for name in ds.data_vars:
        np.testing.assert_array_equal(back[name].values, ds[name].values)
        assert back[name].dtype == ds[name].dtype
        assert back[name].attrs["long_name"] == ds[name].attrs["long_name"]
        assert back[name].dims == ds[name].dims
    for name in ds.coords:
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert back.attrs["Conventions"] == CONVENTIONS
    assert json.loads(back.attrs["config"]) == json.loads(json.dumps(config, sort_keys=True))
    check_metadata(back, "prop")
    assert [p.name for p in tmp_path.iterdir()] == ["x.nc"]  # no temporary file left


@SETTINGS
@given(datasets(), st.integers(0, 2), st.sampled_from([np.nan, np.inf, -np.inf]))
def test_finalize_rejects_non_finite_naming_context(case, which, bad):
    ds, _ = case
    names = [n for n in ds.data_vars if ds[n].dtype.kind in "fc"]
    if not names:
        return
    name = names[which % len(names)]
    ds = ds.copy(deep=True)
    ds[name].values.flat[0] = bad
    with pytest.raises(DLNError, match=rf"rule prop params \{{\}}: variable '{name}' contains NaN or Inf"):
        finalize(ds, title="t", summary="s", references=[], context="rule prop params {}")


@SETTINGS
@given(datasets(), st.sampled_from(["long_name", "units"]))
def test_finalize_requires_long_name_and_units(case, attr):
    ds, _ = case
    ds = ds.copy()
    name = next(iter(ds.data_vars))
    ds[name].attrs.pop(attr)
    with pytest.raises(DLNError, match=f"ctx: variable '{name}' lacks long_name or units"):
        finalize(ds, title="t", summary="s", references=[], context="ctx")
