"""Schatten-p minimization on fibers (LM Thm 1, Thm 20, the open case p = 1; claims LM-Thm1, LM-Thm20, LM-p1)."""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln import DLNError, RankDeficientError, ShapeError
from dln._schatten import _lie_gradient
from dln.experiments import aggregate
from dln.experiments import schatten as experiment
from dln.tolerances import tol

FIELDS = ("real", "complex")
CASES = ((2, 2), (3, 3), (3, 4))
PS = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 8.0)
#: |G| / |W|^2 at a computed minimizer (the optimizer's balancedness tolerance 1e-7; measured ~1e-15).
G_REL_MAX = 1e-7


def _X(field, d, seed):
    rng = dln.rng_from_params(test="schatten", field=field, d=d, seed=seed)
    return rng, dln.random_matrix(rng, (d, d), field)


@pytest.mark.claims("LM-Thm20", "LM-p1")
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("d,N", CASES)
def test_minimum_matches_closed_form_every_p(field, d, N):
    for p in PS:
        rng, X = _X(field, d, 0)
        r = dln.schatten_minimize(X, N, p, rng=rng, n_restarts=1)
        assert abs(r.rel_gap) <= tol("optimizer"), (p, r.rel_gap)
        assert r.G_rel <= G_REL_MAX, (p, r.G_rel)
        assert r.X_err <= 1e-12, (p, r.X_err)
        assert r.converged
        assert np.iscomplexobj(r.W) == (field == "complex")
        assert r.closed_form == pytest.approx(float(dln.schatten_closed_form(X, N, p)), rel=1e-15)


@pytest.mark.claims("LM-Thm20")
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("p", (1.0, 2.0, 3.0))
def test_several_seeds_and_restarts(field, p):
    for seed in (1, 2):
        rng, X = _X(field, 3, seed)
        r = dln.schatten_minimize(X, 4, p, rng=rng, n_restarts=2)
        assert r.restart_values.shape == (2,)
        # every restart reaches the closed form (no spurious local minima seen), none goes below it
        assert np.all(np.abs(r.restart_gaps) <= tol("optimizer")), r.restart_gaps
        assert np.all(r.restart_G_rel <= G_REL_MAX)


@pytest.mark.claims("LM-Thm1")
@pytest.mark.parametrize("field", FIELDS)
def test_theorem1_squared_norm(field):
    """objective='powers', p = 2 is ||W||^2 of LM (1.4): minimum N sum sigma^{2/N} (LM Thm 1)."""
    rng, X = _X(field, 3, 3)
    r = dln.schatten_minimize(X, 3, 2.0, rng=rng, n_restarts=1, objective="powers")
    s = np.linalg.svd(X, compute_uv=False)
    assert r.closed_form == pytest.approx(3 * np.sum(s ** (2 / 3)), rel=1e-14)
    assert abs(r.rel_gap) <= tol("optimizer")
    assert float(np.sum(np.abs(r.W) ** 2)) == pytest.approx(r.value, rel=1e-14)
    assert r.G_rel <= G_REL_MAX


def test_closed_form_values_and_batch():
    X = np.diag([8.0, 1.0])
    # norms: N (sum sigma^{p/N})^{1/p}; p = N = 3: 3 (8 + 1)^{1/3}
    assert float(dln.schatten_closed_form(X, 3, 3.0)) == pytest.approx(3 * 9 ** (1 / 3), rel=1e-15)
    assert float(dln.schatten_closed_form(X, 3, 3.0, objective="powers")) == pytest.approx(27.0, rel=1e-15)
    Xb = np.stack([X, 2 * X])
    assert dln.schatten_closed_form(Xb, 3, 1.5).shape == (2,)
    # the closed form is attained at the centre C (balanced), for every p
    C = dln.center(X, 3)
    for p in PS:
        val, _ = dln.schatten_objective(C, p)
        assert float(val) == pytest.approx(float(dln.schatten_closed_form(X, 3, p)), rel=1e-14)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("objective", ("norms", "powers"))
def test_analytic_gradients(field, objective):
    rng = np.random.default_rng(5)
    W = dln.random_layers(rng, 3, 3, field)
    V = dln.random_layers(rng, 3, 3, field)
    a = dln.random_matrix(rng, (2, 3, 3), field)
    h = 1e-5
    for p in (1.0, 1.5, 4.0):
        _, G = dln.schatten_objective(W, p, objective)
        fd = (
            dln.schatten_objective(W + h * V, p, objective)[0] - dln.schatten_objective(W - h * V, p, objective)[0]
        ) / (2 * h)
        exact = float(np.real(np.sum(np.conj(G) * V)))
        assert abs(fd - exact) <= tol("fd_central") * max(1.0, abs(exact))
        # Lie gradient: d/dtau f(exp(tau a).W) = <g, a>, g_k = grad_k W_k^* - W_{k+1}^* grad_{k+1}
        g = _lie_gradient(W, G)
        fp = dln.schatten_objective(dln.act(dln._linalg.expm(h * a), W), p, objective)[0]
        fm = dln.schatten_objective(dln.act(dln._linalg.expm(-h * a), W), p, objective)[0]
        assert abs((fp - fm) / (2 * h) - float(np.real(np.sum(np.conj(g) * a)))) <= tol("fd_central") * 10


@pytest.mark.claims("LM-p1", "LM-Thm14-p2")
@pytest.mark.parametrize("field", FIELDS)
def test_p1_hessian_nullity_is_orbit_dimension(field):
    """LM-p1: at balanced points the p = 1 Hessian is PSD, nullity = dim O_X ((N-1)d(d-1)/2 real, (N-1)d^2 complex)."""
    rng = np.random.default_rng(11)
    for d, N in ((2, 3), (3, 3), (3, 4)):
        for X in (dln.random_matrix(rng, (d, d), field), np.eye(d) * (1 + 0j if field == "complex" else 1.0)):
            W = dln.balanced_point(X, N, rng)
            null, zmax, nzmin, emin = experiment.hessian_nullity(dln.schatten_hessian(W, 1.0))
            assert null == experiment.orbit_dimension(N, d, field)
            assert zmax < 1e-8 and nzmin > 1e-4 and emin > -1e-8


def test_orbit_dimension_formula():
    assert experiment.orbit_dimension(4, 3, "real") == 9
    assert experiment.orbit_dimension(4, 3, "complex") == 27


def test_explicit_start_is_deterministic():
    X = np.array([[2.0, 1.0], [0.0, 1.0]])
    A0 = np.stack([np.eye(2) + 0.3 * np.array([[0.0, 1.0], [-0.5, 0.2]])])
    r1 = dln.schatten_minimize(X, 2, 1.5, A0=A0)
    r2 = dln.schatten_minimize(X, 2, 1.5, A0=A0[None])
    np.testing.assert_array_equal(r1.W, r2.W)
    assert abs(r1.rel_gap) <= tol("optimizer")


def test_bad_input():
    X = np.eye(3)
    rng = np.random.default_rng(0)
    for p in (0.0, -1.0, np.inf, np.nan, "two"):
        with pytest.raises(DLNError, match="p:"):
            dln.schatten_minimize(X, 3, p, rng=rng)
    with pytest.raises(RankDeficientError, match="X"):
        dln.schatten_minimize(np.diag([1.0, 1.0, 0.0]), 3, 2.0, rng=rng)
    with pytest.raises(ShapeError, match="X"):
        dln.schatten_minimize(np.ones((2, 3)), 3, 2.0, rng=rng)
    with pytest.raises(ShapeError, match="X"):
        dln.schatten_minimize(np.stack([X, X]), 3, 2.0, rng=rng)
    with pytest.raises(DLNError, match="N"):
        dln.schatten_minimize(X, 1, 2.0, rng=rng)
    with pytest.raises(DLNError, match="n_restarts"):
        dln.schatten_minimize(X, 3, 2.0, rng=rng, n_restarts=0)
    with pytest.raises(DLNError, match="rng"):
        dln.schatten_minimize(X, 3, 2.0)
    with pytest.raises(ShapeError, match="A0"):
        dln.schatten_minimize(X, 3, 2.0, A0=np.ones((3, 3, 3)))
    with pytest.raises(DLNError, match="objective"):
        dln.schatten_minimize(X, 3, 2.0, rng=rng, objective="sum")
    with pytest.raises(DLNError, match="X"):
        dln.schatten_minimize(np.full((3, 3), np.nan), 3, 2.0, rng=rng)


def test_experiment_bad_params():
    with pytest.raises(DLNError, match=r"unknown parameter\(s\) \['q'\]"):
        experiment.simulate({"q": 1})
    with pytest.raises(DLNError, match="field"):
        experiment.simulate({"field": "quaternion"})
    with pytest.raises(DLNError, match="p"):
        experiment.simulate({"p": -1.0})
    a = experiment.simulate(dict(experiment.SPEC.defaults, n_restarts=1, d=2, N=2, n_seeds=1))
    b = experiment.simulate(dict(experiment.SPEC.defaults, n_restarts=2, d=2, N=2, n_seeds=1, p=1.0))
    with pytest.raises(DLNError, match="n_restarts"):
        aggregate("schatten", [a, b])
