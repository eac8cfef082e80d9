"""The family ``scale`` (LM Theorem 2 and Corollary 1 at network widths): its starts, its dataset and its checks.

Small widths and short horizons here; the workflow's configurations run d = 32 (``config/config.yaml``,
``config/ci.yaml``) and d = 32, 64, 128 (``config/large.yaml``). The starts are checked for the properties the
module states: Gaussian layers of variance 1/d, near-identity layers, and far-from-balanced layers with cond(X)
and the condition numbers of the A_k as given, far from the minimizing orbit.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import dln
from dln._fiber_inputs import fiber_test_layers
from dln.checks import CLAIMS, FamilyData, run_ledger
from dln.experiments import FAMILIES, read_netcdf, run_sweep, scale, write_netcdf
from dln.experiments._conventions import check_metadata
from dln.repro import HASH_IGNORE_VARS

TINY = {"N": 3, "d": 4, "n_seeds": 2, "T_reg": 0.5, "efolds": 20.0, "T_kn_max": 40.0, "n_t": 5, "cond": 1e3}


@pytest.fixture(scope="module")
def tiny_sweep():
    return run_sweep("scale", {"sweep": {"field": ["real", "complex"], "start": list(scale.STARTS)}, "fixed": TINY})


def _conds(W):
    s = np.linalg.svd(W, compute_uv=False)
    return s[..., 0] / s[..., -1]


@pytest.mark.parametrize("field", ["real", "complex"])
def test_far_from_balanced_starts_have_the_stated_conditioning(field):
    N, d, cond, spread = 6, 12, 1e6, 1.0
    rng = dln.rng_from_params(test="scale", field=field)
    W = fiber_test_layers(rng, N, d, "unbalanced", cond=cond, field=field, batch=(3,), spread=spread)
    assert W.dtype == (np.complex128 if field == "complex" else np.float64)
    X = dln.end_to_end(W)
    np.testing.assert_allclose(_conds(X), cond, rtol=1e-6)  # cond(X) as given: A acts along the orbit
    root, factor = cond ** (1.0 / N), 10.0**spread
    c = _conds(W)  # (3, N)
    # W_k = A_k C_k A_{k-1}^{-1}, cond(C_k) = cond(X)^(1/N), cond(A_k) = 10^spread; A_0 = A_N = I
    for k in range(N):
        n_factors = 1 if k in (0, N - 1) else 2
        assert np.all(c[:, k] <= root * factor**n_factors * (1 + 1e-8)), (k, c[:, k])
        assert np.all(c[:, k] >= root / factor**n_factors * (1 - 1e-8)), (k, c[:, k])
    assert np.max(c) > 10 * root  # the layers are worse conditioned than those of the balanced point
    sigma = np.linalg.svd(X, compute_uv=False)
    minimum = N * np.sum(sigma ** (2.0 / N), axis=-1)
    excess = np.sum(np.abs(W) ** 2, axis=(-3, -2, -1)) / minimum - 1.0
    assert np.all(excess > 1.0), excess  # far from the minimizing orbit: |W|^2 more than twice its minimum


def test_gaussian_and_near_identity_starts():
    d, N = 32, 4
    rng = dln.rng_from_params(test="scale", start="gaussian")
    W = fiber_test_layers(rng, N, d, "gaussian", batch=(2,))
    np.testing.assert_allclose(np.mean(np.abs(W) ** 2), 1.0 / d, rtol=0.05)  # entries of variance 1/d
    V = fiber_test_layers(rng, N, d, "near_identity", batch=(2,))
    np.testing.assert_allclose(np.mean(np.abs(V - np.eye(d)) ** 2), 0.25 / d, rtol=0.05)
    assert np.max(_conds(V)) < 10.0 < np.max(_conds(W))


def test_dataset_has_the_cf_metadata_and_the_stated_variables(tiny_sweep, tmp_path):
    ds = tiny_sweep
    check_metadata(ds, "scale")
    for key in scale.SPEC.sweep_keys:
        assert key in ds.dims, key
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name") and "units" in var.attrs, name
    assert ds["seconds"].attrs["units"] == "s" and "seconds" in HASH_IGNORE_VARS
    assert list(ds["flow"].values) == list(scale.FLOWS)
    path = write_netcdf(ds, tmp_path / "scale.nc")
    back = read_netcdf(path)
    assert list(back["start"].values) == list(ds["start"].values)
    np.testing.assert_array_equal(back["n_steps"].values, ds["n_steps"].values)
    one = scale.simulate({**TINY, "start": "near_identity"})
    assert json.loads(one.attrs["config"])["start"] == "near_identity"
    assert one.attrs["references"].startswith("arXiv:2511.01137")


def test_theorem_2_and_corollary_1_hold_on_the_tiny_sweep(tiny_sweep):
    ds = tiny_sweep
    assert np.all(ds["reg_run"].values == 1)
    assert float(ds["reg_G_rel_err"].max()) < 1e-8
    assert float(ds["reg_X_drift"].max()) < 1e-12
    np.testing.assert_allclose(ds["reg_decay_rate"].values, 2.0, atol=1e-8)
    assert float(ds["kn_G_increase_max"].max()) < 1e-10
    assert np.all(ds["n_steps"].values > 0)
    full = ds["kn_full_horizon"].values.astype(bool)
    assert full.any() and not full.all()  # near-identity starts converge within T_kn_max, the others are capped
    assert float(ds["kn_G_final_rel"].where(ds["kn_full_horizon"] > 0).max()) < 1e-8
    rows = {r["id"]: r for r in run_ledger(["LM-Thm2-scale", "LM-Cor1-scale"], data=_data(ds))}
    assert {r["status"] for r in rows.values()} == {"pass"}, {k: r["error"] for k, r in rows.items()}


def _data(ds) -> FamilyData:
    """A dataset cache holding ``ds`` as the family's dataset."""
    data = FamilyData()
    data._cache["scale"] = ("ok", (ds, "in memory: a tiny sweep of dln.experiments.scale"))
    return data


def test_numerically_singular_starts_are_not_integrated_by_the_regularizing_flow():
    """Gaussian layers at large N: cond(X_0) ~ e^{2N} far above REG_MAX_COND; the Kirwan-Ness flow still runs."""
    p = {"N": 48, "d": 6, "start": "gaussian", "T_reg": 0.5, "T_kn_max": 1.0, "n_t": 5}
    ds = scale.simulate(p)
    assert float(ds["X_cond"].min()) > scale.REG_MAX_COND
    assert int(ds["reg_run"].sum()) == 0 and int(ds["n_steps"].sel(flow="regularizing")) == 0
    assert float(np.abs(ds["reg_G_rel_err"]).max()) == 0.0
    # the zeros are marked as not data (CF status flag reg_run, named by the variables it qualifies)
    assert list(ds["reg_run"].attrs["flag_values"]) == [0, 1]
    assert ds["reg_run"].attrs["flag_meanings"] == "not_integrated integrated"
    reg = [n for n in ds.data_vars if n.startswith("reg_") and n != "reg_run"]
    assert len(reg) == 5 and all(ds[n].attrs["ancillary_variables"] == "reg_run" for n in reg)
    assert int(ds["n_steps"].sel(flow="kirwan_ness")) > 0 and int(ds["kn_full_horizon"]) == 0
    assert float(ds["kn_X_drift"].max()) < 1e-12
    # the claim needs at least one integrated run; a dataset without one fails it
    row = run_ledger(["LM-Thm2-scale"], data=_data(FAMILIES["scale"].aggregate([ds])))[0]
    assert row["status"] == "fail"


@pytest.mark.parametrize("cid", ["LM-Thm2-scale", "LM-Cor1-scale"])
def test_the_claims_fail_for_a_flow_perturbed_by_1e_5(tiny_sweep, cid):
    """Each check can fail: the flow it checks, with its output times 1 + 1e-5, fails the claim."""
    from dln.checks import mutation

    fn = CLAIMS[cid].implements[0]
    res = mutation.run_mutant(fn, "scale", registry={cid: CLAIMS[cid]}, full=True)
    assert res["outcome"] == "killed" and res["killed_by"] == [cid], res
