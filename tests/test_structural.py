"""Invariants of the core API on random points, real and complex (LM §1-§2: product, moments, action, center,
orbit tangent, fiber gradient). The claims themselves run on other points in ``test_claims.py``."""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln import _linalg as la
from dln.tolerances import tol


def _W(seed, N=4, d=3, field="real", batch=()):
    return dln.random_layers(np.random.default_rng(seed), N, d, field, batch)


@pytest.mark.parametrize("field", ["real", "complex"])
def test_batched_equals_per_item(field):
    W = _W(1, N=3, d=2, field=field, batch=(2, 3))
    for fn in (dln.end_to_end, dln.moments, dln.kirwan_ness_field, dln.fiber_gradient, dln.fiber_coordinates):
        out = fn(W)
        for i in range(2):
            for j in range(3):
                np.testing.assert_allclose(out[i, j], fn(W[i, j]), rtol=0, atol=tol("identity") * np.abs(out).max())


@pytest.mark.claims("LM-Rem18")
@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("seed", range(3))
def test_action_is_a_group_action_preserving_X(field, seed):
    rng = np.random.default_rng(seed)
    W = _W(seed, field=field)
    A = dln.random_matrix(rng, (3, 3, 3), field) + 2 * np.eye(3)
    B = dln.random_matrix(rng, (3, 3, 3), field) + 2 * np.eye(3)
    lhs = dln.act(A, dln.act(B, W))
    rhs = dln.act(A @ B, W)
    assert la.norm(lhs - rhs, 3) / la.norm(rhs, 3) <= tol("identity")
    X = dln.end_to_end(W)
    assert la.norm(dln.end_to_end(lhs) - X) / la.norm(X) <= tol("identity")


@pytest.mark.claims("LM-Lem1", "MY-metric")
@pytest.mark.parametrize("field", ["real", "complex"])
def test_center_is_balanced_and_minimal(field):
    rng = np.random.default_rng(7)
    X = dln.random_matrix(rng, (4, 4), field)
    for N in (2, 3, 5):
        C = dln.center(X, N)
        assert la.norm(dln.end_to_end(C) - X) / la.norm(X) <= tol("identity")
        assert la.norm(dln.moments(C), 3) <= tol("identity") * la.sqnorm(C, 3)
        s = np.linalg.svd(X, compute_uv=False)
        assert abs(la.sqnorm(C, 3) - N * np.sum(s ** (2 / N))) <= tol("identity") * la.sqnorm(C, 3)
        # a random point of the orbit U.C is balanced with the same norm
        Wb = dln.balanced_point(X, N, rng)
        assert la.norm(dln.moments(Wb), 3) <= tol("identity") * la.sqnorm(Wb, 3)
        assert abs(la.sqnorm(Wb, 3) - la.sqnorm(C, 3)) <= tol("identity") * la.sqnorm(C, 3)


@pytest.mark.claims("LM-Lem5")
@pytest.mark.parametrize("field", ["real", "complex"])
def test_fiber_gradient_vanishes_exactly_on_the_minimizing_orbit(field):
    rng = np.random.default_rng(3)
    X = dln.random_matrix(rng, (3, 3), field)
    Wb = dln.balanced_point(X, 4, rng)
    g = dln.fiber_gradient(Wb)
    assert la.norm(g, 3) <= tol("identity") * la.norm(Wb, 3)


@pytest.mark.claims("LM-Cons")
@pytest.mark.parametrize("field", ["real", "complex"])
def test_moments_hermitian_and_telescoping_trace(field):
    W = _W(5, N=5, d=3, field=field)
    G = dln.moments(W)
    assert la.norm(G - la.H(G), 3) <= tol("identity_tight") * la.norm(G, 3)
    # sum_k Tr G_k = |W_1|^2 - |W_N|^2 (telescoping)
    tr = np.real(np.trace(G, axis1=-2, axis2=-1)).sum()
    assert abs(tr - (la.sqnorm(W[0]) - la.sqnorm(W[-1]))) <= tol("identity") * la.sqnorm(W, 3)


@pytest.mark.claims("LM-Cons")
@pytest.mark.parametrize("field", ["real", "complex"])
def test_dphi_adjoint_pairing(field):
    rng = np.random.default_rng(11)
    W = _W(11, field=field)
    V = dln.random_matrix(rng, W.shape, field)
    Y = dln.random_matrix(rng, W.shape[-2:], field)
    lhs = la.inner(dln.dphi(W, V), Y)
    rhs = la.inner(V, dln.dphi_adjoint(W, Y), 3)
    assert abs(lhs - rhs) <= tol("identity_tight") * la.norm(V, 3) * la.norm(dln.dphi_adjoint(W, Y), 3)
    # Euler: dphi(W) = N X
    X = dln.end_to_end(W)
    assert la.norm(dln.dphi(W, W) - 4 * X) <= tol("identity") * la.norm(X)


@pytest.mark.claims("LM-Lem2", "LM-Lem3")
def test_complex_orbit_tangent_is_complex_linear():
    W = _W(2, field="complex")
    rng = np.random.default_rng(2)
    a = dln.random_matrix(rng, (3, 3, 3), "complex")
    np.testing.assert_allclose(dln.orbit_tangent(W, 1j * a), 1j * dln.orbit_tangent(W, a), atol=1e-14)
    np.testing.assert_allclose(dln.gram_operator(W, 1j * a), 1j * dln.gram_operator(W, a), atol=1e-13)
