"""The geometry of fibers and moments (LM §1-§3, MY's metric) at random points, by two independent routes.

One job = one (d, N, field): ``n_seeds`` random points W (iid Gaussian layers), each with random Lie-algebra
elements a, b, c, random matrices Y, Z, P, and a balanced point W_bal = U.C of the minimizing orbit of
X = phi(W). For every point it records

- **implementation errors**: each public function of :mod:`dln` (fast, batched) against the paper's formula
  evaluated term by term in :mod:`dln._reference` (``err_<function>``);
- **statement residuals**: each identity of the papers evaluated on the printed formulas alone (exact
  residuals, central finite differences and Taylor-remainder slopes), together with the residuals of the
  statements as printed where they differ (errata).

The claims of :mod:`dln.checks.lm_fibers` read this dataset. Every residual is relative (the norms are
Frobenius norms, the inner product Re Tr(A^* B)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .. import _reference as ref
from .._linalg import expm
from .._random import random_layers, random_matrix, rng_from_params
from ._conventions import data_array, finalize_job
from ._spec import Spec, param

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("d", 3, sweep=True),
    param("N", 4, sweep=True, minimum=3),
    param("field", "real", sweep=True),
    param("n_seeds", 3),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Fibers and moments at random points (LM §1-3), all jobs"
SUMMARY = "Implementation errors against the printed formulas and residuals of the structural identities."
REFERENCES = ["LM", "MY"]


#: The sweep of ``dln check`` (in memory): 2 widths x 2 depths x 2 fields x 3 seeds.
LEDGER: dict = {"sweep": {"d": [2, 3], "N": [3, 4], "field": ["real", "complex"]}, "fixed": {"n_seeds": 3}}

#: The mutation tests' sweep (one point per field: every mutant must be noticed on it alone).
MUTATION: dict = {"sweep": {"field": ["real", "complex"]}, "fixed": {"d": 3, "N": 4, "n_seeds": 1}}

#: Relative cost of simulating the LEDGER sweep (orders the mutation tests: cheapest family first).
COST = 1.0

#: The book's figures drawn from this family's dataset: file name -> drawing function (none).
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {}

#: The fiber-gradient methods compared (``dln.SOLVERS``).
METHODS = ("auto", "block", "pcg", "dense", "normal")

#: Step of the central finite differences.
H_FD = 1e-5


def _rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-300))


def _nrm(a) -> float:
    return float(np.linalg.norm(np.asarray(a).ravel()))


def _exp_act(a, W, t):
    """e^{t a}.W with the reference action (LM eq. 2.1, 1.6)."""
    return ref.action(expm(t * a), W)


def _sqn(W) -> float:
    return _nrm(W) ** 2


def _real_rank(linear_map, shape, dtype) -> int:
    M = ref.real_matrix(linear_map, shape, dtype)
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s > s[0] * 1e-10))


def point(d: int, N: int, field: str, rng: np.random.Generator) -> dict:
    """Every number of one random point (see the module docstring); a dict name -> float (or per-method dict)."""
    import dln

    W = random_layers(rng, N, d, field)
    a, b, c = (random_matrix(rng, (N - 1, d, d), field) for _ in range(3))
    Y, Z, Z2, P = (random_matrix(rng, (d, d), field) for _ in range(4))
    A = np.eye(d) + 0.5 * random_matrix(rng, (N - 1, d, d), field)  # a group element near the identity
    X = ref.product(W)
    G = ref.moments(W)
    Wb = dln.balanced_point(X, N, rng)
    out: dict = {}

    # --- implementations against the printed formulas -------------------------------------------------
    out["err_end_to_end"] = _rel(dln.end_to_end(W), X)
    out["err_moments"] = _rel(dln.moments(W), G)
    Pk, Qk = dln.partial_products(W)
    out["err_partial_products"] = max(
        _rel(Pk, np.array([ref._P(W, k) for k in range(1, N + 1)])),
        _rel(Qk, np.array([ref._Q(W, k) for k in range(1, N + 1)])),
    )
    V = random_matrix(rng, (N, d, d), field)
    out["err_dphi"] = _rel(dln.dphi(W, V), ref.dphi(W, V))
    out["err_dphi_adjoint"] = _rel(dln.dphi_adjoint(W, Y), ref.dphi_adjoint(W, Y))
    out["err_act"] = _rel(dln.act(A, W), ref.action(A, W))
    out["err_center"] = _rel(dln.center(X, N), ref.center(X, N))
    QN, sig, Q0, lam = dln.svd_center(X, N)
    s_ = np.linalg.svd(X, compute_uv=False)
    out["err_svd_center"] = max(
        _rel((QN * sig) @ ref.adj(Q0), X),
        _rel(ref.adj(QN) @ QN, np.eye(d)),
        _rel(ref.adj(Q0) @ Q0, np.eye(d)),
        _rel(sig, s_),
        _rel(lam, s_ ** (1.0 / N)),
    )
    out["err_fiber_coordinates"] = _rel(ref.action(dln.fiber_coordinates(W), ref.center(X, N)), W)
    out["err_orbit_tangent"] = _rel(dln.orbit_tangent(W, a), ref.tangent(W, a))
    Vn = random_matrix(rng, (N, d, d), field)
    adj_lhs = ref.inner(ref.tangent(W, a), Vn)
    adj_rhs = ref.inner(a, dln.orbit_tangent_adjoint(W, Vn))
    out["err_orbit_tangent_adjoint"] = abs(adj_lhs - adj_rhs) / (_nrm(ref.tangent(W, a)) * _nrm(Vn))
    Tm = dln.tangent_matrix(W)
    out["err_tangent_matrix"] = _rel(Tm @ a.ravel(), ref.tangent(W, a).ravel())
    out["err_gram_operator"] = _rel(dln.gram_operator(W, c), ref.H_op(W, c))
    Hm = ref.H_matrix(W)
    out["err_gram_matrix"] = _rel(dln.gram_matrix(W), Hm)
    out["err_kirwan_ness_field"] = _rel(dln.kirwan_ness_field(W), ref.kirwan_ness(W))
    b_ref = ref.generator_dense(W)
    out["err_regularizing_generator"] = _rel(dln.regularizing_generator(W), b_ref)
    grad_ref = ref.tangent_projection(W, W)  # the fiber gradient of |W|^2/2: W projected on T_W F_X
    for m in METHODS:
        out[f"err_fiber_gradient_{m}"] = _rel(dln.fiber_gradient(W, method=m), grad_ref)
    out["err_balanced_point"] = max(_nrm(ref.moments(Wb)) / _sqn(Wb), _rel(ref.product(Wb), X))
    Xb = X
    # A_{N,X} is ill-conditioned for ill-conditioned X: errors are measured against the operator's scale (its
    # largest singular value s_max for A, 1/s_min for A^{-1}), the normwise accuracy a stable method reaches
    Am = ref.A_matrix(Xb, N)
    sv_A = np.linalg.svd(Am, compute_uv=False)
    s_max, s_min = float(sv_A[0]), float(sv_A[-1])
    out["cond_A"] = s_max / s_min
    AP_ref = ref.A_operator(Xb, P, N)
    out["err_A_operator"] = _nrm(dln.A_operator(Xb, P, N) - AP_ref) / (s_max * _nrm(P))
    Ainv_Z = ref._from_real(np.linalg.solve(Am, ref._to_real(Z)), Z.shape, Z.dtype)
    Ainv_Z2 = ref._from_real(np.linalg.solve(Am, ref._to_real(Z2)), Z.shape, Z.dtype)
    out["err_A_operator_inverse"] = _nrm(dln.A_operator_inverse(Xb, Z, N) - Ainv_Z) * s_min / _nrm(Z)
    g_ref = ref.inner(Z, Ainv_Z2)
    out["err_metric_gN"] = abs(float(dln.metric_gN(Xb, Z, Z2, N)) - g_ref) * s_min / (_nrm(Z) * _nrm(Z2))
    L_ref = ref.dphi_adjoint(Wb, Ainv_Z)
    # |dphi^*| = sqrt(s_max) at a balanced point (dphi dphi^* = A): the lift's scale is sqrt(s_max) |Z| / s_min
    out["err_horizontal_lift"] = _nrm(dln.horizontal_lift(Wb, Z) - L_ref) * s_min / (np.sqrt(s_max) * _nrm(Z))
    out["err_riemannian_gradient"] = _nrm(dln.riemannian_gradient(Xb, P, N) - AP_ref) / (s_max * _nrm(P))
    out["err_end_to_end_velocity"] = _nrm(dln.end_to_end_velocity(Xb, P, N) + AP_ref) / (s_max * _nrm(P))
    # the spectral kernel is the coefficient of A_{N,X} in the singular basis:
    # K_il = <E_il, A(E_il)>, E_il = U e_i e_l^* V^*
    Usv, ssv, Vhsv = np.linalg.svd(Xb)
    K_ref = np.empty((d, d))
    for i in range(d):
        for j in range(d):
            E = np.outer(Usv[:, i], Vhsv[j, :])
            K_ref[i, j] = ref.inner(E, ref.A_operator(Xb, E, N))
    out["err_spectral_kernel"] = float(np.max(np.abs(dln.spectral_kernel(ssv, N) - K_ref))) / s_max

    # --- statements ------------------------------------------------------------------------------------
    # LM-Cons: normal vectors dphi^*(Y) lie in ker dG
    Vn_ = ref.dphi_adjoint(W, Y)
    out["cons_dG"] = _nrm(ref.dG(W, Vn_)) / (_nrm(W) * _nrm(Vn_))
    out["cons_slope"], _ = ref.taylor_remainder_slope(lambda t: _nrm(ref.moments(W + t * Vn_) - G))

    # LM Lemma 1, corrected and printed constructions
    C = ref.center(X, N)
    out["lem1_corrected"] = _rel(ref.action(ref.lemma1_corrected(W), C), W)
    out["lem1_printed"] = _rel(ref.action(ref.lemma1_printed(W), C), W)

    # LM Lemma 2: dF(W) w_a = sum Re Tr(G_k^* a_k), F = |W|^2/2
    dF = ref.inner(G, a)
    out["lem2_exact"] = abs(ref.inner(W, ref.tangent(W, a)) - dF) / (_sqn(W) * _nrm(a))
    out["lem2_slope"], _ = ref.taylor_remainder_slope(
        lambda t: abs(0.5 * _sqn(_exp_act(a, W, t)) - 0.5 * _sqn(W) - t * dF)
    )

    # LM Definition 8: the block formulas of H reproduce (2.8); H is Hermitian positive definite
    out["def8_blocks"] = _rel(Hm @ c.ravel(), ref.H_op(W, c).ravel())
    out["def8_hermitian"] = _nrm(Hm - Hm.conj().T) / _nrm(Hm)
    eig = np.linalg.eigvalsh(0.5 * (Hm + Hm.conj().T))
    out["def8_min_eig"] = float(eig[0] / eig[-1])

    # LM Lemma 3 (both equalities of 2.9)
    wa, wb = ref.tangent(W, a), ref.tangent(W, b)
    lhs = ref.inner(wb, wa)
    scale = _nrm(wa) * _nrm(wb)
    out["lem3_first"] = abs(lhs - ref.inner(ref.H_op(W, b), a)) / scale
    out["lem3_second"] = abs(lhs - ref.inner(b, ref.H_op(W, a))) / scale

    # LM Lemma 4: dG(w_c) = H(c) + H(c)^*, by central differences and by the Taylor remainder
    wc = ref.tangent(W, c)
    Hc = ref.H_op(W, c)
    Hsym = Hc + ref.adj(Hc)
    fd = (ref.moments(W + H_FD * wc) - ref.moments(W - H_FD * wc)) / (2 * H_FD)
    out["lem4_fd"] = _rel(fd, Hsym)
    out["lem4_slope"], _ = ref.taylor_remainder_slope(lambda t: _nrm(ref.moments(W + t * wc) - G - t * Hsym))

    # LM Lemma 5: grad_{F_X} |W|^2/2 = w_b with H(b) = G
    wb_ref = ref.tangent(W, b_ref)
    out["lem5_gradient"] = _rel(wb_ref, grad_ref)
    out["lem5_residual"] = _rel(ref.H_op(W, b_ref), G)
    dFa = ref.inner(wb_ref, wa)
    out["lem5_slope"], _ = ref.taylor_remainder_slope(
        lambda t: abs(0.5 * _sqn(_exp_act(a, W, t)) - 0.5 * _sqn(W) - t * dFa)
    )
    out["b_hermitian_fraction"] = _nrm(0.5 * (b_ref + ref.adj(b_ref))) / _nrm(b_ref)

    # (2.21): the Hermitian part of (2.19), with the factor W_k^* restored and as printed; its rank
    two_G = 2.0 * G
    out["eq221_restored"] = _rel(ref.eq_2_21_lhs(W, b_ref), two_G)
    out["eq221_printed"] = _rel(ref.eq_2_21_printed_lhs(W, b_ref), two_G)
    out["eq221_rank"] = _real_rank(lambda x: ref.eq_2_21_lhs(W, x), (N - 1, d, d), W.dtype)
    out["eq221_unknowns"] = (N - 1) * d * d * (2 if field == "complex" else 1)

    # the normal-space formula for the same gradient
    out["proj_normal_space"] = _rel(ref.normal_space_gradient(W), grad_ref)

    # LM Remark 9: dG(W) = dG(w_b) = +2G
    out["rem9_dG_W"] = _rel(ref.dG(W, W), two_G)
    out["rem9_dG_wb"] = _rel(ref.dG(W, wb_ref), two_G)
    out["rem9_ratio"] = ref.inner(ref.dG(W, wb_ref), G) / _sqn(G)
    out["rem9_printed"] = _rel(ref.dG(W, wb_ref), -two_G)

    # LM Theorem 10: (1.22) = -w_{2G}, the gradient of |G|^2/2 on the fiber, and (2.27)
    kn = ref.kirwan_ness(W)
    w2G = ref.tangent(W, 2.0 * G)
    out["thm10_field"] = _rel(kn, -w2G)
    dPhi = ref.inner(G, ref.dG(W, wa))  # d/dtau |G|^2/2 along w_a
    out["thm10_gradient"] = abs(dPhi - ref.inner(w2G, wa)) / (_nrm(w2G) * _nrm(wa))
    out["thm10_slope"], _ = ref.taylor_remainder_slope(
        lambda t: abs(0.5 * _sqn(ref.moments(_exp_act(a, W, t))) - 0.5 * _sqn(G) - t * ref.inner(w2G, wa))
    )
    HG = ref.H_op(W, G)
    out["thm10_2_27"] = _rel(ref.dG(W, kn), -2.0 * (HG + ref.adj(HG)))
    out["eq231_ratio"] = ref.inner(G, ref.dG(W, kn)) / _sqn(ref.tangent(W, G))

    # LM Remark 18: with psi(A) = |A.W|^2 as in (3.4), d psi(e)(a) = 2 sum Re Tr(G_k^* a_k)
    dpsi = (_sqn(_exp_act(a, W, H_FD)) - _sqn(_exp_act(a, W, -H_FD))) / (2 * H_FD)
    out["rem18_ratio"] = dpsi / dF
    # the central difference is accurate to ~h^2 |a|^3 |W|^2: the residual is measured on that scale
    out["rem18_residual"] = abs(dpsi - 2 * dF) / (_sqn(W) * _nrm(a))

    # LM Remark 5: at a balanced point, dphi dphi^* = A_{N,X}
    AP = ref.A_operator(X, P, N)
    out["rem5_residual"] = _nrm(ref.dphi(Wb, ref.dphi_adjoint(Wb, P)) - AP) / (s_max * _nrm(P))
    XX, XtX = X @ ref.adj(X), ref.adj(X) @ X
    swapped = sum(
        ref._hermitian_power(XtX, (N - j) / N) @ P @ ref._hermitian_power(XX, (j - 1) / N) for j in range(1, N + 1)
    )
    out["rem5_swapped"] = _rel(swapped, AP)

    # MY: the lift L = dphi^*(A^{-1} Z) at a balanced point is horizontal, maps to Z, has |L|^2 = g^N(Z, Z)
    gZZ = ref.inner(Z, Ainv_Z)
    out["metric_norm"] = abs(_sqn(L_ref) - gZZ) * s_min / _sqn(Z)
    out["metric_dphi"] = _nrm(ref.dphi(Wb, L_ref) - Z) / (s_max * _nrm(Ainv_Z))
    out["metric_horizontal"] = _nrm(ref.tangent_projection(Wb, L_ref)) / _nrm(L_ref)
    out["metric_tangent_to_M"] = _nrm(ref.dG(Wb, L_ref)) / (_nrm(Wb) * _nrm(L_ref))

    # the unnumbered display (2.7) before Definition 8
    H = ref.adj
    val = float(np.real(np.trace(H(b[N - 2]) @ H(W[N - 1]) @ W[N - 1] @ a[N - 2])))
    for k in range(2, N):
        val += float(
            np.real(
                np.trace(
                    (H(W[k - 1]) @ H(b[k - 1]) - H(b[k - 2]) @ H(W[k - 1]))
                    @ (a[k - 1] @ W[k - 1] - W[k - 1] @ a[k - 2])
                )
            )
        )
    val += float(np.real(np.trace(W[0] @ H(W[0]) @ H(b[0]) @ a[0])))
    out["eq27_residual"] = abs(val - lhs) / scale

    # LM §1.3.2: singular values and singular vectors of the layers of a balanced point
    Ul, sl, Vlh = np.linalg.svd(Wb)  # W_k = U_k diag(s_k) V_k^*
    Vl = np.conj(np.swapaxes(Vlh, -1, -2))
    sX = np.linalg.svd(X, compute_uv=False)
    out["align_singular_values"] = float(np.max(np.abs(sl - sX ** (1.0 / N)) / sX ** (1.0 / N)))
    sq = np.sum(np.abs(Wb) ** 2, axis=(-2, -1))
    out["align_norm_spread"] = float(np.ptp(sq) / np.mean(sq))
    Id = np.eye(d)
    out["align_corrected"] = float(np.max(np.abs(np.abs(H(Vl[1:]) @ Ul[:-1]) - Id)))  # |V_{k+1}^* U_k| = I
    out["align_printed"] = float(np.max(np.abs(np.abs(H(Vl[:-1]) @ Ul[1:]) - Id)))  # |V_k^* U_{k+1}| = I

    # dimensions: of the fiber (ker dphi) and of the balanced manifold (ker dG at a balanced point)
    mult = 2 if field == "complex" else 1
    out["dim_fiber"] = mult * N * d * d - _real_rank(lambda U: ref.dphi(W, U), W.shape, W.dtype)
    out["dim_fiber_expected"] = mult * (N - 1) * d * d
    out["dim_M"] = mult * N * d * d - _real_rank(lambda U: ref.dG(Wb, U), W.shape, W.dtype)
    out["dim_M_expected"] = d * d + (N - 1) * d * (d - 1) // 2 if field == "real" else 2 * d * d + (N - 1) * d * d
    return out


#: Long names of the recorded variables (every key of :func:`point`).
LONG_NAMES: dict[str, str] = {
    "err_end_to_end": "relative error of dln.end_to_end against X = W_N ... W_1 (LM 1.1)",
    "err_moments": "relative error of dln.moments against G_k = W_k W_k^* - W_{k+1}^* W_{k+1} (LM 1.11)",
    "err_partial_products": "relative error of dln.partial_products against P_k = W_N..W_{k+1}, Q_k = W_{k-1}..W_1",
    "err_dphi": "relative error of dln.dphi against sum_k P_k V_k Q_k",
    "err_dphi_adjoint": "relative error of dln.dphi_adjoint against (P_k^* Y Q_k^*)_k",
    "err_act": "relative error of dln.act against the action (LM 1.6)",
    "err_center": "relative error of dln.center against (Q_N Lambda, Lambda, ..., Lambda Q_0^*) (LM 1.2)",
    "err_svd_center": "max error of dln.svd_center: |Q_N Sigma Q_0^* - X|/|X|, unitarity of Q_N, Q_0, sigma and "
    "sigma^(1/N)",
    "err_fiber_coordinates": "|A.C - W| / |W| with A = dln.fiber_coordinates(W), reference action and centre",
    "err_orbit_tangent": "relative error of dln.orbit_tangent against w_a (LM 2.3)",
    "err_orbit_tangent_adjoint": "|<w_a, V> - <a, dln.orbit_tangent_adjoint(V)>| / (|w_a| |V|)",
    "err_tangent_matrix": "relative error of dln.tangent_matrix(W) vec(a) against vec(w_a) (LM 2.3)",
    "err_gram_operator": "relative error of dln.gram_operator against H_k(c) (LM 2.8)",
    "err_gram_matrix": "relative error of dln.gram_matrix against the block formulas of H (LM Def. 8)",
    "err_kirwan_ness_field": "relative error of dln.kirwan_ness_field against 2(W_k G_{k-1} - G_k W_k) (LM 1.22)",
    "err_regularizing_generator": "relative error of dln.regularizing_generator against a dense solve of (2.19)",
    "err_balanced_point": "max of |G(W_bal)| / |W_bal|^2 and |phi(W_bal) - X| / |X| for W_bal = dln.balanced_point",
    "err_A_operator": "|dln.A_operator(P) - sum_j (XX^*)^((N-j)/N) P (X^*X)^((j-1)/N)| / (s_max |P|), s_max the "
    "largest singular value of A_{N,X}",
    "cond_A": "condition number s_max / s_min of A_{N,X} (as a real-linear map)",
    "err_A_operator_inverse": "|dln.A_operator_inverse(Z) - dense solve of A_{N,X}| s_min / |Z|",
    "err_metric_gN": "|dln.metric_gN(Z, Z2) - <Z, A^{-1} Z2>| s_min / (|Z| |Z2|)",
    "err_horizontal_lift": "|dln.horizontal_lift(Z) - dphi^*(A^{-1} Z)| s_min / (sqrt(s_max) |Z|) at a balanced point",
    "err_riemannian_gradient": "|dln.riemannian_gradient(P) - A_{N,X}(P)| / (s_max |P|)",
    "err_end_to_end_velocity": "|dln.end_to_end_velocity(P) + A_{N,X}(P)| / (s_max |P|)",
    "err_spectral_kernel": "max_il |dln.spectral_kernel - <E_il, A_{N,X}(E_il)>| / s_max in the singular basis",
    "cons_dG": "|dG(dphi^* Y)| / (|W| |dphi^* Y|) (exact; LM-Cons)",
    "cons_slope": "log-log slope of |G(W + t dphi^* Y) - G(W)| against t (2 if dG(dphi^* Y) = 0)",
    "lem1_corrected": "|A.C - W| / |W|, A_{N-1} = W_N^{-1} Q_N Lambda, A_{k-1} = W_k^{-1} A_k Lambda",
    "lem1_printed": "|A.C - W| / |W| with A_{N-1} = Q_N Lambda W_N^{-1} as printed",
    "lem2_exact": "|<W, w_a> - sum Re Tr(G_k^* a_k)| / (|W|^2 |a|) (LM 2.5)",
    "lem2_slope": "Taylor-remainder slope of |W|^2/2 along e^{ta}.W with derivative sum Re Tr(G^* a)",
    "def8_blocks": "relative difference between the block matrix of H applied to c and H(c) (LM 2.8)",
    "def8_hermitian": "|M - M^*| / |M| for the block matrix M of H",
    "def8_min_eig": "smallest eigenvalue of the block matrix of H over its largest",
    "lem3_first": "|<w_b, w_a> - sum Re Tr(H_k(b)^* a_k)| / (|w_a| |w_b|) (LM 2.9, first equality)",
    "lem3_second": "|<w_b, w_a> - sum Re Tr(b_k^* H_k(a))| / (|w_a| |w_b|) (LM 2.9, second equality)",
    "lem4_fd": "relative error of the central difference (h = 1e-5) of G along w_c against H(c) + H(c)^*",
    "lem4_slope": "Taylor-remainder slope of G along W + t w_c with derivative H(c) + H(c)^*",
    "lem5_gradient": "|w_b - proj_{T F_X} W| / |proj W| with H(b) = G solved densely (LM Lemma 5)",
    "lem5_residual": "|H(b) - G| / |G| of the dense solve",
    "lem5_slope": "Taylor-remainder slope of |W|^2/2 along e^{ta}.W with derivative <w_b, w_a>",
    "b_hermitian_fraction": "|Herm(b)| / |b|: b is not Hermitian in general",
    "eq221_restored": "|lhs(2.21) - 2G| / |2G| with the factor W_k^* of the first term restored",
    "eq221_printed": "|lhs(2.21) - 2G| / |2G| with (2.21) as printed",
    "eq221_rank": "real rank of b -> H(b) + H(b)^* (the left side of 2.21)",
    "eq221_unknowns": "real dimension of gl(d)^{N-1} (unknowns of 2.19)",
    "proj_normal_space": "|W - dphi^*(Y) - proj W| / |proj W|, sum_k P_k P_k^* Y Q_k^* Q_k = N X",
    "rem9_dG_W": "|dG(W) - 2G| / |2G| (LM Remark 9, sign corrected)",
    "rem9_dG_wb": "|dG(w_b) - 2G| / |2G|",
    "rem9_ratio": "<dG(w_b), G> / |G|^2 (LM prints -2)",
    "rem9_printed": "|dG(w_b) - (-2G)| / |2G| (the sign as printed)",
    "thm10_field": "|(1.22) + w_{2G}| / |w_{2G}|",
    "thm10_gradient": "|d(|G|^2/2)(w_a) - <w_{2G}, w_a>| / (|w_{2G}| |w_a|)",
    "thm10_slope": "Taylor-remainder slope of |G|^2/2 along e^{ta}.W with derivative <w_{2G}, w_a>",
    "thm10_2_27": "|dG(KN field) + 2(H(G) + H(G)^*)| / |2(H(G) + H(G)^*)| (LM 2.27)",
    "eq231_ratio": "<G, dG(KN field)> / |w_G|^2 (corrected -4, LM 2.31 prints -2)",
    "rem18_ratio": "d psi(e)(a) / sum Re Tr(G^* a) with psi(A) = |A.W|^2 as in (3.4) (central difference)",
    "rem18_residual": "|d psi(e)(a) - 2 sum Re Tr(G^* a)| / (|W|^2 |a|) (central difference, h = 1e-5)",
    "rem5_residual": "|dphi dphi^*(P) - A_{N,X}(P)| / (s_max |P|) at a balanced point",
    "rem5_swapped": "relative difference of A_{N,X}(P) with the exponents of XX^* and X^*X swapped",
    "metric_norm": "| |L|^2 - g^N(Z, Z) | s_min / |Z|^2, L = dphi^*(A^{-1} Z) at a balanced point",
    "metric_dphi": "|dphi(L) - Z| / (s_max |A^{-1} Z|) (the residual of the solve)",
    "metric_horizontal": "|proj_{T F_X} L| / |L| (L orthogonal to the fiber)",
    "metric_tangent_to_M": "|dG(L)| / (|W| |L|) (L tangent to the balanced manifold)",
    "eq27_residual": "|display (2.7) - <w_b, w_a>| / (|w_a| |w_b|)",
    "align_singular_values": "max |sigma(W_k) - sigma(X)^(1/N)| / sigma(X)^(1/N) at a balanced point",
    "align_norm_spread": "(max_k |W_k|^2 - min_k |W_k|^2) / mean at a balanced point",
    "align_corrected": "max | |V_{k+1}^* U_k| - I | (entrywise modulus) at a balanced point",
    "align_printed": "max | |V_k^* U_{k+1}| - I | (as printed in LM §1.3.2)",
    "dim_fiber": "real dimension of ker dphi (the fiber F_X)",
    "dim_fiber_expected": "(N-1) d^2 (real), 2 (N-1) d^2 (complex)",
    "dim_M": "real dimension of ker dG at a balanced point (the balanced manifold)",
    "dim_M_expected": "d^2 + (N-1) d (d-1)/2 (real), 2 d^2 + (N-1) d^2 (complex)",
}
for _m in METHODS:
    LONG_NAMES[f"err_fiber_gradient_{_m}"] = (
        f"relative error of dln.fiber_gradient(method={_m!r}) against the projection of W on T_W F_X"
    )

_INTEGERS = ("eq221_rank", "eq221_unknowns", "dim_fiber", "dim_fiber_expected", "dim_M", "dim_M_expected")


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One job: ``n_seeds`` random points of one (d, N, field); every number of :func:`point`, along ``seed``."""
    p = SPEC.resolve(params, FAMILY)
    rows = []
    for seed in range(p["n_seeds"]):
        rng = rng_from_params(family=FAMILY, d=p["d"], N=p["N"], field=p["field"], seed=seed)
        rows.append(point(p["d"], p["N"], p["field"], rng))
        if progress is not None:
            progress((seed + 1) / p["n_seeds"])
    data = {}
    for name in rows[0]:
        vals = np.array([r[name] for r in rows], dtype=np.int64 if name in _INTEGERS else np.float64)
        data[name] = data_array(vals, ("seed",), LONG_NAMES[name])
    ds = xr.Dataset(data, coords={"seed": np.arange(p["n_seeds"])})
    return finalize_job(
        ds,
        p,
        __name__,
        title=f"Fibers and moments at random points (LM §1-3): d={p['d']}, N={p['N']}, {p['field']}",
        summary="Every public function of dln against the printed formula it implements, and every structural "
        "identity of LM §1-3 (and the Menon-Yu metric) evaluated on the printed formulas, at Gaussian points.",
    )
