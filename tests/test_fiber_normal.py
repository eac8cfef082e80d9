"""The normal-space iteration for the fiber gradient w_b and the "auto" strategy of dln.fiber_gradient.

References: the dense least-squares solve (``method="dense"``) on random real and
complex inputs of every ensemble of :mod:`dln._fiber_inputs`, single and batched;
the defining conditions of w_b (tangency dphi(w_b) = 0 and normality
w^*(W - w_b) = 0) where dense is too slow. The last tests show that the
comparisons fail for a solver perturbed by 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln import _fiber, _fiber_normal
from dln._fiber_inputs import fiber_test_layers
from dln._fiber_normal import cost_model, normal_pcg
from dln.tolerances import TOL

WB = TOL["fiber_wb"].value  # 1e-10
IDENT = TOL["identity"].value


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _layers(seed, N, d, ensemble="conditioned", cond=1e2, field="real", batch=()):
    rng = dln.rng_from_params(test="fiber_normal", seed=seed, N=N, d=d, ensemble=ensemble, cond=cond, field=field)
    return fiber_test_layers(rng, N, d, ensemble, cond, field, batch)


def _flat(W):
    return W.reshape((-1,) + W.shape[-3:])


def _check_against_dense(W, w):
    """Relative error of each item of w (shape (B, N, d, d)) against dense; asserts <= WB."""
    for i in range(W.shape[0]):
        ref = dln.fiber_gradient(W[i], method="dense")
        assert _rel(w[i], ref) <= WB, (i, _rel(w[i], ref))


def _normal_residuals(W, w):
    """Tangency |dphi(w)| / sum_k |P_k||w_k||Q_k| and normality |w^*(W - w)| / (|W| |W - w|) of one item."""
    P, Q = dln.partial_products(W)
    scale = sum(np.linalg.norm(P[k]) * np.linalg.norm(w[k]) * np.linalg.norm(Q[k]) for k in range(W.shape[0]))
    tangent = np.linalg.norm(dln.dphi(W, w)) / scale
    normal = np.linalg.norm(dln.orbit_tangent_adjoint(W, W - w)) / (np.linalg.norm(W) * np.linalg.norm(W - w))
    return tangent, normal


@pytest.mark.claims("NUM-solvers")
@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize(
    "ensemble,cond",
    [
        ("near_identity", 1.0),
        ("gaussian", 1.0),
        ("conditioned", 1e2),
        ("conditioned", 1e6),
        ("conditioned", 1e12),
        ("conditioned_gaussian", 1e10),
    ],
)
@pytest.mark.parametrize("d,N", [(1, 3), (2, 2), (3, 5), (4, 4), (6, 8)])
@pytest.mark.parametrize("preconditioner", ["block", "jacobi"])
def test_normal_pcg_agrees_with_dense(preconditioner, field, ensemble, cond, d, N):
    W = _flat(_layers(0, N, d, ensemble, cond, field, batch=(2,)))
    # the draws are fixed (seed 0): each is a valid input of the solver, never numerically singular
    assert np.max(np.linalg.cond(dln.end_to_end(W))) <= 1e13, "this test's draw is numerically singular"
    w, ok, info = normal_pcg(W, tol=1e-11, maxiter=2000, preconditioner=preconditioner)
    assert w.dtype == W.dtype and w.shape == W.shape
    assert np.all(ok), info
    assert np.all(info["err_est"] <= 1e-10)
    _check_against_dense(W, w)


@pytest.mark.parametrize("field", ["real", "complex"])
def test_normal_pcg_batched_equals_per_item(field):
    W = _layers(1, 5, 4, "near_identity", field=field, batch=(2, 3))
    w, ok, info = normal_pcg(_flat(W), maxiter=500)
    assert np.all(ok)
    w = w.reshape(W.shape)
    for i in range(2):
        for j in range(3):
            wi, oki, _ = normal_pcg(W[i, j][None], maxiter=500)
            assert oki[0]
            assert _rel(w[i, j], wi[0]) < WB
            assert _rel(w[i, j], dln.fiber_gradient(W[i, j], method="dense")) < WB


@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("ensemble,cond", [("conditioned", 1e12), ("near_identity", 1.0), ("gaussian", 1.0)])
def test_auto_agrees_with_dense(field, ensemble, cond):
    # d = 14, N = 6: the cost model prefers the iteration to the block solve
    W = _layers(2, 6, 14, ensemble, cond, field)
    info: dict = {}
    w = dln.fiber_gradient(W, info=info)
    assert info["method"] == "normal_pcg" and not info["fallback"] and info["iterations"] > 0
    assert info["err_est"] <= 1e-10
    assert _rel(w, dln.fiber_gradient(W, method="dense")) <= WB
    tangent, normal = _normal_residuals(W, w)
    assert tangent < WB and normal < 1e-13


def test_auto_batched_mixed_fallback_and_b0():
    W = np.stack([_layers(3, 6, 14, "near_identity"), _layers(3, 6, 14, "conditioned", 1e6)])
    info: dict = {}
    w = dln.fiber_gradient(W, maxiter=3, info=info)  # 3 iterations: every item falls back
    assert np.all(info["fallback"]) and list(info["method"]) == ["regularizing_generator"] * 2
    assert np.all(np.isnan(info["err_est"]))
    ref = dln.fiber_gradient(W, method="block")
    assert _rel(w, ref) < WB
    info = {}
    w2 = dln.fiber_gradient(W, info=info)
    assert not np.any(info["fallback"]) and np.all(info["method"] == "normal_pcg")
    assert _rel(w2, ref) < WB
    with pytest.raises(dln.DLNError, match="b0: expected shape"):
        dln.fiber_gradient(W, b0=np.zeros((2, 4, 14, 14)))


def test_auto_solves_small_layers_directly():
    W = _layers(4, 4, 3)
    info: dict = {}
    w = dln.fiber_gradient(W, info=info)
    assert info["method"] == "regularizing_generator" and info["fallback"]
    assert _rel(w, dln.fiber_gradient(W, method="dense")) < WB


def test_cost_model_orders_the_solvers():
    small, large = cost_model(4, 3), cost_model(16, 32)
    assert small["block"] < small["setup"] + 30 * small["iteration"]
    assert large["block"] > 100 * (large["setup"] + 30 * large["iteration"])
    assert cost_model(16, 32, True)["iteration"] > large["iteration"]


def test_balanced_point_and_zero_batch():
    X = dln.random_matrix(np.random.default_rng(0), (14, 14))
    Wb = dln.balanced_point(X, 6, np.random.default_rng(1))
    info: dict = {}
    w = dln.fiber_gradient(Wb, info=info)
    assert info["method"] == "normal_pcg"
    assert np.linalg.norm(w) < IDENT * np.linalg.norm(Wb)
    empty = np.zeros((0, 6, 14, 14))
    assert dln.fiber_gradient(empty).shape == empty.shape


def test_iterations_do_not_grow_with_N():
    its = []
    for N in (4, 16, 64):
        _, ok, info = normal_pcg(_flat(_layers(5, N, 6, "conditioned", 1e6)), maxiter=1000)
        assert ok[0]
        its.append(int(info["iterations"][0]))
    assert max(its) <= 60, its
    assert its[2] <= its[0] + 20, its


def test_far_from_balanced_layers_beat_block_accuracy():
    # ill-conditioned layers (cond(W_k) ~ 1e3): the normal-space result is closer to dense than block is
    W = _layers(6, 8, 8, "conditioned_gaussian", 1e10)
    w, ok, _ = normal_pcg(W[None], maxiter=2000)
    assert ok[0]
    ref = dln.fiber_gradient(W, method="dense")
    assert _rel(w[0], ref) <= WB
    tangent, normal = _normal_residuals(W, w[0])
    assert tangent < WB and normal < 1e-13


def test_checks_detect_a_perturbed_solver(monkeypatch):
    # the comparisons above fail for a solver whose answer is off by 1e-5 (relative)
    W = _flat(_layers(0, 5, 3, "conditioned", 1e2, batch=(2,)))
    original = _fiber_normal.NormalSystem.gradient

    def perturbed(self, Y):
        w = original(self, Y)
        return w + 1e-5 * np.linalg.norm(w) * np.random.default_rng(0).standard_normal(w.shape) / np.sqrt(w.size)

    monkeypatch.setattr(_fiber_normal.NormalSystem, "gradient", perturbed)
    w, _, _ = normal_pcg(W, maxiter=500)
    with pytest.raises(AssertionError):
        _check_against_dense(W, w)
    tangent, normal = _normal_residuals(W[0], w[0])
    assert tangent > 1e-13 or normal > 1e-13
    W12 = _layers(2, 6, 14, "near_identity")
    w12 = dln.fiber_gradient(W12)
    assert _rel(w12, dln.fiber_gradient(W12, method="block")) > WB


def test_auto_budget_constants():
    # the iterations still needed are weighed against the block solve before the sunk ones reach it
    assert 0 < _fiber.AUTO_NORMAL_REMAINING < _fiber.AUTO_NORMAL_BUDGET <= 1.0
    assert _fiber.AUTO_NORMAL_MAXITER >= 1000


def test_max_remaining_stops_items_predicted_to_need_more():
    # far-from-balanced layers that need ~100 iterations: a small max_remaining stops them early,
    # not converged; without it the same call converges
    W = _flat(_layers(16, 4, 16, "conditioned_gaussian", 1e10))
    _, ok, st = normal_pcg(W, maxiter=2000, give_up=True)
    assert ok[0] and st["iterations"][0] > 60
    _, ok2, st2 = normal_pcg(W, maxiter=2000, give_up=True, max_remaining=5)
    assert not ok2[0] and st2["iterations"][0] < st["iterations"][0]


@pytest.mark.parametrize("field", ["real", "complex"])
def test_switch_from_jacobi_to_block_preconditioner(field):
    # d > N: Jacobi first; these far-from-balanced layers need more Jacobi iterations than the horizon
    W = _flat(_layers(7, 2, 12, "conditioned_gaussian", 1e10, field, batch=(2,)))
    horizon = _fiber_normal.SWITCH_ITERATIONS + _fiber_normal.SWITCH_PER_D_OVER_N * 12 / 2
    _, ok_j, info_j = normal_pcg(W, maxiter=5000, preconditioner="jacobi")
    assert np.all(ok_j) and np.all(info_j["iterations"] > horizon)
    w, ok, info = normal_pcg(W, maxiter=5000)
    assert np.all(ok) and np.all(info["iterations"] < info_j["iterations"])
    _check_against_dense(W, w)


@pytest.mark.parametrize("field", ["real", "complex"])
def test_stops_at_the_iteration_the_estimate_meets_the_target(field):
    """The error estimate is checked every ``check_every`` iterations and, once a Ritz value is known, at the
    iteration where the estimate with it meets the target: the iteration count with ``check_every=10`` is that of
    checking every iteration (to one iteration: the refreshed Ritz value may postpone the stop), not the next
    multiple of 10."""
    cases = [(4, 16, "conditioned", 1e2), (16, 12, "near_identity", 1.0), (8, 20, "conditioned", 1e8)]
    for N, d, ensemble, cond in cases:
        W = _layers(60, N, d, ensemble, cond, field, (3,))
        _, ok1, every = normal_pcg(W, check_every=1, preconditioner="jacobi")
        _, ok10, sparse = normal_pcg(W, check_every=10, preconditioner="jacobi")
        assert np.all(ok1) and np.all(ok10)
        assert np.all(np.abs(sparse["iterations"] - every["iterations"]) <= 1), (every, sparse)
        assert np.any(sparse["iterations"] % 10 != 0), sparse


@pytest.mark.parametrize("field", ["real", "complex"])
def test_auto_rejects_numerically_singular_X_on_the_normal_path(field):
    """Where auto iterates on the normal space (not the direct solve), cond(X) > 1e14 is still a
    RankDeficientError, raised from the singular values of the setup's SVD, alone or in a batch."""
    N, d = 4, 24
    assert not _fiber.auto_solves_directly(N, d, field == "complex")
    good = _layers(71, N, d, "conditioned", 1e2, field)
    u, sv, vh = np.linalg.svd(good[0])
    sv[-1] = 1e-17 * sv[0]  # W_1, and so X, numerically singular
    bad = good.copy()
    bad[0] = (u * sv) @ vh
    for W in (bad, np.stack([good, bad])):
        with pytest.raises(dln.RankDeficientError, match=r"X = end_to_end\(W\): rank deficient or numerically"):
            dln.fiber_gradient(W)
    assert np.all(np.isfinite(dln.fiber_gradient(good)))


def test_ritz_values_of_a_full_cg_run_are_the_extreme_eigenvalues():
    """After n steps of CG on an n x n SPD matrix the Lanczos tridiagonal built from the CG coefficients has the
    spectrum of the matrix: _ritz (LAPACK stebz on that tridiagonal) returns its extreme eigenvalues, computed
    here independently by numpy's eigvalsh (relative 1e-10: CG round-off on a matrix of condition 10)."""
    from dln._fiber_cg import _ritz

    rng = np.random.default_rng(3)
    n = 6
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.linspace(1.0, 10.0, n)) @ Q.T
    x, r = np.zeros(n), rng.standard_normal(n)
    p, rr = r.copy(), r @ r
    alphas, betas = np.ones((n + 1, 1)), np.zeros((n + 1, 1))
    for j in range(n):
        Ap = A @ p
        a = rr / (p @ Ap)
        x += a * p
        r -= a * Ap
        rr_new = r @ r
        alphas[j, 0], betas[j, 0] = a, rr_new / rr
        p = r + betas[j, 0] * p
        rr = rr_new
    ev = np.linalg.eigvalsh(A)
    assert abs(_ritz(alphas, betas, 0, n, "min") - ev[0]) <= 1e-10 * ev[-1]
    assert abs(_ritz(alphas, betas, 0, n, "max") - ev[-1]) <= 1e-10 * ev[-1]
