"""Tests of the Runge-Kutta and Runge-Kutta-Munthe-Kaas integrators (dln._integrators)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import dln
from dln import _linalg as la
from dln._flow_generator import generator_dense
from dln._integrators import (
    cay_act,
    check_times,
    dcayinv,
    dexpinv,
    dlinearinv,
    exp_act,
    expm_batched,
    integrate_group,
    integrate_vector,
    linear_act,
)
from dln.tolerances import tol

FIELDS = ("real", "complex")


def _rng(*tags):
    return dln.rng_from_params(test="integrators", tags=list(tags))


def _near_identity(rng, N, d, field, eps=0.15, batch=()):
    return np.eye(d) + eps * dln.random_layers(rng, N, d, field, batch=batch)


def _slope(hs, errs):
    return float(np.polyfit(np.log(hs), np.log(errs), 1)[0])


# ----------------------------------------------------------------------------- building blocks


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("scale", [1e-4, 0.05, 0.7, 3.0, 20.0])
def test_expm_batched_matches_scipy(field, scale):
    A = scale * dln.random_matrix(_rng("expm", field, scale), (3, 2, 4, 4), field)
    E = expm_batched(A)
    ref = np.stack([scipy.linalg.expm(a) for a in A.reshape(-1, 4, 4)]).reshape(A.shape)
    # exp is ill-conditioned for large non-normal arguments: compare relative to |exp(|A|)|
    cond = np.exp(2 * scale * 4)
    assert la.norm(E - ref, 4) / la.norm(ref, 4) <= tol("identity") * max(1.0, cond * 1e-6)
    assert E.dtype == (np.complex128 if field == "complex" else np.float64)


def test_expm_batched_zero_and_nonfinite():
    assert np.array_equal(expm_batched(np.zeros((2, 3, 3))), np.broadcast_to(np.eye(3), (2, 3, 3)))
    assert np.all(np.isnan(expm_batched(np.full((1, 2, 2), np.inf))))


@pytest.mark.parametrize("field", FIELDS)
def test_dexpinv_inverts_dexp(field):
    """d/ds exp(u + s w) exp(-u) at s = 0 equals v for w = dexpinv_u(v) (truncation O(|u|^6))."""
    rng = _rng("dexpinv", field)
    u = 0.03 * dln.random_matrix(rng, (3, 3, 3), field)
    v = dln.random_matrix(rng, (3, 3, 3), field)
    w = dexpinv(u, v)
    eps = 1e-5
    dexp = (expm_batched(u + eps * w) - expm_batched(u - eps * w)) / (2 * eps) @ expm_batched(-u)
    assert la.norm(dexp - v, 3) / la.norm(v, 3) <= 1e-8


@pytest.mark.parametrize("field", FIELDS)
def test_exp_act_is_the_group_action_and_conserves_X(field):
    rng = _rng("exp_act", field)
    W = dln.random_layers(rng, 5, 3, field, batch=(2,))
    u = 0.5 * dln.random_matrix(rng, (2, 4, 3, 3), field)
    V = exp_act(u, W)
    assert la.norm(V - dln.act(la.expm(u), W), 3).max() <= tol("identity") * la.norm(W, 3).max()
    X = dln.end_to_end(W)
    assert (la.norm(dln.end_to_end(V) - X) / la.norm(X)).max() <= tol("identity_tight") * 10


def test_check_times_rejects_bad_times():
    assert check_times([0, 1, 2]).dtype == np.float64
    for bad in ([1.0, 2.0], [0.0, 2.0, 1.0], [[0.0, 1.0]], [], [0.0, np.nan], [0.0, 0.0]):
        with pytest.raises(dln.DLNError, match="t"):
            check_times(bad)


# ----------------------------------------------------------------------------- convergence orders


@pytest.mark.parametrize("field", FIELDS)
def test_rkmk4_fixed_step_order(field):
    """Fixed-step RKMK4 on the regularizing flow: fitted order 4 +- order_band."""
    rng = _rng("rkmk4-order", field)
    W0 = _near_identity(rng, 4, 3, field)
    t = np.array([0.0, 1.0])
    ref = dln.regularizing_flow(W0, t, rtol=1e-13)[-1]
    hs = np.array([0.1, 0.05, 0.025, 0.0125])
    errs = [la.norm(dln.regularizing_flow(W0, t, method="rk4", dt=h)[-1] - ref, 3) for h in hs]
    assert abs(_slope(hs, errs) - 4.0) <= tol("order_band")


def test_rkmk54_fixed_step_order_at_least_five():
    """The Dormand-Prince RKMK used fixed-step has order >= 5 (pre-asymptotically the slope exceeds 5)."""
    rng = _rng("rkmk5-order")
    W0 = _near_identity(rng, 4, 3, "real")
    t = np.array([0.0, 1.0])
    ref = dln.regularizing_flow(W0, t, rtol=1e-13)[-1]
    hs = np.array([0.125, 0.0625, 0.03125])
    errs = [la.norm(dln.regularizing_flow(W0, t, method="dp54", dt=h)[-1] - ref, 3) for h in hs]
    assert _slope(hs, errs) >= 5.0 - tol("order_band")


@pytest.mark.parametrize("field", FIELDS)
def test_rk4_vector_fixed_step_order(field):
    """Classical RK4 (vector space) on the learning flow: fitted order 4 +- order_band."""
    rng = _rng("rk4-order", field)
    W0 = _near_identity(rng, 3, 2, field)
    Y = dln.random_matrix(rng, (2, 2), field)

    def grad_E(X):
        return X - Y

    t = np.array([0.0, 1.0])
    ref = dln.learning_flow(W0, grad_E, t, rtol=1e-13, atol=1e-15)[-1]
    hs = np.array([0.05, 0.025, 0.0125, 0.00625])
    errs = [la.norm(dln.learning_flow(W0, grad_E, t, method="rk4", dt=h)[-1] - ref, 3) for h in hs]
    assert abs(_slope(hs, errs) - 4.0) <= tol("order_band")


def test_fixed_step_rkmk_conserves_X():
    rng = _rng("fixed-X")
    W0 = _near_identity(rng, 4, 3, "real", eps=0.5)
    Wt = dln.kirwan_ness_flow(W0, np.linspace(0, 1, 5), method="rk4", dt=0.01)
    X = dln.end_to_end(Wt)
    assert np.max(la.norm(X - X[0]) / la.norm(X[0])) <= tol("group_conservation")


# ----------------------------------------------------------------------------- adaptive control


@pytest.mark.parametrize("rtol", [1e-6, 1e-8])
def test_adaptive_group_meets_tolerance(rtol):
    """Global error of the adaptive RKMK 5(4) stays within a modest multiple of rtol and shrinks with it."""
    rng = _rng("adaptive-group")
    W0 = dln.random_layers(rng, 4, 3, "real")
    t = np.linspace(0.0, 2.0, 5)
    ref = dln.regularizing_flow(W0, t, rtol=1e-13)
    W = dln.regularizing_flow(W0, t, rtol=rtol)
    err = np.max(la.norm(W - ref, 3) / la.norm(ref, 3))
    # about T / h local errors of size rtol |u| ~ rtol h |b|: the global relative error is O(rtol)
    assert err <= 10 * rtol


@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_adaptive_vector_meets_tolerance(rtol):
    rng = _rng("adaptive-vector")
    W0 = dln.random_layers(rng, 3, 2, "complex")
    Y = dln.random_matrix(rng, (2, 2), "complex")
    t = np.linspace(0.0, 2.0, 5)

    def grad_E(X):
        return X - Y

    ref = dln.learning_flow(W0, grad_E, t, rtol=1e-13, atol=1e-15)
    W = dln.learning_flow(W0, grad_E, t, rtol=rtol, atol=rtol)
    err = np.max(la.norm(W - ref, 3) / la.norm(ref, 3))
    assert err <= 100 * rtol


def test_batched_integration_matches_single_items():
    rng = _rng("batch")
    W0 = _near_identity(rng, 3, 2, "real", eps=0.5, batch=(3,))
    t = np.linspace(0.0, 1.0, 3)
    Wb = dln.kirwan_ness_flow(W0, t, rtol=1e-11)
    assert Wb.shape == (3, 3, 3, 2, 2)
    for i in range(3):
        Wi = dln.kirwan_ness_flow(W0[i], t, rtol=1e-11)
        assert la.norm(Wb[:, i] - Wi, 3).max() <= 1e-8 * la.norm(Wi, 3).max()


def test_progress_and_stats():
    calls = []
    stats = {}
    W0 = dln.random_layers(_rng("progress"), 3, 2, "real")
    dln.kirwan_ness_flow(W0, [0.0, 0.5, 1.0], progress=lambda t, T, n: calls.append((t, T, n)), stats=stats)
    ts = [c[0] for c in calls]
    assert ts == sorted(ts) and ts[-1] == 1.0 and all(c[1] == 1.0 for c in calls)
    assert stats["n_steps"] == len(calls) and stats["n_evals"] > stats["n_steps"]


def test_blowup_and_step_limits_raise_named_errors():
    W0 = np.ones((2, 1, 1))

    def grad_E(X):  # E = -(1/2) x^2: finite-time blow-up of the learning flow
        return -X

    with pytest.raises(dln.DLNError, match=r"learning_flow.*t ="):
        dln.learning_flow(W0, grad_E, [0.0, 10.0])
    with pytest.raises(dln.DLNError, match="max_steps"):
        integrate_vector(lambda y: -y, np.ones(3), [0.0, 1.0], n_state_axes=1, rtol=1e-12, max_steps=3)
    with pytest.raises(dln.DLNError, match="rtol"):
        integrate_group(lambda W: -dln.moments(W), dln.random_layers(_rng("x"), 2, 2), [0.0, 1.0], rtol=-1.0)
    with pytest.raises(dln.DLNError, match="dt"):
        integrate_vector(lambda y: -y, np.ones(3), [0.0, 1.0], n_state_axes=1, method="rk4")


def test_errors_inside_the_vector_field_name_the_flow_and_time():
    calls = {"n": 0}

    def grad_E(X):
        calls["n"] += 1
        if calls["n"] > 20:
            raise dln.RankDeficientError("X: numerically singular")
        return X

    with pytest.raises(dln.RankDeficientError, match=r"end_to_end_flow: in the step from t = .*X: numerically"):
        dln.end_to_end_flow(np.eye(2), grad_E, 3, [0.0, 5.0])


def test_progress_logger_logs_final_time():
    lines = []
    W0 = dln.random_layers(_rng("logger"), 3, 2, "real")
    dln.kirwan_ness_flow(W0, [0.0, 0.5], progress=dln.progress_logger(lines.append, every=1e9, name="kn"))
    assert len(lines) == 1 and lines[0].startswith("kn: t = 0.5 / 0.5 (100.0%)")


@settings(max_examples=8, deadline=None)
@given(
    N=st.integers(2, 5),
    d=st.integers(1, 3),
    field=st.sampled_from(FIELDS),
    seed=st.integers(0, 10_000),
)
def test_property_group_flows_conserve_X_and_decrease_their_energy(N, d, field, seed):
    """Both orbit flows keep X to round-off; |W|^2 decreases along the regularizing flow, |G|^2 along KN."""
    rng = np.random.default_rng(seed)
    W0 = _near_identity(rng, N, d, field, eps=0.5)
    t = np.linspace(0.0, 0.5, 4)
    for flow, energy in (
        (dln.regularizing_flow, lambda W: la.sqnorm(W, 3)),
        (dln.kirwan_ness_flow, lambda W: la.sqnorm(dln.moments(W), 3)),
    ):
        Wt = flow(W0, t)
        X = dln.end_to_end(Wt)
        assert np.max(la.norm(X - X[0]) / la.norm(X[0])) <= tol("group_conservation")
        e = energy(Wt)
        assert np.all(np.diff(e) <= 1e-12 * (1.0 + e[0]))


# ------------------------------------------------------------------ order-8 pair, Cayley and linear coordinates


def _cay(u):
    eye = np.eye(u.shape[-1])
    return np.linalg.solve(eye - u / 2, eye + u / 2)


def _linear(u):
    return np.eye(u.shape[-1]) + u


#: coordinate maps with an exact inverse derivative: (action, inverse derivative, the map on one matrix, singular u)
_MAPS = {
    "cayley": (cay_act, dcayinv, _cay, lambda d: 2.0 * np.eye(d)),
    "linear": (linear_act, dlinearinv, _linear, lambda d: -np.eye(d)),
}


@pytest.mark.parametrize("coords", sorted(_MAPS))
@pytest.mark.parametrize("field", FIELDS)
def test_coordinate_action_is_the_group_action_and_conserves_X(field, coords):
    action, _, phi, singular_block = _MAPS[coords]
    rng = _rng(f"{coords}_act", field)
    W = dln.random_layers(rng, 5, 3, field, batch=(2,))
    u = 0.4 * dln.random_matrix(rng, (2, 4, 3, 3), field)
    V = action(u, W)
    assert V.shape == W.shape and V.dtype == W.dtype
    assert la.norm(V - dln.act(phi(u), W), 3).max() <= tol("identity") * la.norm(W, 3).max()
    X = dln.end_to_end(W)
    assert (la.norm(dln.end_to_end(V) - X) / la.norm(X)).max() <= tol("identity_tight") * 10
    singular = u.copy()
    singular[0, 1] = singular_block(3)  # phi(u_2) singular: the step is rejected as NaN
    assert np.all(np.isnan(action(singular, W)))


@pytest.mark.parametrize("coords", sorted(_MAPS))
@pytest.mark.parametrize("field", FIELDS)
def test_coordinate_inverse_derivative_is_exact(field, coords):
    """d/ds phi(u + s w) phi(u)^{-1} at s = 0 equals v for w = dphi^{-1}_u(v) (no truncation)."""
    _, dinv, phi, _ = _MAPS[coords]
    rng = _rng(f"d{coords}inv", field)
    u = 0.4 * dln.random_matrix(rng, (3, 3, 3), field)
    v = dln.random_matrix(rng, (3, 3, 3), field)
    w = dinv(u, v)
    eps = 1e-5
    dphi = (phi(u + eps * w) - phi(u - eps * w)) / (2 * eps) @ np.linalg.inv(phi(u))
    assert la.norm(dphi - v, 3).max() / la.norm(v, 3).max() <= 1e-8


def test_dexpinv_degree_six_is_two_orders_more_accurate():
    """Truncation after ad_u^4 leaves O(|u|^6 |v|), after ad_u^6 O(|u|^8 |v|): both against the series to ad_u^10."""
    rng = _rng("dexpinv6")
    u0 = dln.random_matrix(rng, (1, 4, 4), "real")
    v = dln.random_matrix(rng, (1, 4, 4), "real")
    # B_k / k! for k = 1, 2, 4, 6, 8, 10 (B_1 = -1/2, B_2 = 1/6, B_4 = -1/30, B_6 = 1/42, B_8 = -1/30, B_10 = 5/66)
    coef = {1: -0.5, 2: 1 / 12, 4: -1 / 720, 6: 1 / 30240, 8: -1 / 1209600, 10: 1 / 47900160}
    for scale in (0.1, 0.2):
        u = scale * u0 / la.norm(u0, 3)
        exact, ad = v.copy(), v
        for k in range(1, 11):
            ad = u @ ad - ad @ u
            exact = exact + coef.get(k, 0.0) * ad
        e4 = la.norm(dexpinv(u, v) - exact, 3) / la.norm(v, 3)
        e6 = la.norm(dexpinv(u, v, 6) - exact, 3) / la.norm(v, 3)
        assert e6 <= 1e-2 * e4
    with pytest.raises(dln.DLNError, match="degree"):
        dexpinv(u, v, 5)


@pytest.mark.parametrize("coordinates", ["cayley", "exp", "linear"])
@pytest.mark.parametrize("field", FIELDS)
def test_rkmk853_fixed_step_order(field, coordinates):
    """RKMK with the DOP853 weights used fixed-step on the regularizing flow: fitted order 8 +- order_band.

    The steps keep every error (2e-10 down to 1e-13) at least ten times above the round-off floor
    (~1e-14 for one run), against a reference with a step four times smaller than the smallest
    (its error ~1e-18, below round-off).
    """
    rng = _rng("rkmk8-order", field)
    W0 = _near_identity(rng, 4, 3, field)
    t = np.array([0.0, 1.0])

    def xi(W):
        return -generator_dense(W)

    ref = integrate_group(xi, W0, t, method="dop853", dt=1 / 40, coordinates=coordinates)[-1]
    hs = np.array([0.25, 1 / 6, 0.125, 0.1])
    errs = [
        la.norm(integrate_group(xi, W0, t, method="dop853", dt=h, coordinates=coordinates)[-1] - ref, 3) for h in hs
    ]
    assert abs(_slope(hs, errs) - 8.0) <= tol("order_band")


def test_dop853_vector_fixed_step_order():
    """DOP853 weights on y' = A y (exact solution expm(tA) y0): fitted order 8 +- order_band."""
    rng = _rng("dop853-vector")
    A = dln.random_matrix(rng, (4, 4), "real") / 2
    y0 = dln.random_matrix(rng, (4,), "real")
    ref = scipy.linalg.expm(A) @ y0
    hs = np.array([0.5, 0.25, 0.2, 0.125])
    errs = [
        np.linalg.norm(
            integrate_vector(lambda y: y @ A.T, y0, [0.0, 1.0], n_state_axes=1, method="dop853", dt=h)[-1] - ref
        )
        for h in hs
    ]
    assert abs(_slope(hs, errs) - 8.0) <= tol("order_band")


@pytest.mark.parametrize("field", FIELDS)
def test_adaptive_dop853_group_meets_tolerance_and_conserves_X(field):
    """Adaptive RKMK 8(5,3) in both coordinate maps: global error O(rtol), X kept to round-off."""
    rng = _rng("adaptive-853", field)
    W0 = dln.random_layers(rng, 4, 3, field)
    t = np.linspace(0.0, 2.0, 5)

    def xi(W):
        return -generator_dense(W)

    ref = integrate_group(xi, W0, t, rtol=1e-13, method="dop853", coordinates="exp")
    for coordinates in ("cayley", "exp", "linear"):
        stats = {}
        W = integrate_group(xi, W0, t, rtol=1e-8, method="dop853", coordinates=coordinates, stats=stats)
        assert np.max(la.norm(W - ref, 3) / la.norm(ref, 3)) <= 10 * 1e-8
        X = dln.end_to_end(W)
        assert np.max(la.norm(X - X[0]) / la.norm(X[0])) <= tol("group_conservation")
        assert stats["n_evals"] == 12 * (stats["n_steps"] + stats["n_rejected"]) + 1  # FSAL: 12 new stages a step
    with pytest.raises(dln.DLNError, match="coordinates"):
        integrate_group(xi, W0, t, coordinates="euler")
