"""Tests of the CKM free-energy flow (dln._free_energy), the g^N geometry helpers and the ``free_energy`` experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dln
from dln._linalg import inner, sqnorm
from dln.tolerances import tol

FIELDS = ("real", "complex")


# ------------------------------------------------------------------------------- geometry


@pytest.mark.claims("CKM-flow")
@pytest.mark.parametrize("field", FIELDS)
def test_chamber_metric_is_gN_on_diagonal_directions(field):
    rng = np.random.default_rng(0)
    d, N = 3, 5
    X = dln.random_matrix(rng, (4, d, d), field)
    U, s, Vh = np.linalg.svd(X)
    a, b = rng.standard_normal((2, 4, d))
    from dln._metric import metric_gN

    g = metric_gN(X, (U * a[:, None, :]) @ Vh, (U * b[:, None, :]) @ Vh, N)
    assert np.allclose(g, np.sum(a * b / dln.chamber_metric(s, N), axis=-1), rtol=1e-12, atol=1e-13)
    # flat: tau = sqrt(N) sigma^{1/N} has d tau = d sigma / sqrt(N sigma^{2-2/N})
    dtau = s ** (1 / N - 1) / math.sqrt(N)
    assert np.allclose(dtau**2, 1 / dln.chamber_metric(s, N))


@pytest.mark.claims("MY-metric")
@pytest.mark.parametrize("field", FIELDS)
def test_riemannian_gradient_and_horizontal_lift(field):
    from dln._metric import metric_gN

    rng = np.random.default_rng(1)
    d, N = 3, 4
    X = dln.random_matrix(rng, (5, d, d), field)
    G, Z = dln.random_matrix(rng, (2, 5, d, d), field)
    R = dln.riemannian_gradient(X, G, N)
    assert np.allclose(metric_gN(X, R, Z, N), inner(G, Z), rtol=1e-12, atol=1e-12)
    W = dln.balanced_point(X, N, rng)
    L = dln.horizontal_lift(W, Z)
    assert np.max(np.abs(dln.dphi(W, L) - Z)) <= tol("identity")
    g = metric_gN(X, Z, Z, N)
    assert np.max(np.abs(sqnorm(L, 3) - g) / g) <= tol("identity")
    assert np.max(np.abs(dln.orbit_tangent_adjoint(W, L))) <= tol("identity")


def test_spectral_gradient_by_finite_differences():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((2, 3, 3))

    def f(M):
        return np.sum(np.linalg.svd(M, compute_uv=False) ** 3) / 3

    h = 1e-6
    fd = (f(X + h * Y) - f(X - h * Y)) / (2 * h)
    G = dln.spectral_gradient(X, lambda s: s**2)
    assert abs(np.sum(G * Y) - fd) <= tol("fd_central") * max(1.0, abs(fd))


# ------------------------------------------------------------------------------- flow


@pytest.mark.claims("CKM-flow")
@pytest.mark.parametrize("field", FIELDS)
def test_matrix_flow_singular_values_follow_sigma_ode(field):
    rng = np.random.default_rng(3)
    d, N, p, beta = 3, 4, 2.0, 1.0
    X0 = dln.random_matrix(rng, (d, d), field)
    t = np.linspace(0.0, 1.0, 4)
    Xt = dln.matrix_free_energy_flow(X0, t, N, beta, p)
    st = dln.free_energy_flow(np.linalg.svd(X0, compute_uv=False), t, N, beta, p, field)
    assert np.max(np.abs(np.linalg.svd(Xt, compute_uv=False) - st)) <= tol("ode_adaptive")
    # the field equals -A_{N,X}(grad F) with grad F = U diag(dF) V^*
    V = dln.matrix_free_energy_field(X0, N, beta, p)
    U, s, Vh = np.linalg.svd(X0)
    sdot = np.real(np.einsum("ji,jk,ki->i", U.conj(), V, Vh.conj().T))
    assert np.allclose(sdot, dln.free_energy_field(s, N, beta, p, field), rtol=1e-12, atol=1e-12)


@pytest.mark.claims("CKM-flow")
def test_free_energy_decreases_and_gradient_matches():
    rng = np.random.default_rng(4)
    s0 = rng.uniform(0.05, 2.0, (3, 3))
    t = np.linspace(0.0, 3.0, 31)
    traj = dln.free_energy_flow(s0, t, 4, 1.0, 2.0)
    F = dln.free_energy(traj, 4, 1.0, 2.0)
    assert np.all(np.diff(F, axis=0) <= 1e-12)
    s = s0[0]
    h = 1e-6
    fd = np.array(
        [
            (dln.free_energy(s + h * e, 4, 1.0, 2.0) - dln.free_energy(s - h * e, 4, 1.0, 2.0)) / (2 * h)
            for e in np.eye(3)
        ]
    )
    assert np.allclose(dln.free_energy_gradient(s, 4, 1.0, 2.0), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.claims("CKM-Thm1.2", "CKM-complex")
@pytest.mark.parametrize("field", FIELDS)
def test_equilibrium_thm12(field):
    assert dln.equilibrium(2, 10, 5.0, 2.0) == pytest.approx(0.3, abs=1e-15)
    for d, N, p, beta in [(2, 10, 2.0, 5.0), (3, 4, 2.0, 1.0), (4, 6, 3.0, 2.0), (3, 3, 1.5, 0.5)]:
        rng = dln.rng_from_params(test="thm12", d=d, N=N, field=field)
        s0 = rng.uniform(0.05, 2.0, (5, d))
        ss = dln.equilibrium(d, N, beta, p, field)
        assert ss == pytest.approx(dln.entropic_constant(d, N, beta, field) ** (1 / p), rel=1e-15)
        end = dln.free_energy_flow(s0, [0.0, 200.0], N, beta, p, field)[-1]
        assert np.max(np.abs(end - ss)) <= tol("ode_adaptive")
        # at the equilibrium the field vanishes
        assert np.max(np.abs(dln.free_energy_field(np.full(d, ss), N, beta, p, field))) < 1e-13


def test_callable_energy_matches_schatten_and_nonseparable_energy():
    d, N, beta, p = 3, 5, 2.0, 3.0
    ss = dln.equilibrium(d, N, beta, p)
    assert dln.equilibrium(d, N, beta, lambda s: s ** (p - 1)) == pytest.approx(ss, rel=1e-13)
    r = dln.relaxation_rates(d, N, beta, p)
    rc = dln.relaxation_rates(d, N, beta, lambda s: s ** (p - 1))
    assert np.allclose(r, rc, rtol=1e-8)
    # non-separable spectral energy E = 1/2 |sigma|^2 + gamma/2 (sum sigma)^2
    gamma = 0.7

    def dE(s):
        return s + gamma * np.sum(s, axis=-1, keepdims=True)

    c = dln.entropic_constant(d, N, beta)
    ssn = dln.equilibrium(d, N, beta, dE)
    assert ssn == pytest.approx(math.sqrt(c / (1 + gamma * d)), rel=1e-12)
    s0 = np.array([[0.2, 1.0, 1.7]])
    end = dln.free_energy_flow(s0, [0.0, 100.0], N, beta, dE)[-1]
    assert np.max(np.abs(end - ssn)) <= tol("ode_adaptive")
    J = dln.free_energy_jacobian(np.full(d, ssn), N, beta, dE)
    ev = np.sort(np.linalg.eigvals(-J).real)
    r1, rp = dln.relaxation_rates(d, N, beta, dE)
    assert np.allclose(ev, np.sort([r1, rp, rp]), rtol=1e-6)


@pytest.mark.claims("CKM-Thm1.3", "CKM-complex")
@pytest.mark.parametrize("field", FIELDS)
def test_rates_thm13(field):
    for d, N, p, beta in [(2, 10, 2.0, 5.0), (3, 4, 2.0, 1.0), (4, 6, 3.0, 2.0), (3, 3, 1.5, 0.5)]:
        ss = dln.equilibrium(d, N, beta, p, field)
        J = dln.free_energy_jacobian(np.full(d, ss), N, beta, p, field)
        ev = np.sort(np.linalg.eigvals(-J).real)
        r1, rp = dln.relaxation_rates(d, N, beta, p, field)
        assert np.max(np.abs(ev - np.sort([r1] + [rp] * (d - 1))) / ev) <= tol("fd_central")
        if field == "real":  # the closed form for the real field
            c = dln.entropic_constant(d, N, beta)
            assert r1 == pytest.approx(p * N * c * ss ** (-2 / N), rel=1e-13)
            ref = (
                N
                * ss ** (-2 / N)
                * (N - 1)
                / beta
                * ((p - 1) * (d - 1) / (2 * N) + ((d - 1) * (2 * N - 1) - (N + 1)) / (6 * N**2))
            )
            assert rp == pytest.approx(ref, rel=1e-13)
    r1, rp = dln.relaxation_rates(2, 10, 5.0, 2.0)
    assert abs(r1 - 2.29006735) < 5e-9 and abs(rp - 1.45037599) < 5e-9


@pytest.mark.claims("CKM-Thm1.7")
@pytest.mark.parametrize("field", FIELDS)
def test_exact_solution_on_the_diagonal_thm17(field):
    t = np.linspace(0.0, 5.0, 6)
    for d, N, p, beta, s0 in [(2, 10, 0.2, 5.0, 1.5), (3, 4, 2.0, 1.0, 0.2), (2, 10, 2.0, 5.0, 1.7)]:
        ex = dln.equal_sv_solution(t, s0, d, N, beta, p, field)
        ode = dln.free_energy_flow(np.full(d, s0), t, N, beta, p, field)
        assert np.max(np.abs(ode - ex[:, None])) <= tol("ode_adaptive")
        assert np.max(np.ptp(ode, axis=-1)) <= 1e-12  # D is invariant
    # explicit form for p = 2/N
    N, d, beta = 10, 2, 5.0
    c = dln.entropic_constant(d, N, beta)
    v = c + (1.5 ** (2 / N) - c) * np.exp(-2 * t)
    assert np.allclose(dln.equal_sv_solution(t, 1.5, d, N, beta, 2 / N), v ** (N / 2), rtol=1e-14)


@pytest.mark.claims("CKM-Rmk1.4")
@pytest.mark.parametrize("field", FIELDS)
def test_infinite_depth_limits_rmk14(field):
    d, p, beta = 3, 2.0, 2.0
    L = dln.infinite_depth_limits(d, p, beta, field)
    if field == "real":
        assert L["c"] == pytest.approx((d - 1) / (2 * beta))
    errs = []
    for N in (100, 1000, 10000):
        r1, rp = dln.relaxation_rates(d, N, beta, p, field)
        errs.append([abs(r1 / N - L["r1_over_N"]), abs(rp / N - L["rperp_over_N"])])
        assert dln.equilibrium(d, N, beta, p, field) ** p == pytest.approx(L["c"], rel=2.0 / N)
    errs = np.array(errs)
    assert np.all(errs[1] / errs[2] > 8) and np.all(errs[1] / errs[2] < 12)


@pytest.mark.claims("CKM-concavity")
def test_concavity_euclidean_vs_riemannian():
    rng = np.random.default_rng(5)
    for N in (2, 3, 6):
        for d in (2, 3):
            s = np.exp(rng.uniform(-2, 1.5, (50, d)))
            ev = np.linalg.eigvalsh(dln.entropy_hessian(s, N))
            top = ev[:, -1] / np.max(np.abs(ev), axis=-1)
            if N == 2 and d == 2:  # S_2 = 1/2 log(sigma_1 + sigma_2) + const: only semidefinite
                assert np.max(np.abs(top)) < 1e-8
                x = s.sum(axis=-1)
                assert np.allclose(dln.entropy(s, 2, constant=False), 0.5 * np.log(x), atol=1e-12)
            else:
                assert np.all(top < 0)
            evt = np.linalg.eigvalsh(dln.entropy_hessian(s, N, coords="tau"))
            assert np.all(evt[:, 0] < 0) and np.all(evt[:, -1] > 0)
    lam = 0.7
    for N in (2, 4, 9):
        ev = np.linalg.eigvalsh(dln.entropy_hessian(np.full(2, lam**N), N, coords="tau"))
        ref = [-(N - 1) / (2 * lam**2 * N), (N - 1) * (2 * N - 1) / (6 * lam**2 * N)]
        assert np.allclose(ev, ref, rtol=1e-12)


def test_bad_input_raises():
    with pytest.raises(dln.DLNError, match="beta"):
        dln.free_energy_field([1.0, 2.0], 3, 0.0, 2.0)
    with pytest.raises(dln.DLNError, match="energy"):
        dln.free_energy_field([1.0, 2.0], 3, 1.0, -1.0)
    with pytest.raises(dln.DLNError, match="energy"):
        dln.free_energy_field([1.0, 2.0], 3, 1.0, lambda s: s[..., :1])
    with pytest.raises(dln.DLNError, match="t"):
        dln.free_energy_flow([1.0, 2.0], [1.0, 0.0], 3, 1.0, 2.0)
    with pytest.raises(dln.DLNError, match="sigma0"):
        dln.free_energy_flow([1.0, -2.0], [0.0, 1.0], 3, 1.0, 2.0)


# ------------------------------------------------------------------------------- ledger and experiment
