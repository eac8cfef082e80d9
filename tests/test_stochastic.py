"""Noise (LM section 4.2): batched Euler-Maruyama, the exact OU sampler and the closed forms of LM §4.2 (claim LM-4.2).

Stochastic assertions use fixed seeds and the named tolerance ``monte_carlo_sigmas`` (z-scores).
"""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln._linalg import sqnorm
from dln._stochastic import (
    brownian_increments,
    langevin_drift,
    langevin_em,
    langevin_em_ladder,
    noise_growth_coefficient,
    ou_exact,
    ou_moment_G,
    ou_stationary_G2,
)
from dln.experiments import langevin as lg
from dln.tolerances import tol

Z_TOL = tol("monte_carlo_sigmas")
FIELDS = ("real", "complex")


def _z(x: np.ndarray, pred: float) -> float:
    x = np.asarray(x, dtype=float)
    return float(abs(x.mean() - pred) / (x.std(ddof=1) / np.sqrt(x.size)))


@pytest.mark.parametrize("field", FIELDS)
def test_brownian_increments_variance_per_real_coordinate(field):
    rng = np.random.default_rng(0)
    dB = brownian_increments(rng, (200_000,), 0.3, field)
    parts = [dB.real, dB.imag] if field == "complex" else [dB]
    for part in parts:  # each real coordinate has variance dt (standard BM in R^{2Nd^2} for C)
        assert abs(part.var() / 0.3 - 1) < 5 * np.sqrt(2 / dB.size)


@pytest.mark.claims("LM-4.2")
def test_closed_forms_theorems_numbers():
    assert ou_stationary_G2(4, 3, 2.0, 1.5, "real") == pytest.approx(24.0)
    assert ou_stationary_G2(4, 3, 2.0, 1.5, "complex") == pytest.approx(72.0)
    # d = 1, N = 2, real: G = z1^2 - z2^2 with unit variances, E G^2 = 4
    assert ou_stationary_G2(2, 1, 1.0, 1.0, "real") == pytest.approx(4.0)


@pytest.mark.claims("LM-4.2")
@pytest.mark.parametrize("field", FIELDS)
def test_noise_growth_coefficient_is_hs_norm_of_dG(field):
    """c_2 = E|dG_W(Z)|^2 equals the squared Hilbert-Schmidt norm of dG over a real orthonormal basis."""
    rng = np.random.default_rng(1)
    W = dln.random_layers(rng, 3, 2, field)
    basis = []
    for idx in np.ndindex(W.shape):
        for unit in (1.0, 1j) if field == "complex" else (1.0,):
            E = np.zeros(W.shape, dtype=W.dtype)
            E[idx] = unit
            basis.append(E)
    hs = 0.0
    for E in basis:  # dG(E) = d/de G(W + e E), exact since G is quadratic: (G(W+E) - G(W-E)) / 2
        hs += sqnorm((dln.moments(W + E) - dln.moments(W - E)) / 2, 3)
    assert noise_growth_coefficient(W) == pytest.approx(hs, rel=1e-12)


@pytest.mark.claims("LM-4.2")
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("kappa,beta,t", [(1.0, 2.0, 0.3), (0.0, 5.0, 0.7), (1.5, 2.0, np.inf)])
def test_ou_exact_matches_moments(field, kappa, beta, t):
    rng = dln.rng_from_params(test="ou_exact", field=field, kappa=kappa, beta=beta, t=t)
    W0 = dln.random_layers(rng, 3, 2, field)
    S = ou_exact(W0, kappa, beta, t, rng, n_paths=40_000)
    assert S.shape == (40_000, 3, 2, 2)
    G = dln.moments(S)
    mean_pred, second = ou_moment_G(W0, kappa, beta, t)
    assert _z(sqnorm(G, 3), float(second)) < Z_TOL
    if np.any(mean_pred != 0):
        proj = np.real(np.sum(np.conj(mean_pred) * G, axis=(-3, -2, -1))) / sqnorm(mean_pred, 3)
        assert _z(proj, 1.0) < Z_TOL


def test_ou_exact_time_axis_and_errors():
    rng = np.random.default_rng(2)
    W0 = dln.random_layers(rng, 2, 2)
    S = ou_exact(W0, 1.0, 1.0, np.array([0.0, 1.0]), rng, n_paths=5)
    assert S.shape == (2, 5, 2, 2, 2)
    np.testing.assert_array_equal(S[0], np.broadcast_to(W0, S[0].shape))
    with pytest.raises(dln.DLNError, match="t"):
        ou_exact(W0, 0.0, 1.0, np.inf, rng)
    with pytest.raises(dln.DLNError, match="beta"):
        ou_exact(W0, 1.0, -1.0, 1.0, rng)
    with pytest.raises(dln.DLNError, match="n_paths"):
        langevin_em(W0, None, 1.0, 1.0, 0.1, 2, rng, n_paths=0)


@pytest.mark.claims("LM-4.2")
@pytest.mark.parametrize("field", FIELDS)
def test_em_ou_stationary_variance_is_one_over_beta_kappa(field):
    """Stationary variance per real coordinate 1/(beta kappa) (EM bias 1/(1 - kappa dt/2) included), not the
    printed 1/(2 beta kappa) (claim LM-4.2)."""
    beta, kappa, dt = 2.0, 1.5, 0.02
    rng = dln.rng_from_params(test="em_var", field=field)
    W0 = np.zeros((2, 2, 2), dtype=complex if field == "complex" else float)
    _, W = langevin_em(W0, None, kappa, beta, dt, 250, rng, n_paths=10_000)
    flat = W[-1].reshape(10_000, -1)
    parts = np.concatenate([flat.real, flat.imag], axis=1) if field == "complex" else flat
    v = parts.var(axis=0, ddof=1)
    se = v.mean() * np.sqrt(2.0 / (parts.shape[0] - 1) / v.size)
    pred = lg.em_ou_variance(kappa, beta, dt, 250)
    assert pred == pytest.approx(1 / (beta * kappa) / (1 - kappa * dt / 2), rel=1e-6)
    assert abs(v.mean() - pred) / se < Z_TOL
    assert abs(v.mean() - 1 / (2 * beta * kappa)) / se > 50  # the printed density is off by a factor 2


@pytest.mark.claims("LM-4.2")
@pytest.mark.parametrize("field", FIELDS)
def test_langevin_mean_moment_decays_for_any_loss(field):
    """E[G(t)] = G_0 e^{-2 kappa t} under (4.4) with E = |X - Y|^2/2 (Ito terms cancel, square layers)."""
    rng = dln.rng_from_params(test="langevin_mean", field=field)
    W0 = dln.random_layers(rng, 3, 2, field)
    Y = dln.random_matrix(rng, (2, 2), field)
    G0 = dln.moments(W0)

    def proj(W):
        return np.real(np.sum(np.conj(G0) * dln.moments(W), axis=(-3, -2, -1))) / sqnorm(G0, 3)

    t, P = langevin_em(W0, lambda X: X - Y, 1.0, 10.0, 0.002, 200, rng, n_paths=1000, save_every=100, observe=proj)
    np.testing.assert_allclose(t, [0.0, 0.2, 0.4])
    for i in (1, 2):
        assert _z(P[i], np.exp(-2 * t[i])) < Z_TOL


def test_langevin_drift_matches_gradient():
    """Drift = -grad(E + kappa/2 |W|^2) by central finite differences of the scalar potential."""
    rng = np.random.default_rng(3)
    W = dln.random_layers(rng, 3, 2)
    Y = rng.standard_normal((2, 2))
    kappa = 0.7

    def V(W):
        return 0.5 * sqnorm(dln.end_to_end(W) - Y) + 0.5 * kappa * sqnorm(W, 3)

    D = np.zeros_like(W)
    h = 1e-6
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        D[idx] = (V(W + E) - V(W - E)) / (2 * h)
    np.testing.assert_allclose(langevin_drift(W, lambda X: X - Y, kappa), -D, atol=1e-7)


def test_em_deterministic_limit_and_save_times():
    rng = np.random.default_rng(4)
    W0 = dln.random_layers(rng, 2, 2)
    t, out = langevin_em(W0, None, 0.5, np.inf, 0.1, 10, rng, save_every=4)
    np.testing.assert_allclose(t, [0.0, 0.4, 0.8, 1.0])
    np.testing.assert_allclose(out[-1], (1 - 0.05) ** 10 * W0, rtol=1e-13)


@pytest.mark.claims("NUM-EM-order")
def test_ladder_finest_level_equals_em_with_same_noise():
    """The r = 1 level of the coupled ladder is plain EM driven by the same increments."""
    W0 = dln.random_layers(np.random.default_rng(5), 2, 2)
    S = langevin_em_ladder(W0, None, 1.0, 2.0, 1.0, 8, (1, 2, 8), np.random.default_rng(6), n_paths=3)
    rng = np.random.default_rng(6)
    W = np.broadcast_to(W0, (3,) + W0.shape).copy()
    coarse = W.copy()
    acc = np.zeros_like(W)
    for _ in range(8):
        # the integrators store paths on the last axis: (N, d, d, M)
        dB = np.moveaxis(brownian_increments(rng, (2, 2, 2, 3), 1 / 8, "real"), -1, 0)
        W = W - 1 / 8 * W + np.sqrt(2 / 2.0) * dB
        acc += dB
    coarse = coarse - coarse + np.sqrt(1.0) * acc  # r = 8: one step of size 1, kappa = 1: W0 - W0 + noise
    np.testing.assert_allclose(S[0], W, rtol=1e-13)
    np.testing.assert_allclose(S[2], coarse, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("N", [2, 4])
def test_batch_last_drift_matches_batch_first(field, N):
    """The integrators' batch-last drift (N, d, d, M) equals :func:`langevin_drift` on (M, N, d, d)."""
    from dln._stochastic import _drift_last, _from_last, _to_last

    rng = np.random.default_rng(7)
    W = dln.random_layers(rng, N, 3, field, batch=(4, 5))
    Y = dln.random_matrix(rng, (3, 3), field)
    ref = langevin_drift(W, lambda X: X - Y, 0.4)
    out = _from_last(_drift_last(_to_last(W), lambda X: X - Y, 0.4, W.shape[:-3]), W.shape[:-3])
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_z_scores_with_a_roundoff_standard_error_are_not_amplified():
    """A coordinate the noise does not reach has a standard error at round-off: its z-score compares the estimate
    with the prediction at the scale of the prediction, instead of dividing round-off by round-off."""
    from dln.experiments.langevin import SE_ROUNDOFF, _z

    pred = np.array([[1.0, 0.0, 0.5]])
    est = np.array([[1.0 + 0.2, 3e-17, 0.5]])
    se = np.array([[0.1, 1e-18, 0.0]])
    z, sop = _z(est, se, pred)
    assert z[0, 0] == pytest.approx(2.0)  # an ordinary z-score
    assert z[0, 1] == pytest.approx(3e-17 / SE_ROUNDOFF) and z[0, 1] < 1e-4  # round-off: not 30
    assert z[0, 2] == 0.0  # se = 0: deterministic (t = 0)
    assert sop[0, 1] == 0.0 and sop[0, 0] == pytest.approx(0.1)
    # a real deviation at a round-off standard error is still found
    z_bad, _ = _z(np.array([[1.0, 1e-6, 0.5]]), se, pred)
    assert z_bad[0, 1] > 100
