"""Ledger entries for LM's structural identities, the Kirwan-Ness field and Remark 5.

Each entry evaluates an exact identity on random points (THEOREMS.md defaults:
d = 3, N = 4, Gaussian layers, seeds 0-5, real and complex) and reports the
worst residual over seeds and fields.
"""

from __future__ import annotations

import numpy as np

from .. import _linalg as la
from .._action import act, center, fiber_coordinates
from .._fiber import fiber_gradient, kirwan_ness_field, regularizing_generator
from .._metric import A_operator
from .._product import dphi, dphi_adjoint, end_to_end, moments, partial_products
from .._random import haar_unitary, random_layers, random_matrix, rng_from_params
from .._tangent import gram_matrix, gram_operator, orbit_tangent, orbit_tangent_adjoint
from ..tolerances import tol
from ._registry import Outcome, register

FIELDS = ("real", "complex")
DEFAULTS = {"d": 3, "N": 4, "seeds": [0, 1, 2, 3, 4, 5]}


def _points(p: dict, tag: str):
    """Yield (field, rng, W) over fields and seeds; W Gaussian of shape (N, d, d)."""
    for field in FIELDS:
        for seed in p["seeds"]:
            rng = rng_from_params(check=tag, field=field, seed=seed, d=p["d"], N=p["N"])
            yield field, rng, random_layers(rng, p["N"], p["d"], field)


def _algebra(rng, W, field):
    return random_matrix(rng, W.shape[:-3] + (W.shape[-3] - 1,) + W.shape[-2:], field)


def _rel(a, b, axes=3):
    return float(la.norm(a - b, axes) / max(float(la.norm(b, axes)), 1e-300))


def _exp_action(a, W, tau):
    return act(la.expm(tau * a), W)


@register(
    "LM-Cons",
    statement=r"\dot{\mathbf W} = -d\phi^*(\nabla E(X)) \text{ conserves } \mathbf G:\ dG(d\phi^* Y) = 0",
    source="LM §1.4.1 (quoting Menon-Yu [35, Thm 2])",
    measures="max over random W, Y of |dG(dphi^* Y)| / (|G| |Y|), dG by central finite differences (h = 1e-5)",
    tolerance="fd_central",
    params=DEFAULTS,
    page="dln_fibers",
)
def _lm_cons(p):
    worst = 0.0
    h = 1e-5
    for field, rng, W in _points(p, "LM-Cons"):
        Y = random_matrix(rng, W.shape[-2:], field)
        V = dphi_adjoint(W, Y)
        dG = (moments(W + h * V) - moments(W - h * V)) / (2 * h)
        worst = max(worst, float(la.norm(dG, 3) / (la.norm(moments(W), 3) * la.norm(Y))))
    return Outcome(measured=worst, passed=worst <= tol("fd_central"))


@register(
    "LM-Lem1",
    statement=r"\mathbf W \in F_X \iff \mathbf W = \mathbf A\cdot\mathbf C,\ A_{N-1} = W_N^{-1} Q_N \Lambda,\ "
    r"A_{k-1} = W_k^{-1} A_k \Lambda",
    source="LM Lemma 1 (proof corrected, THEOREMS.md E.1)",
    measures="max relative error |A.C - W| / |W| with the corrected construction "
    "(printed: A_{N-1} = Q_N Lambda W_N^{-1})",
    tolerance="identity_tight",
    params=DEFAULTS,
    erratum=True,
    printed_statement=r"A_{N-1} = Q_N \Lambda W_N^{-1} \text{ (and } A_1 Q_0^* = W_1)",
    page="dln_fibers",
)
def _lm_lem1(p):
    worst = printed = 0.0
    for _, _, W in _points(p, "LM-Lem1"):
        X = end_to_end(W)
        C = center(X, p["N"])
        A = fiber_coordinates(W)
        worst = max(worst, _rel(act(A, C), W))
        # printed construction: A_{N-1} = Q_N Lambda W_N^{-1}, then the same recursion
        U, s, Vh = np.linalg.svd(X)
        lam = s ** (1.0 / p["N"])
        Ap = np.empty_like(A)
        cur = (U * lam) @ np.linalg.inv(W[-1])
        Ap[-1] = cur
        for k in range(p["N"] - 1, 1, -1):
            cur = np.linalg.solve(W[k - 1], cur * lam)
            Ap[k - 2] = cur
        printed = max(printed, _rel(act(Ap, C), W))
    return Outcome(
        measured=worst, passed=worst <= tol("identity_tight"), printed=printed, values={"printed_rel_error": printed}
    )


@register(
    "LM-Lem2",
    statement=r"dF(\mathbf W)\mathbf w_{\mathbf a} = \sum_k \mathrm{Re\,Tr}(G_k^* a_k),\ F = \tfrac12|\mathbf W|^2",
    source="LM Lemma 2",
    measures="max |<W, w_a> - sum Re Tr(G_k^* a_k)| / (|W|^2 |a|), and the FD derivative along exp(tau a).W",
    tolerance="fd_central",
    params=DEFAULTS,
    page="dln_fibers",
)
def _lm_lem2(p):
    exact = fd = 0.0
    h = 1e-5
    for field, rng, W in _points(p, "LM-Lem2"):
        a = _algebra(rng, W, field)
        lhs = float(la.inner(W, orbit_tangent(W, a), 3))
        rhs = float(la.inner(moments(W), a, 3))
        scale = float(la.sqnorm(W, 3) * la.norm(a, 3))
        exact = max(exact, abs(lhs - rhs) / scale)
        Fp = 0.5 * float(la.sqnorm(_exp_action(a, W, h), 3))
        Fm = 0.5 * float(la.sqnorm(_exp_action(a, W, -h), 3))
        fd = max(fd, abs((Fp - Fm) / (2 * h) - rhs) / scale)
    return Outcome(
        measured=max(exact, fd),
        passed=exact <= tol("identity_tight") and fd <= tol("fd_central"),
        values={"exact": exact, "fd": fd},
    )


@register(
    "LM-Def8",
    statement=r"H = \mathbf w^*\mathbf w \text{ is Hermitian positive definite for full-rank } X",
    source="LM Definition 8 / eq. (2.8)",
    measures="max Hermitian defect |H - H^*|/|H| of the assembled (N-1)d^2 matrix and its block formulas; "
    "min eigenvalue > 0",
    tolerance="identity",
    params=DEFAULTS,
    page="dln_fibers",
)
def _lm_def8(p):
    herm = blocks = 0.0
    lam_min = np.inf
    d = p["d"]
    for _field, _rng, W in _points(p, "LM-Def8"):
        Hm = gram_matrix(W)
        herm = max(herm, float(np.linalg.norm(Hm - la.H(Hm)) / np.linalg.norm(Hm)))
        lam_min = min(lam_min, float(np.linalg.eigvalsh(0.5 * (Hm + la.H(Hm)))[0]))
        m = d * d
        W1, W2 = W[0], W[1]
        D11 = np.kron(np.eye(d), (W1 @ la.H(W1)).T) + np.kron(la.H(W2) @ W2, np.eye(d))
        U12 = -np.kron(la.H(W2), W2.T)
        L21 = -np.kron(W2, np.conj(W2))
        err = max(
            np.linalg.norm(Hm[:m, :m] - D11),
            np.linalg.norm(Hm[:m, m : 2 * m] - U12),
            np.linalg.norm(Hm[m : 2 * m, :m] - L21),
        )
        blocks = max(blocks, float(err / np.linalg.norm(Hm)))
    measured = max(herm, blocks)
    return Outcome(
        measured=measured,
        passed=measured <= tol("identity") and lam_min > 0,
        values={"hermitian_defect": herm, "block_formula_error": blocks, "min_eigenvalue": lam_min},
    )


@register(
    "LM-Lem3",
    statement=r"\langle \mathbf w_{\mathbf b}, \mathbf w_{\mathbf a}\rangle "
    r"= \sum_k \mathrm{Re\,Tr}(H_k(\mathbf b)^* a_k)",
    source="LM Lemma 3 / eq. (2.9)",
    measures="max relative difference over random a, b",
    tolerance="identity_tight",
    params=DEFAULTS,
    page="dln_fibers",
)
def _lm_lem3(p):
    worst = 0.0
    for field, rng, W in _points(p, "LM-Lem3"):
        a, b = _algebra(rng, W, field), _algebra(rng, W, field)
        lhs = float(la.inner(orbit_tangent(W, b), orbit_tangent(W, a), 3))
        r1 = float(la.inner(gram_operator(W, b), a, 3))
        r2 = float(la.inner(b, gram_operator(W, a), 3))
        scale = float(la.norm(orbit_tangent(W, b), 3) * la.norm(orbit_tangent(W, a), 3))
        worst = max(worst, abs(lhs - r1) / scale, abs(lhs - r2) / scale)
    return Outcome(measured=worst, passed=worst <= tol("identity_tight"))


@register(
    "LM-Lem4",
    statement=r"dG_k(\mathbf w_{\mathbf c}) = H_k(\mathbf c) + H_k(\mathbf c)^*",
    source="LM Lemma 4",
    measures="max relative error of the central FD (h = 1e-5) of G along w_c",
    tolerance="fd_central",
    params=DEFAULTS,
    page="dln_fibers",
)
def _lm_lem4(p):
    worst = 0.0
    h = 1e-5
    for field, rng, W in _points(p, "LM-Lem4"):
        c = _algebra(rng, W, field)
        V = orbit_tangent(W, c)
        fd = (moments(W + h * V) - moments(W - h * V)) / (2 * h)
        Hc = gram_operator(W, c)
        worst = max(worst, _rel(fd, Hc + la.H(Hc)))
    return Outcome(measured=worst, passed=worst <= tol("fd_central"))


@register(
    "LM-Lem5",
    statement=r"\operatorname{grad}_{F_X}\tfrac12|\mathbf W|^2 = \mathbf w_{\mathbf b},\ H(\mathbf b) = \mathbf G",
    source="LM Lemma 5, eq. (2.19)",
    measures="max of: residual |H(b) - G|/|G|, tangency |dphi(w_b)|/|W|, orthogonality |w^*(W - w_b)|/|W|^2; "
    "also rank of (2.21) alone, which is (N-1)d(d+1)/2 < (N-1)d^2 (real)",
    tolerance="identity",
    params=DEFAULTS,
    page="dln_fibers",
)
def _lm_lem5(p):
    worst = 0.0
    herm_frac = []
    for _, _, W in _points(p, "LM-Lem5"):
        G = moments(W)
        b = regularizing_generator(W, method="dense")
        wb = orbit_tangent(W, b)
        res = _rel(gram_operator(W, b), G)
        tang = float(la.norm(dphi(W, wb)) / la.norm(W, 3))
        orth = float(la.norm(orbit_tangent_adjoint(W, W - wb), 3) / la.sqnorm(W, 3))
        worst = max(worst, res, tang, orth)
        herm_frac.append(float(la.norm(0.5 * (b + la.H(b)), 3) / la.norm(b, 3)))
    # rank of the Hermitian part map b -> H(b) + H(b)^* (eq. 2.21 alone), real case
    d, N = p["d"], p["N"]
    rng = rng_from_params(check="LM-Lem5-rank", d=d, N=N)
    W = random_layers(rng, N, d)
    m = (N - 1) * d * d
    cols = []
    for j in range(m):
        e = np.zeros(m)
        e[j] = 1.0
        Hc = gram_operator(W, e.reshape(N - 1, d, d))
        cols.append((Hc + la.H(Hc)).ravel())
    rank = int(np.linalg.matrix_rank(np.array(cols).T))
    expected = (N - 1) * d * (d + 1) // 2
    return Outcome(
        measured=worst,
        passed=worst <= tol("identity") and rank == expected,
        values={
            "rank_2_21": rank,
            "expected_rank": expected,
            "unknowns": m,
            "mean_hermitian_fraction_of_b": float(np.mean(herm_frac)),
        },
    )


@register(
    "NUM-proj",
    statement=r"\mathbf w_{\mathbf b} = \mathbf W - d\phi^*(Y),\ \textstyle\sum_k P_kP_k^* Y Q_k^*Q_k = NX",
    source="THEOREMS.md NUM-proj (derived): the normal space of F_X is range(dphi^*)",
    measures="max relative difference between the normal-space gradient and the tangent-space (2.19) gradient",
    tolerance="solver_agreement",
    params=DEFAULTS,
    page="dln_fibers",
)
def _num_proj(p):
    worst = 0.0
    for _, _, W in _points(p, "NUM-proj"):
        worst = max(worst, _rel(fiber_gradient(W, method="normal"), fiber_gradient(W, method="dense")))
    return Outcome(measured=worst, passed=worst <= tol("solver_agreement"))


@register(
    "LM-Rem9",
    statement=r"dG(\mathbf W) = dG(\mathbf w_{\mathbf b}) = +2\mathbf G,\ \text{so } \dot{\mathbf G} = -2\mathbf G",
    source="LM Remark 9 and eq. (2.23) (sign corrected, THEOREMS.md E.4)",
    measures="max relative error of the FD derivatives dG(W), dG(w_b) against +2G; printed: against -2G",
    tolerance="fd_central",
    params=DEFAULTS,
    erratum=True,
    printed_statement=r"dG\,\mathbf w_{\mathbf b} = dG\,\mathbf W = -2\mathbf G",
    page="regularizing_flow",
)
def _lm_rem9(p):
    worst = printed = 0.0
    h = 1e-5
    for _, _, W in _points(p, "LM-Rem9"):
        G = moments(W)
        wb = fiber_gradient(W, method="dense")
        for V in (W, wb):
            fd = (moments(W + h * V) - moments(W - h * V)) / (2 * h)
            worst = max(worst, _rel(fd, 2 * G))
            printed = max(printed, _rel(fd, -2 * G))
    return Outcome(measured=worst, passed=worst <= tol("fd_central"), printed=printed)


@register(
    "LM-Thm10",
    statement=r"\operatorname{grad}_{F_X}\tfrac12|\mathbf G|^2 = \mathbf w_{2\mathbf G};\ "
    r"\dot W_k = 2(W_kG_{k-1} - G_kW_k);\ \dot{\mathbf G} = -2(\mathbf H(\mathbf G) + \mathbf H(\mathbf G)^*)",
    source="LM Theorem 10, eqs. (1.22), (2.27)",
    measures="max of: |(1.22) + w_{2G}|, FD of (1/2)|G|^2 along w_a vs <w_{2G}, w_a>, FD of G along (1.22) vs (2.27)",
    tolerance="fd_central",
    params=DEFAULTS,
    page="kirwan_ness",
)
def _lm_thm10(p):
    worst = 0.0
    h = 1e-5
    for field, rng, W in _points(p, "LM-Thm10"):
        G = moments(W)
        F = kirwan_ness_field(W)
        explicit = np.empty_like(F)
        Gp = np.concatenate([np.zeros_like(G[:1]), G, np.zeros_like(G[:1])], axis=0)
        for k in range(p["N"]):
            explicit[k] = 2 * (W[k] @ Gp[k] - Gp[k + 1] @ W[k])
        e1 = _rel(F, explicit)
        a = _algebra(rng, W, field)
        wa = orbit_tangent(W, a)
        phi = lambda V: 0.5 * float(la.sqnorm(moments(V), 3))  # noqa: E731
        fd = (phi(W + h * wa) - phi(W - h * wa)) / (2 * h)
        ex = float(la.inner(orbit_tangent(W, 2 * G), wa, 3))
        e2 = abs(fd - ex) / (float(la.norm(orbit_tangent(W, 2 * G), 3) * la.norm(wa, 3)))
        Gdot = (moments(W + h * F) - moments(W - h * F)) / (2 * h)
        HG = gram_operator(W, G)
        e3 = _rel(Gdot, -2 * (HG + la.H(HG)))
        worst = max(worst, e1, e2, e3)
    return Outcome(measured=worst, passed=worst <= tol("fd_central"))


@register(
    "LM-Rem18",
    statement=r"\mu(\mathbf W) = \mathbf G \text{ for } \psi = \tfrac12|\mathbf A\cdot\mathbf W|^2;\ "
    r"\mu = 2\mathbf G \text{ with (3.4) as printed}",
    source="LM Remark 18, eqs. (3.4)-(3.6) (normalization, THEOREMS.md E.7)",
    measures="|d psi(e)(a) - 2 sum Re Tr(G_k a_k)| / (|G| |a|) with psi = |A.W|^2 as in (3.4) (FD, h = 1e-5); "
    "the mean ratio d psi(e)(a) / sum Re Tr(G_k a_k) is reported (expected 2)",
    tolerance="fd_central",
    params=DEFAULTS,
    page="minimum_principles",
)
def _lm_rem18(p):
    worst = 0.0
    ratios = []
    h = 1e-5
    for field, rng, W in _points(p, "LM-Rem18"):
        a = _algebra(rng, W, field)
        fd = (float(la.sqnorm(_exp_action(a, W, h), 3)) - float(la.sqnorm(_exp_action(a, W, -h), 3))) / (2 * h)
        ga = float(la.inner(moments(W), a, 3))
        ratios.append(fd / ga)
        worst = max(worst, abs(fd - 2.0 * ga) / float(la.norm(moments(W), 3) * la.norm(a, 3)))
    return Outcome(measured=worst, passed=worst <= tol("fd_central"), values={"mean_ratio": float(np.mean(ratios))})


@register(
    "LM-Rem5",
    statement=r"\dot X = -\mathcal A_{N,X}(\nabla E),\ \mathcal A_{N,X}(P) = "
    r"\sum_{j=1}^N (XX^*)^{\frac{N-j}{N}} P (X^*X)^{\frac{j-1}{N}}",
    source="LM Remark 5 (after Menon-Yu)",
    measures="at balanced W = U.C: max |dphi(dphi^* P) - A_{N,X}(P)| / |A_{N,X}(P)| over random P; "
    "the swapped exponents give the 'printed-swap' residual",
    tolerance="identity",
    params=DEFAULTS,
    page="learning_flow",
)
def _lm_rem5(p):
    worst = swapped = 0.0
    N = p["N"]
    for field, rng, W in _points(p, "LM-Rem5"):
        X = end_to_end(W)
        U = haar_unitary(rng, (N - 1,), p["d"], complex_=(field == "complex"))
        Wb = act(U, center(X, N))
        P = random_matrix(rng, X.shape, field)
        lhs = dphi(Wb, dphi_adjoint(Wb, P))
        rhs = A_operator(X, P, N)
        worst = max(worst, _rel(lhs, rhs, 2))
        Ps, Qs = partial_products(Wb)
        sw = sum(la.H(Qs[j]) @ Qs[j] @ P @ Ps[j] @ la.H(Ps[j]) for j in range(N))
        swapped = max(swapped, _rel(sw, rhs, 2))
    return Outcome(measured=worst, passed=worst <= tol("identity"), values={"swapped_exponents_rel_error": swapped})
