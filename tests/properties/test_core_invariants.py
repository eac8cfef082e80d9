"""Property-based invariants of the core geometry (hypothesis), real and complex.

Random sizes, fields and seeds; the invariants are exact identities, so the
tolerances are the round-off ones of dln.tolerances.TOL.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dln
from dln import _linalg as la
from dln.tolerances import tol

points = st.tuples(
    st.integers(1, 4),  # d
    st.integers(2, 5),  # N
    st.sampled_from(["real", "complex"]),
    st.integers(0, 2**31 - 1),  # seed
)


def _layers(d, N, field, seed):
    rng = np.random.default_rng(seed)
    # I + Z/(2 sqrt d): well-conditioned, so the identities hold to round-off for every draw
    return np.eye(d) + 0.5 * dln.random_matrix(rng, (N, d, d), field) / np.sqrt(d), rng


@pytest.mark.claims("LM-Lem1")
@settings(max_examples=40, deadline=None)
@given(points)
def test_fiber_coordinates_round_trip(pt):
    W, _ = _layers(*pt)
    N = W.shape[0]
    C = dln.center(dln.end_to_end(W), N)
    A = dln.fiber_coordinates(W)
    assert la.norm(dln.act(A, C) - W, 3) <= tol("identity") * la.norm(W, 3)


@pytest.mark.claims("LM-Lem2")
@settings(max_examples=40, deadline=None)
@given(points)
def test_action_preserves_X_and_tangents_are_in_ker_dphi(pt):
    W, rng = _layers(*pt)
    d, N, field, _ = pt
    a = dln.random_matrix(rng, (N - 1, d, d), field)
    X = dln.end_to_end(W)
    WA = dln.act(la.expm(0.3 * a), W)
    assert la.norm(dln.end_to_end(WA) - X) <= tol("identity") * la.norm(X)
    assert la.norm(dln.dphi(W, dln.orbit_tangent(W, a))) <= tol("identity") * la.norm(W, 3) ** N * la.norm(a, 3)


@pytest.mark.claims("LM-Lem5")
@settings(max_examples=40, deadline=None)
@given(points)
def test_gradient_is_the_projection_onto_the_fiber(pt):
    W, rng = _layers(*pt)
    d, N, field, _ = pt
    g = dln.fiber_gradient(W)
    # tangent: g = w_b; orthogonal remainder: w^*(W - g) = 0, i.e. <W - g, w_a> = 0 for all a
    assert la.norm(dln.orbit_tangent_adjoint(W, W - g), 3) <= tol("identity") * la.sqnorm(W, 3)
    # Lemma 2: <W, w_a> = sum Re Tr(G^* a)
    a = dln.random_matrix(rng, (N - 1, d, d), field)
    lhs = la.inner(W, dln.orbit_tangent(W, a), 3)
    assert abs(lhs - la.inner(dln.moments(W), a, 3)) <= tol("identity") * la.sqnorm(W, 3) * la.norm(a, 3)
    # Remark 9: dG(w_b) = 2 G, here through Lemma 4: dG(w_b) = H(b) + H(b)^* = G + G^* = 2G
    b = dln.regularizing_generator(W)
    Hb = dln.gram_operator(W, b)
    G = dln.moments(W)
    assert la.norm(Hb + la.H(Hb) - 2 * G, 3) <= tol("solver_agreement") * max(la.norm(G, 3), la.sqnorm(W, 3) * 1e-8)


@pytest.mark.claims("LM-Thm10")
@settings(max_examples=40, deadline=None)
@given(points)
def test_kirwan_ness_field_is_minus_w_2G_and_tangent(pt):
    W, _ = _layers(*pt)
    F = dln.kirwan_ness_field(W)
    G = dln.moments(W)
    assert la.norm(F + dln.orbit_tangent(W, 2 * G), 3) <= tol("identity_tight") * la.norm(F, 3) + 1e-300
    # d/dt (1/2)|G|^2 along the field is -|w_{2G}|^2 <= 0 (LM eq. 2.31, corrected factor)
    h = 1e-6
    phi = lambda V: 0.5 * la.sqnorm(dln.moments(V), 3)  # noqa: E731
    rate = (phi(W + h * F) - phi(W - h * F)) / (2 * h)
    wG2 = la.sqnorm(dln.orbit_tangent(W, G), 3)
    assert abs(rate + 4 * wG2) <= tol("fd_central") * max(wG2, 1e-12) + 1e-9
