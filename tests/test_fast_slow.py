"""Fast-slow regularized training (LM section 4.1, claims LM-4.1, LM-4.1-fold, LM-4.1-window)."""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln._linalg import norm
from dln._metric import A_operator
from dln.experiments import aggregate
from dln.experiments import fast_slow as fs
from dln.tolerances import tol

FIELDS = ("real", "complex")
SMALL = {"N": 3, "d": 2, "T": 2.0, "n_t": 21, "n_imbalance": 2, "imbalance_min": 0.1, "imbalance_max": 0.4}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("loss", ["quadratic", "completion"])
def test_moments_decay_exactly_and_balanced_start_follows_reduced_flow(field, loss):
    r = fs.run(dict(SMALL, field=field, loss=loss, kappa=0.3))
    t, G, G_err = r["t"], r["G"], r["G_err"]
    G0n = norm(G[0, 1:], 3)
    rel = G_err[:, 1:] / (G0n[None, :] * np.exp(-0.6 * t)[:, None])
    assert rel.max() < tol("ode_adaptive")
    scale = norm(r["Xr"]).max()
    assert norm(r["Xf"][:, 0] - r["Xr"]).max() / scale < tol("ode_adaptive")
    # the unbalanced starts share X_0 but leave the reduced trajectory
    np.testing.assert_allclose(r["Xf"][0], np.broadcast_to(r["X0"], r["Xf"][0].shape), rtol=1e-12)
    assert norm(r["Xf"][:, -1] - r["Xr"]).max() / scale > 1e-3


@pytest.mark.parametrize("field", FIELDS)
def test_penalty_gradient_identity(field):
    """A_{N,X}(kappa U Sigma^{2/N-1} V^*) = N kappa X: the reduced flow is a g^N gradient flow."""
    rng = np.random.default_rng(0)
    X = dln.random_matrix(rng, (3, 3), field)
    for N in (2, 3, 5):
        lhs = A_operator(X, fs.penalty_gradient(X, N, 0.7), N)
        np.testing.assert_allclose(lhs, N * 0.7 * X, rtol=tol("identity"), atol=tol("identity"))


def test_reduced_flow_without_kappa_is_end_to_end_flow():
    rng = np.random.default_rng(1)
    X0 = np.eye(2) + 0.3 * rng.standard_normal((2, 2))
    Y = rng.standard_normal((2, 2))
    t = np.linspace(0, 1, 5)
    a = fs.reduced_flow(X0, lambda X: X - Y, 3, 0.0, t)
    b = dln.end_to_end_flow(X0, lambda X: X - Y, 3, t, rtol=fs.RTOL, atol=fs.ATOL)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_uses_the_library_flows():
    reg, e2e = fs._flows()
    assert reg.__name__ == "regularized_flow" and e2e.__name__ == "end_to_end_flow"


def test_shadowing_grows_with_imbalance():
    ds = fs.simulate(dict(SMALL, n_imbalance=3, imbalance_min=0.02, imbalance_max=0.5, kappa=0.5))
    sh = ds["shadow_max"].values
    g0 = ds["G0_norm"].values
    assert np.all(np.diff(sh) > 0) and np.all(np.diff(g0) > 0)
    # linear response at small imbalance: shadow / |G_0| roughly constant between the two smallest levels
    ratio = (sh[1] / g0[1]) / (sh[0] / g0[0])
    assert 0.67 < ratio < 1.5
    np.testing.assert_allclose(ds["G_decay_rate"].values, 1.0, rtol=1e-6)
    assert float(ds["shadow_max_balanced"]) < tol("ode_adaptive")
    assert float(ds["rate_learning"]) > 0


def test_simulate_and_aggregate_dataset():
    dss = [fs.simulate(dict(SMALL, kappa=k)) for k in (0.3, 1.0)]
    agg = aggregate("fast_slow", dss)
    assert agg.sizes["kappa"] == 2
    for name in ("shadow_max", "G_norm", "t_balance", "rate_learning", "rate_balancing"):
        assert "long_name" in agg[name].attrs and "units" in agg[name].attrs
    # a larger kappa balances sooner
    tb = agg["t_balance"].squeeze()
    assert np.all(tb.sel(kappa=1.0).values <= tb.sel(kappa=0.3).values)


def test_bad_loss():
    with pytest.raises(dln.DLNError, match="loss"):
        fs.run(dict(SMALL, loss="hinge"))


@pytest.mark.claims("LM-4.1-fold")
def test_reduced_flow_stops_where_a_singular_value_collapses():
    """Beyond the fold X(t) of the reduced flow loses rank; the dataset marks the times where it is defined."""
    ds = fs.simulate({"kappa": 1.5, "loss": "quadratic", "field": "real", "N": 3, "d": 3, "seed": 0, "T": 12.0})
    valid = ds["reduced_valid"].values.astype(bool)
    assert valid[0] and not valid[-1] and np.all(np.diff(valid.astype(int)) <= 0)
    assert int(ds["rank_lost"]) == 1
    assert float(ds["shadow_max_balanced"]) < tol("ode_drift")
    assert np.all(ds["shadow_err"].values[~valid] == 0.0)


def test_completion_mask_hides_an_entry():
    for d in (2, 3):
        for seed in range(5):
            _, mask, *_ = fs.make_problem(dict(fs.SPEC.defaults, d=d, seed=seed), np.random.default_rng(seed))
            assert np.all(np.diag(mask) == 1.0) and 0 < mask.sum() < d * d
