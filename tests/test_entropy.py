"""Tests of the Menon-Yu entropy S_N (dln._entropy), its ledger entries and the ``entropy`` experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dln
from dln.tolerances import tol

FIELDS = ("real", "complex")


def _sigma(rng, shape, lo=0.1, hi=3.0):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), shape))


# ------------------------------------------------------------------------------- closed form vs Gram


@pytest.mark.claims("MY-Thm4", "MY-complex")
@pytest.mark.parametrize("field", FIELDS)
def test_closed_form_matches_gram_determinant_up_to_d5_N8(field):
    """Closed form = 1/2 log det Gram to 1e-10 for every (d, N) up to (5, 8), real and complex."""
    worst = 0.0
    for d in range(1, 6):
        for N in range(2, 9):
            rng = dln.rng_from_params(test="gram", field=field, d=d, N=N)
            X = dln.random_matrix(rng, (2, d, d), field)
            s = np.linalg.svd(X, compute_uv=False)
            num = dln.orbit_volume_gram(X, N, rng=rng)
            cf = dln.entropy(s, N, field, constant=False)
            worst = max(worst, float(np.max(np.abs(num - cf))))
    assert worst <= 1e-10, worst


@pytest.mark.parametrize("field", FIELDS)
def test_gram_is_constant_along_the_orbit_and_layers_input(field):
    rng = np.random.default_rng(3)
    X = dln.random_matrix(rng, (3, 3), field)
    N = 4
    vals = [dln.orbit_volume_gram(X, N, rng=rng) for _ in range(3)]
    vals.append(dln.orbit_volume_gram(X, N))  # the centre C
    W = dln.balanced_point(X, N, rng)
    vals.append(dln.orbit_volume_gram(W))  # layers input, field from dtype
    assert np.ptp(vals) <= tol("identity")
    S = dln.orbit_volume_gram(X, N, rng=rng, constant=True)
    s = np.linalg.svd(X, compute_uv=False)
    assert abs(S - dln.entropy(s, N, field)) <= tol("identity")


def test_real_matrix_with_complex_orbit():
    """A real X seen as complex: its U_d^{N-1}-orbit volume is the complex formula."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 3))
    s = np.linalg.svd(X, compute_uv=False)
    assert abs(dln.orbit_volume_gram(X, 3, field="complex") - dln.entropy(s, 3, "complex", constant=False)) < 1e-10


@pytest.mark.claims("MY-Thm4")
def test_quoted_vandermonde_form_and_log_form_agree():
    rng = np.random.default_rng(0)
    s = _sigma(rng, (20, 4))
    for N in (2, 3, 7):
        iu, ju = np.triu_indices(4, 1)
        van = np.prod(np.abs(s[:, iu] ** 2 - s[:, ju] ** 2), axis=-1)
        vanN = np.prod(np.abs(s[:, iu] ** (2 / N) - s[:, ju] ** (2 / N)), axis=-1)
        S = (N - 1) * math.log(dln.group_volume(4)) + 0.5 * np.log(van / vanN)
        assert np.max(np.abs(S - dln.entropy(s, N))) <= tol("identity")


@pytest.mark.claims("MY-Jacobi")
def test_jacobi_block_determinant():
    lam_i, lam_j = 1.3, 0.6
    for N in (2, 3, 6, 9):
        J = dln.jacobi_block(lam_i, lam_j, N)
        k = np.arange(N)
        D = np.sum(lam_i ** (2 * k) * lam_j ** (2 * (N - 1 - k)))
        assert abs(np.linalg.det(J) / D - 1) <= tol("identity_tight")
        Jd = dln.jacobi_block(lam_i, lam_i, N)
        assert abs(np.linalg.det(Jd) / (N * lam_i ** (2 * (N - 1))) - 1) <= tol("identity_tight")


# ------------------------------------------------------------------------------- normalization


@pytest.mark.claims("MY-const")
def test_group_volumes():
    assert dln.group_volume(2) == pytest.approx(17.7715, rel=1e-5)
    assert dln.group_volume(3) == pytest.approx(446.647, rel=1e-5)
    assert dln.group_volume(4) == pytest.approx(24936.7, rel=1e-5)
    assert dln.group_volume(1) == pytest.approx(2.0)  # O_1 = {+1, -1}
    assert dln.group_volume(1, "complex") == pytest.approx(2 * math.pi)
    # vol U(n) = (2 pi)^{n(n+1)/2} / prod_{k<n} k! for the metric Re Tr(a^* b)
    for n in (2, 3, 4):
        ref = (2 * math.pi) ** (n * (n + 1) / 2) / math.prod(math.factorial(k) for k in range(1, n))
        assert dln.group_volume(n, "complex") == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("field", FIELDS)
def test_constant_is_additive(field):
    s = np.array([0.4, 1.0, 2.2])
    for N in (1, 2, 5):
        diff = dln.entropy(s, N, field) - dln.entropy(s, N, field, constant=False)
        assert diff == pytest.approx((N - 1) * math.log(dln.group_volume(3, field)), abs=1e-12)
    assert dln.entropy(s, 1, field) == pytest.approx(0.0, abs=1e-14)  # one layer: the orbit is a point


# ------------------------------------------------------------------------------- derivatives


@pytest.mark.claims("CKM-concavity")
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("N", [2, 3, 10])
def test_gradient_and_hessians_by_finite_differences(field, N):
    s = np.array([0.3, 1.2, 0.7, 0.7 + 1e-7])  # includes a nearly equal pair
    d = s.size
    E = np.eye(d)
    h = 1e-6
    g = dln.entropy_gradient(s, N, field)
    fd = np.array([(dln.entropy(s + h * e, N, field) - dln.entropy(s - h * e, N, field)) / (2 * h) for e in E])
    assert np.max(np.abs(g - fd)) / np.max(np.abs(g)) <= tol("fd_central")
    Hs = dln.entropy_hessian(s, N, field)
    fdH = np.array(
        [(dln.entropy_gradient(s + h * e, N, field) - dln.entropy_gradient(s - h * e, N, field)) / (2 * h) for e in E]
    )
    assert np.max(np.abs(Hs - fdH)) / np.max(np.abs(Hs)) <= tol("fd_central")
    # tau = sqrt(N) sigma^{1/N}: Hessian of S(sigma(tau)) by FD of the tau-gradient
    tau = math.sqrt(N) * s ** (1 / N)

    def grad_tau(t):
        sig = (t / math.sqrt(N)) ** N
        return dln.entropy_gradient(sig, N, field) * N * sig / t

    Ht = dln.entropy_hessian(s, N, field, coords="tau")
    fdT = np.array([(grad_tau(tau + h * e) - grad_tau(tau - h * e)) / (2 * h) for e in E])
    assert np.max(np.abs(Ht - fdT)) / np.max(np.abs(Ht)) <= tol("fd_central")
    Hx = dln.entropy_hessian(s, N, field, coords="log")
    assert np.allclose(Hx, Hx.T) and np.allclose(Hs, Hs.T)


@pytest.mark.parametrize("field", FIELDS)
def test_equal_singular_values_are_regular(field):
    d, N, sig = 3, 5, 0.8
    s = np.full(d, sig)
    g = dln.entropy_gradient(s, N, field)
    ref = (d - 1) * (N - 1) / (2 * N * sig) if field == "real" else d * (N - 1) / (N * sig)
    assert np.allclose(g, ref, rtol=1e-13)
    # continuity of S across the diagonal
    eps = 1e-9
    assert abs(dln.entropy(s + np.array([eps, 0, 0]), N, field) - dln.entropy(s, N, field)) < 1e-8
    assert np.all(np.isfinite(dln.entropy_hessian(s, N, field, coords="tau")))


def test_batching_and_symmetry():
    rng = np.random.default_rng(1)
    s = _sigma(rng, (2, 3, 4))
    S = dln.entropy(s, 4, "complex")
    assert S.shape == (2, 3)
    assert np.allclose(S[1, 2], dln.entropy(s[1, 2], 4, "complex"))
    assert np.allclose(S, dln.entropy(s[..., ::-1], 4, "complex"), atol=1e-13)
    assert dln.entropy_gradient(s, 4).shape == (2, 3, 4)
    assert dln.entropy_hessian(s, 4).shape == (2, 3, 4, 4)


@pytest.mark.claims("CKM-Rmk1.4")
def test_large_depth_is_stable_and_converges():
    s = np.array([0.05, 0.9, 30.0])
    for field in FIELDS:
        lim = dln.entropy_infinite_depth(s, field)
        k = dln.entropy_log_depth_coefficient(3, field)
        errs = [abs(dln.entropy(s, N, field, constant=False) - k * math.log(N) - lim) for N in (100, 1000, 10000)]
        assert np.all(np.isfinite(errs))
        assert errs[1] / errs[2] == pytest.approx(10.0, rel=0.1)  # O(1/N)
    assert np.isfinite(dln.entropy(np.array([1e-3, 1e3]), 10**6))


def test_bad_input_raises():
    with pytest.raises(dln.DLNError, match="sigma"):
        dln.entropy([1.0, 0.0], 3)
    with pytest.raises(dln.DLNError, match="sigma"):
        dln.entropy([1.0, np.nan], 3)
    with pytest.raises(dln.DLNError, match="field"):
        dln.entropy([1.0, 2.0], 3, "quaternion")
    with pytest.raises(dln.DLNError, match="N"):
        dln.entropy([1.0, 2.0], 0)
    with pytest.raises(dln.DLNError, match="coords"):
        dln.entropy_hessian([1.0, 2.0], 3, coords="polar")
    with pytest.raises(dln.DLNError, match="field"):
        dln.orbit_volume_gram(np.eye(2) * (1 + 1j), 3, field="real")
    with pytest.raises(dln.RankDeficientError):
        dln.orbit_volume_gram(np.zeros((2, 2)), 3)


# ------------------------------------------------------------------------------- ledger and experiment
