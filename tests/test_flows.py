"""Integration tests of the flows: LM Thm 2, Cor 1, (2.31), Inv/Cons, Remark 5, eq. 4.1."""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln import _linalg as la
from dln.tolerances import tol

FIELDS = ("real", "complex")

#: Tolerance for LM-Thm2's max relative error of G(t) against G0 e^{-2t}.
#: Group integrator at its default rtol = 1e-10 on the increment: measured ~3e-11 (real) and ~8e-11 (complex).
THM2_G = tol("ode_adaptive")


def _rng(*tags):
    return dln.rng_from_params(test="flows", tags=list(tags))


def _dG(W, V):
    """Derivative of the moment map: dG_k(V) = V_k W_k^* + W_k V_k^* - V_{k+1}^* W_{k+1} - W_{k+1}^* V_{k+1}."""
    lo, hi, vlo, vhi = W[..., :-1, :, :], W[..., 1:, :, :], V[..., :-1, :, :], V[..., 1:, :, :]
    return vlo @ la.H(lo) + lo @ la.H(vlo) - la.H(vhi) @ hi - la.H(hi) @ vhi


# ----------------------------------------------------------------------------- LM Thm 2


@pytest.mark.claims("LM-Thm2")
@pytest.mark.parametrize("field", FIELDS)
def test_thm2_regularizing_flow(field):
    """G(t) = G0 e^{-2t}, X(t) = X0 to round-off, |W(T)|^2 -> N sum sigma^{2/N} (d=4, N=6, t in [0, 5])."""
    N, d = 6, 4
    W0 = dln.random_layers(_rng("thm2", field), N, d, field)
    t = np.linspace(0.0, 5.0, 26)
    Wt = dln.regularizing_flow(W0, t)
    assert Wt.shape == (t.size, N, d, d) and Wt.dtype == W0.dtype
    G = dln.moments(Wt)
    pred = G[0] * np.exp(-2.0 * t)[:, None, None, None]
    assert np.max(la.norm(G - pred, 3) / la.norm(pred, 3)) <= THM2_G
    X = dln.end_to_end(Wt)
    assert np.max(la.norm(X - X[0]) / la.norm(X[0])) <= tol("group_conservation")
    sigma = np.linalg.svd(X[0], compute_uv=False)
    w2 = la.sqnorm(Wt, 3)
    w2_min = N * np.sum(sigma ** (2.0 / N))
    assert np.all(np.diff(w2) < 0)  # gradient flow of (1/2)|W|^2
    excess = w2 - w2_min
    assert np.all(excess > 0)
    # |W|^2 - min = O(|G|^2) = O(e^{-4t}): fitted rate over t in [T/2, T] (measured -3.995 / -3.999)
    late = t >= t[-1] / 2
    assert abs(np.polyfit(t[late], np.log(excess[late]), 1)[0] + 4.0) <= 0.05
    assert excess[-1] / w2_min <= 1e-7


@pytest.mark.claims("LM-Lem5", "LM-(2.21)")
@pytest.mark.parametrize("field", FIELDS)
def test_direct_generator_matches_library_solvers(field):
    from dln._flows import _generator_direct

    W = dln.random_layers(_rng("direct", field), 5, 3, field, batch=(2,))
    b = _generator_direct(W)
    ref = dln.regularizing_generator(W, method="dense")
    assert la.norm(b - ref, 3).max() <= tol("solver_agreement") * la.norm(ref, 3).max()
    # the library's iterative solver drives the same flow
    t = np.array([0.0, 0.1])
    Wa = dln.regularizing_flow(W[0], t)
    Wb = dln.regularizing_flow(W[0], t, solver="pcg")
    assert la.norm(Wa - Wb, 3).max() <= 1e-8 * la.norm(Wa, 3).max()


def test_regularizing_flow_keeps_balanced_points_fixed():
    X = dln.random_matrix(_rng("bal"), (3, 3), "real")
    Wb = dln.balanced_point(X, 4, _rng("bal2"))
    Wt = dln.regularizing_flow(Wb, [0.0, 1.0])
    assert la.norm(Wt[-1] - Wb, 3) <= tol("identity") * la.norm(Wb, 3)


def test_regularizing_flow_rejects_bad_inputs():
    W0 = dln.random_layers(_rng("bad"), 3, 2)
    with pytest.raises(dln.DLNError, match="t"):
        dln.regularizing_flow(W0, [0.5, 1.0])
    with pytest.raises(dln.DLNError, match="t"):
        dln.regularizing_flow(W0, [0.0, 1.0, 0.5])
    with pytest.raises(dln.DLNError, match="W0"):
        dln.regularizing_flow(W0[..., :1], [0.0, 1.0])
    Wsing = W0.copy()
    Wsing[1] = 0.0
    with pytest.raises(dln.RankDeficientError):
        dln.regularizing_flow(Wsing, [0.0, 1.0])
    with pytest.raises(dln.DLNError, match="method"):
        dln.regularizing_flow(W0, [0.0, 1.0], method="euler")
    with pytest.raises(dln.DLNError, match="solver"):
        dln.regularizing_flow(W0, [0.0, 1.0], solver="normal")


# ----------------------------------------------------------------------------- LM Cor 1 and (2.31)


@pytest.mark.claims("LM-Cor1")
@pytest.mark.parametrize("field", FIELDS)
def test_cor1_kirwan_ness_converges_to_balanced_point(field):
    """KN flow, d=3, N=5, T=40: |G(T)| small, X conserved to round-off, layer singular values -> sigma(X)^{1/N}."""
    N, d = 5, 3
    W0 = dln.random_layers(_rng("cor1", field), N, d, field)
    t = np.array([0.0, 10.0, 20.0, 40.0])
    Wt = dln.kirwan_ness_flow(W0, t, rtol=1e-8)
    G = la.norm(dln.moments(Wt), 3)
    assert G[-1] <= 1e-5 * G[0]
    X = dln.end_to_end(Wt)
    assert np.max(la.norm(X - X[0]) / la.norm(X[0])) <= tol("group_conservation")
    s_layers = np.linalg.svd(Wt[-1], compute_uv=False)
    s_X = np.linalg.svd(X[0], compute_uv=False)
    assert np.max(np.abs(s_layers - s_X[None, :] ** (1.0 / N))) <= 1e-5
    # the limit is a single point: the velocity vanishes
    V = dln.kirwan_ness_field(Wt[-1])
    assert la.norm(V, 3) <= 1e-4


@pytest.mark.claims("LM-Cor1-rates")
@pytest.mark.parametrize("field", FIELDS)
def test_cor1_rank_deficient_start_decays_slowly(field):
    """The KN flow does not need full rank; from a rank-deficient start |G| decays algebraically, not exponentially."""
    N, d = 5, 3
    W0 = dln.random_layers(_rng("cor1-rd", field), N, d, field)
    U, s, Vh = np.linalg.svd(W0[2])
    s[-1] = 0.0
    W0[2] = (U * s) @ Vh
    t = np.array([0.0, 10.0, 20.0, 40.0])
    Wt = dln.kirwan_ness_flow(W0, t, rtol=1e-8)
    G = la.norm(dln.moments(Wt), 3)
    assert np.all(np.diff(G) < 0)
    assert G[3] / G[2] > 0.2  # about t^{-1}; an exponential rate would give a ratio ~1e-4 here
    X = dln.end_to_end(Wt)
    assert np.max(la.norm(X - X[0])) <= tol("group_conservation") * la.norm(X[0])
    assert np.linalg.matrix_rank(X[-1], tol=1e-10 * la.norm(X[0])) == d - 1


@pytest.mark.claims("LM-(2.31)")
@pytest.mark.parametrize("field", FIELDS)
def test_2_31_energy_identity_factor_minus_four(field):
    """d/dt (1/2)|G|^2 = -4 |w_G|^2 along the KN flow (LM prints -2)."""
    W0 = dln.random_layers(_rng("2.31", field), 4, 3, field)
    Wt = dln.kirwan_ness_flow(W0, [0.0, 0.05, 0.2])
    for W in Wt:
        G = dln.moments(W)
        V = dln.kirwan_ness_field(W)
        rate = la.inner(G, _dG(W, V), 3)
        wG2 = la.sqnorm(dln.orbit_tangent(W, G), 3)
        assert abs(rate / wG2 + 4.0) <= tol("identity")
    # cross-check by differentiating the integrated trajectory (second-order one-sided difference)
    h = 1e-6
    Ws = dln.kirwan_ness_flow(W0, [0.0, h, 2 * h], rtol=1e-13)
    f = 0.5 * la.sqnorm(dln.moments(Ws), 3)
    rate_fd = (-3 * f[0] + 4 * f[1] - f[2]) / (2 * h)
    wG2 = la.sqnorm(dln.orbit_tangent(W0, dln.moments(W0)), 3)
    assert abs(rate_fd / wG2 + 4.0) <= 1e-5


# ----------------------------------------------------------------------------- LM Inv, Cons, Rem 5, 4.1


@pytest.mark.claims("LM-Inv", "LM-Cons")
@pytest.mark.parametrize("field", FIELDS)
def test_inv_and_cons_learning_flow(field):
    """E = (1/2)|X - Y|^2: G = 0 stays 0 from a balanced start (LM-Inv); G(t) = G0 from any start (LM-Cons)."""
    rng = _rng("inv", field)
    N, d = 4, 3
    Y = dln.random_matrix(rng, (d, d), field)

    def grad_E(X):
        return X - Y

    t = np.linspace(0.0, 2.0, 5)
    Wb = dln.balanced_point(dln.random_matrix(rng, (d, d), field), N, rng)
    Wt = dln.learning_flow(Wb, grad_E, t)
    assert Wt.dtype == Wb.dtype
    assert np.max(la.norm(dln.moments(Wt), 3)) <= tol("identity")
    W0 = dln.random_layers(rng, N, d, field)
    Wt = dln.learning_flow(W0, grad_E, t)
    G = dln.moments(Wt)
    assert np.max(la.norm(G - G[0], 3)) <= tol("identity") * la.norm(G[0], 3)
    # the loss decreases
    loss = la.sqnorm(dln.end_to_end(Wt) - Y)
    assert np.all(np.diff(loss) < 0)


@pytest.mark.claims("LM-Rem5")
@pytest.mark.parametrize("field", FIELDS)
def test_rem5_learning_flow_matches_end_to_end_flow(field):
    rng = _rng("rem5", field)
    N, d = 4, 3
    Y = dln.random_matrix(rng, (d, d), field)

    def grad_E(X):
        return X - Y

    t = np.linspace(0.0, 2.0, 5)
    Wb = dln.balanced_point(dln.random_matrix(rng, (d, d), field), N, rng)
    X_W = dln.end_to_end(dln.learning_flow(Wb, grad_E, t, rtol=1e-12, atol=1e-14))
    X_e = dln.end_to_end_flow(dln.end_to_end(Wb), grad_E, N, t, rtol=1e-12, atol=1e-14)
    assert X_e.dtype == X_W.dtype
    assert np.max(la.norm(X_W - X_e) / la.norm(X_e)) <= 1e-9


@pytest.mark.claims("LM-Rem5")
@pytest.mark.parametrize("field", FIELDS)
def test_rem5_singular_value_ode(field):
    """E = (1/p) sum sigma^p: sigma_i' = -N sigma_i^{2-2/N} sigma_i^{p-1}, solved in closed form."""
    rng = _rng("rem5-sv", field)
    N, d, p = 3, 3, 2.0
    X0 = dln.random_matrix(rng, (d, d), field)

    def grad_E(X):
        U, s, Vh = np.linalg.svd(X)
        return (U * s ** (p - 1)) @ Vh

    t = np.linspace(0.0, 1.0, 5)
    Xt = dln.end_to_end_flow(X0, grad_E, N, t, rtol=1e-12, atol=1e-14)
    s = np.linalg.svd(Xt, compute_uv=False)
    a = p + 1.0 - 2.0 / N  # sigma' = -N sigma^a  =>  sigma^{1-a}(t) = sigma0^{1-a} - (1-a) N t
    s_pred = (s[0] ** (1 - a) - (1 - a) * N * t[:, None]) ** (1.0 / (1 - a))
    assert np.max(np.abs(s - s_pred) / s_pred) <= 1e-9
    # and the learning flow from a balanced start gives the same singular values
    Wb = dln.balanced_point(X0, N, rng)
    s_W = np.linalg.svd(dln.end_to_end(dln.learning_flow(Wb, grad_E, t, rtol=1e-12, atol=1e-14)), compute_uv=False)
    assert np.max(np.abs(s_W - s_pred) / s_pred) <= 1e-9


@pytest.mark.claims("LM-4.1")
@pytest.mark.parametrize("field", FIELDS)
def test_regularized_flow_G_decays_at_rate_two_kappa(field):
    rng = _rng("4.1", field)
    N, d, kappa = 4, 3, 0.3
    Y = dln.random_matrix(rng, (d, d), field)
    W0 = dln.random_layers(rng, N, d, field)
    t = np.linspace(0.0, 3.0, 7)
    Wt = dln.regularized_flow(W0, lambda X: X - Y, kappa, t)
    G = dln.moments(Wt)
    pred = G[0] * np.exp(-2 * kappa * t)[:, None, None, None]
    assert np.max(la.norm(G - pred, 3) / la.norm(pred, 3)) <= tol("ode_adaptive")
    # kappa = 0 is the learning flow
    W_a = dln.regularized_flow(W0, lambda X: X - Y, 0.0, t)
    W_b = dln.learning_flow(W0, lambda X: X - Y, t)
    assert np.max(la.norm(W_a - W_b, 3)) <= tol("identity")


def test_learning_flows_validate_inputs():
    rng = _rng("validate")
    W0 = dln.random_layers(rng, 3, 2)

    def grad_E(X):
        return X

    with pytest.raises(dln.DLNError, match="kappa"):
        dln.regularized_flow(W0, grad_E, -1.0, [0.0, 1.0])
    with pytest.raises(dln.DLNError, match="kappa"):
        dln.regularized_flow(W0, grad_E, np.nan, [0.0, 1.0])
    with pytest.raises(dln.DLNError, match="grad_E"):
        dln.learning_flow(W0, lambda X: X[..., 0], [0.0, 1.0])
    with pytest.raises(dln.DLNError, match="grad_E"):
        dln.learning_flow(W0, "not callable", [0.0, 1.0])
    with pytest.raises(dln.DLNError, match="t"):
        dln.learning_flow(W0, grad_E, [[0.0, 1.0]])
    with pytest.raises(dln.DLNError, match="N"):
        dln.end_to_end_flow(np.eye(2), grad_E, 0, [0.0, 1.0])
    with pytest.raises(dln.RankDeficientError):
        dln.end_to_end_flow(np.zeros((2, 2)), grad_E, 3, [0.0, 1.0])
    with pytest.raises(dln.DLNError, match="W0"):
        dln.learning_flow(np.full((3, 2, 2), np.nan), grad_E, [0.0, 1.0])


def test_flows_batch_shapes_and_single_time():
    rng = _rng("shapes")
    W0 = dln.random_layers(rng, 3, 2, "complex", batch=(2,))
    Wt = dln.kirwan_ness_flow(W0, [0.0])
    assert Wt.shape == (1, 2, 3, 2, 2) and np.array_equal(Wt[0], W0)
    Wt = dln.learning_flow(W0, lambda X: X, [0.0, 0.1, 0.2])
    assert Wt.shape == (3, 2, 3, 2, 2) and Wt.dtype == np.complex128


# ----------------------------------------------------------------------------- experiments


@pytest.mark.claims("LM-Fig1.1", "LM-Fig1.2", "LM-Fig1.3")
def test_experiment_lm_figures():
    """LM Figs. 1.1-1.3 data: fibers and moment level sets preserved, balanced x(t) = reduced flow."""
    from dln.experiments import lm_figures as ex

    ds = ex.simulate(dict(ex.SPEC.defaults, n_t=21))
    assert float(ds["fiber_err"]) <= tol("identity_tight")  # X conserved by the group integrator
    assert float(ds["learn_G_drift"]) <= tol("identity")  # LM-Cons along the learning flow
    assert float(ds["x_reduced_err"]) <= tol("ode_tight")  # LM Remark 5 for d = 1, N = 2
    G = ds["G_norm"].values  # (t, field, run): Fig. 1.2 right, slope -2
    t = ds["t_reg"].values
    rel = np.abs(G / G[:1] - np.exp(-2.0 * t)[:, None, None]) / np.exp(-2.0 * t)[:, None, None]
    assert rel.max() <= tol("ode_adaptive")
    # each regularizing trajectory ends near the balanced variety w2 = +-w1
    w1, w2 = ds["reg_w1"].values[-1], ds["reg_w2"].values[-1]
    assert np.all(np.abs(w1**2 - w2**2) <= np.abs(ds["reg_w1"].values[0] ** 2 - ds["reg_w2"].values[0] ** 2) * 0.01)


# ----------------------------------------------------------------------------- batched small-d H-solve


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(("N", "d", "batch"), [(2, 1, ()), (2, 3, (2,)), (5, 3, (2,)), (6, 4, ()), (9, 2, (3, 2))])
def test_dense_generator_matches_the_library_solvers(field, N, d, batch):
    """The assembled H equals gram_matrix (the tangent matrix's Gram) and its solve the block and dense solvers."""
    from dln._flow_generator import generator_dense, gram_matrix_batched
    from dln._flows import _generator_direct

    W = dln.random_layers(_rng("gen-dense", field, N, d), N, d, field, batch=batch)
    Hm = gram_matrix_batched(W)
    ref_H = dln.gram_matrix(W)
    assert Hm.shape == ref_H.shape and Hm.dtype == W.dtype
    assert np.max(np.abs(Hm - ref_H)) <= tol("identity_tight") * np.max(np.abs(ref_H))
    b = generator_dense(W)
    assert b.shape == W.shape[:-3] + (N - 1, d, d)
    ref = dln.regularizing_generator(W, method="dense")
    scale = la.norm(ref, 3)
    assert np.all(la.norm(b - ref, 3) <= tol("solver_agreement") * scale)
    assert np.all(la.norm(b - _generator_direct(W), 3) <= tol("solver_agreement") * scale)
    # residual of H(b) = G in the operator form
    res = dln.gram_operator(W, b) - dln.moments(W)
    assert np.all(la.norm(res, 3) <= tol("linear_solve") * la.norm(dln.moments(W), 3))


def test_dense_generator_raises_on_rank_deficient_layers():
    from dln._flow_generator import generator_dense

    W = dln.random_layers(_rng("gen-dense-sing"), 3, 2, "real", batch=(2,))
    W[1, 0] = W[1, 1] = 0.0  # W_1 = W_2 = 0: w_a = 0 for every a_1, so H is singular
    W[1, 2] = np.diag([1.0, 0.0])
    with pytest.raises(dln.RankDeficientError, match="singular"):
        generator_dense(W)


def test_auto_solver_picks_the_dense_solve_for_small_systems():
    from dln._flow_generator import DENSE_MAX, use_dense

    assert use_dense(np.zeros((6, 4, 4)))  # n = 80
    assert use_dense(np.zeros((3, 2, 4, 3, 3)))  # n = 27, 6 items
    assert not use_dense(np.zeros((8, 6, 4, 4)))  # 8 items of n = 80: the batched block solve is cheaper
    assert not use_dense(np.zeros((2 + DENSE_MAX // 4, 2, 2)))  # n = (N-1) 4 > DENSE_MAX
    assert not use_dense(np.zeros((6, 4, 4), dtype=complex))  # complex n = 80 > DENSE_MAX_COMPLEX


@pytest.mark.parametrize("field", FIELDS)
def test_regularizing_flow_methods_agree(field):
    """The default RKMK 8(5,3) (linear coordinates) and RKMK 5(4) (exp) give the same trajectory; both keep X."""
    W0 = dln.random_layers(_rng("methods", field), 4, 3, field)
    t = np.linspace(0.0, 2.0, 5)
    stats = {}
    Wa = dln.regularizing_flow(W0, t, stats=stats)
    Wb = dln.regularizing_flow(W0, t, method="dp54", rtol=1e-12)
    assert np.max(la.norm(Wa - Wb, 3) / la.norm(Wb, 3)) <= tol("ode_tight")
    G = dln.moments(Wa)
    pred = G[0] * np.exp(-2.0 * t)[:, None, None, None]
    assert np.max(la.norm(G - pred, 3) / la.norm(pred, 3)) <= 1e-10
    for W in (Wa, Wb):
        X = dln.end_to_end(W)
        assert np.max(la.norm(X - X[0]) / la.norm(X[0])) <= tol("group_conservation")
    assert stats["n_evals"] == 12 * (stats["n_steps"] + stats["n_rejected"]) + 1


@pytest.mark.parametrize("field", FIELDS)
def test_kirwan_ness_flow_methods_agree(field):
    """The default RKMK 8(5,3) (linear coordinates) and RKMK 5(4) (exp) give the same Kirwan-Ness trajectory, X kept to
    round-off by both, and the default takes fewer steps."""
    W0 = dln.random_layers(_rng("kn-methods", field), 5, 3, field)
    t = np.linspace(0.0, 4.0, 9)
    sa, sb = {}, {}
    Wa = dln.kirwan_ness_flow(W0, t, stats=sa)
    Wb = dln.kirwan_ness_flow(W0, t, method="dp54", rtol=1e-12, stats=sb)
    assert np.max(la.norm(Wa - Wb, 3) / la.norm(Wb, 3)) <= tol("ode_tight")
    for W in (Wa, Wb):
        X = dln.end_to_end(W)
        assert np.max(la.norm(X - X[0]) / la.norm(X[0])) <= tol("group_conservation")
    s54 = {}
    dln.kirwan_ness_flow(W0, t, method="dp54", stats=s54)  # the same rtol as the default
    assert sa["n_steps"] < s54["n_steps"]


def test_moment_decay_curves_match_the_per_point_dense_solves():
    """|G(t)| for a batch in one integration (batched dense H) = the per-item least-squares solves of solver="dense"."""
    from dln._lm_curves import regularizing_moment_decay

    for field in FIELDS:
        W = dln.random_layers(_rng("lm-curves", field), 4, 3, field, batch=(3,))
        t = np.linspace(0.0, 1.0, 6)
        G = regularizing_moment_decay(W, t)
        Wt = dln.regularizing_flow(W, t, solver="dense")
        ref = np.sqrt(np.sum(np.abs(dln.moments(Wt)) ** 2, axis=(-3, -2, -1)))
        assert G.shape == (t.size, 3)
        assert np.max(np.abs(G - ref) / ref) <= tol("ode_tight")
        assert np.max(np.abs(G / (G[0] * np.exp(-2.0 * t)[:, None]) - 1.0)) <= 1e-10
