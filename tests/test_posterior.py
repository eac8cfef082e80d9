"""The posterior on a fiber (LM section 4.3): Metropolis on GL(d)^{N-1} with the Hausdorff factor.

Checked against quadrature (d = 1, N = 2, claim LM-4.3) and the Laplace constant (d = 2).
"""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln._posterior import (
    _cayley,
    _fast_act,
    effective_sample_size,
    fiber_log_density,
    integrated_autocorr_time,
    posterior_laplace_G2,
    posterior_quadrature_d1,
    sample_fiber_posterior,
)
from dln.tolerances import tol

Z_TOL = tol("monte_carlo_sigmas")
FIELDS = ("real", "complex")


@pytest.mark.claims("LM-4.3", "LM-4.3-hausdorff")
def test_quadrature_limit_four():
    """beta kappa E[G^2] / x -> 4; with the Hausdorff factor the correction is 4 (m+1)/(2 beta kappa x)."""
    for field, m in (("real", 1), ("complex", 2)):
        r = posterior_quadrature_d1(1.0, 1e4, 1.0, field)["ratio"]
        assert r == pytest.approx(4.0 * (1 + (m + 1) / 2e4), rel=1e-6)
    assert posterior_quadrature_d1(2.0, 1e3, 0.5, "real")["ratio"] == pytest.approx(4.0, abs=0.01)


@pytest.mark.claims("LM-4.3")
def test_laplace_constant_d1_is_4x():
    for X in (np.array([[1.3]]), np.array([[1.3j]])):
        assert posterior_laplace_G2(X, 2) == pytest.approx(5.2, rel=1e-10)


@pytest.mark.claims("LM-4.3")
@pytest.mark.parametrize("field", FIELDS)
def test_hausdorff_factor_is_gram_determinant(field):
    """sqrt det_R(J^T J) for J = d(A.C)/dA equals det H(A.C)^{m/2} |det R_A| (Haar factor), checked by FD."""
    rng = np.random.default_rng(0)
    d, N = 2, 3
    X = np.eye(d) + dln.random_matrix(rng, (d, d), field) / 2
    C = dln.center(X, N)
    A = np.eye(d) + 0.3 * dln.random_matrix(rng, (N - 1, d, d), field)
    W = _fast_act(A, C)
    np.testing.assert_allclose(W, dln.act(A, C), rtol=1e-13)
    # real Jacobian of A -> A.C by central differences
    cols = []
    h = 1e-6
    for idx in np.ndindex(A.shape):
        for unit in (1.0, 1j) if field == "complex" else (1.0,):
            E = np.zeros_like(A)
            E[idx] = unit * h
            D = (_fast_act(A + E, C) - _fast_act(A - E, C)) / (2 * h)
            cols.append(np.concatenate([D.real.ravel(), D.imag.ravel()]) if field == "complex" else D.ravel())
    J = np.stack(cols, axis=1)
    lhs = 0.5 * np.linalg.slogdet(J.T @ J)[1]
    m = 2 if field == "complex" else 1
    # Haar density on GL(d): |det A|^{-d} (real), |det A|^{-2d} (complex), i.e. det(R_A) for delta A -> delta A A^{-1}
    log_haar = -m * d * np.sum(np.log(np.abs(np.linalg.det(A))))
    beta_kappa_free = fiber_log_density(W, 1e-300, 1.0)  # only the (m/2) log det H term survives
    assert lhs == pytest.approx(beta_kappa_free + log_haar, abs=1e-6)


def test_cayley_inverse_symmetry():
    rng = np.random.default_rng(1)
    xi = rng.standard_normal((5, 3, 3)) * 0.5
    np.testing.assert_allclose(_cayley(-xi) @ _cayley(xi), np.broadcast_to(np.eye(3), xi.shape), atol=1e-13)


@pytest.mark.claims("LM-4.3")
@pytest.mark.parametrize("field", FIELDS)
def test_mcmc_matches_quadrature_d1(field):
    rng = dln.rng_from_params(test="posterior_d1", field=field)
    X = np.array([[1.3]]) if field == "real" else np.array([[1.3 * np.exp(0.4j)]])
    r = sample_fiber_posterior(X, 2, 3.0, 1.0, rng, n_chains=50, n_steps=600)
    m, se, ess = effective_sample_size(r["samples"])
    q = posterior_quadrature_d1(1.3, 3.0, 1.0, field)["EG2"]
    assert ess > 1000
    assert abs(m - q) / se < Z_TOL
    assert 0.15 < r["accept"] < 0.6
    # the fiber is preserved exactly: X(W) = X for every chain
    np.testing.assert_allclose(dln.end_to_end(r["W"]), np.broadcast_to(X, (50, 1, 1)), rtol=1e-12)


@pytest.mark.claims("LM-4.3")
def test_concentration_rate_d2():
    """E|G|^2 ~ c/(beta kappa) with the Laplace constant, slope -1 in log-log."""
    rng = dln.rng_from_params(test="posterior_d2")
    X = np.eye(2) + dln.random_matrix(rng, (2, 2), "real") / np.sqrt(2)
    c = posterior_laplace_G2(X, 3)
    betas = np.array([30.0, 1000.0])
    est = []
    for beta in betas:
        r = sample_fiber_posterior(X, 3, beta, 1.0, rng, n_chains=50, n_steps=400)
        m, se, _ = effective_sample_size(r["samples"])
        est.append(m)
    assert abs(betas[-1] * m - c) / (betas[-1] * se) < Z_TOL
    slope = np.diff(np.log(est))[0] / np.diff(np.log(betas))[0]
    assert abs(slope + 1) < tol("order_band")


def test_autocorr_time_of_ar1():
    """AR(1) with coefficient phi has tau = (1 + phi) / (1 - phi)."""
    rng = np.random.default_rng(3)
    phi, n, k = 0.8, 4000, 50
    y = np.zeros((n, k))
    e = rng.standard_normal((n, k))
    for i in range(1, n):
        y[i] = phi * y[i - 1] + e[i]
    assert integrated_autocorr_time(y) == pytest.approx(9.0, rel=0.1)


def test_errors():
    with pytest.raises(dln.DLNError, match="beta"):
        sample_fiber_posterior(np.eye(2), 2, -1.0, 1.0, np.random.default_rng(0))
    with pytest.raises(dln.DLNError, match="X"):
        sample_fiber_posterior(np.eye(2)[None], 2, 1.0, 1.0, np.random.default_rng(0))
    with pytest.raises(dln.DLNError, match="x"):
        posterior_quadrature_d1(0.0, 1.0, 1.0)
