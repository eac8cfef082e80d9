"""Claims of LM §1-§3 about fibers, moments, the Gram operator H and the gradients on fibers.

Evidence: the ``fibers`` family (:mod:`dln.experiments.fibers`), random Gaussian points of every (d, N, field)
of the sweep, several seeds each. Each claim checks its statement on the printed formulas alone (exact
residuals, central differences, Taylor-remainder slopes) and the library functions that implement its
objects against the same formulas.
"""

from __future__ import annotations

import numpy as np

from ._claims import Evidence, claim
from ._measure import cover, definition, implementations, require_dev, require_max, smallest, values, worst

FAMILY = "fibers"


@claim(
    "LM-Cons",
    uses=("DEF-learning-flow", "DEF-moment", "DEF-fiber"),
    proof_uses=("DEF-fiber", "DEF-moment"),
    dependency_note="§1.4.1 after (1.11) quotes the conservation of G from Menon-Yu [35, Thm 2]; LM prints no proof, "
    "the computation dG(dphi^*Y) = 0 uses only (1.1) and (1.11).",
    paper="LM",
    where="§1.4.1, after eq. (1.11) (quoting Menon-Yu, Thm 2)",
    statement=r"\dot{\mathbf W} = -\nabla_{\mathbf W}E(X) = -d\phi^*(\nabla E(X)) \text{ conserves every } G_k:"
    r"\ dG(d\phi^* Y) = 0 \text{ for all } Y",
    family=FAMILY,
    implements=("moments", "dphi", "dphi_adjoint", "partial_products", "end_to_end"),
    fails_if="dG(dphi^* Y) differs from 0 by more than 1e-10 relative, the remainder |G(W + t dphi^*Y) - G(W)| "
    "is not O(t^2), or a library function of G, X or dphi differs from its formula by more than 1e-10",
)
def lm_cons(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "cons_dG", "identity")
    require_dev(ev, ds, "cons_slope", 2.0, "taylor_slope")
    implementations(ev, ds, "moments", "end_to_end", "partial_products", "dphi", "dphi_adjoint")
    cover(ev, ds)
    return ev


@claim(
    "LM-Lem1",
    uses=("DEF-fiber", "DEF-action"),
    proof_uses=("DEF-fiber", "DEF-action"),
    dependency_note="Proof of Lemma 1 (§2.1): the sequential choice of A_{N-1}, A_{N-2}, ... uses only the action "
    "(1.6) and the centre C; the printed A_{N-1} = Q_N Lambda W_N^{-1} is the erratum, the statement "
    "is correct.",
    paper="LM",
    where="Lemma 1 and its proof, §2.1",
    statement=r"\mathbf W \in \mathcal F_X \iff \mathbf W = \mathbf A\cdot\mathbf C;\ \text{in sequence: } "
    r"A_{N-1} = W_N^{-1} Q_N\Lambda,\ A_{k-1} = W_k^{-1} A_k \Lambda",
    kind="erratum",
    residual_tex=r"\max \lVert\mathbf A\cdot\mathbf C - \mathbf W\rVert / \lVert\mathbf W\rVert \text{ with } "
    r"A_{N-1} = W_N^{-1}Q_N\Lambda,\ A_{k-1} = W_k^{-1}A_k\Lambda",
    printed_residual_tex=r"\min \lVert\mathbf A\cdot\mathbf C - \mathbf W\rVert / \lVert\mathbf W\rVert \text{ with } "
    r"A_{N-1} = Q_N\Lambda W_N^{-1} \text{ as printed}",
    printed_statement=r"A_{N-1} = Q_N \Lambda W_N^{-1} \text{ (then } A_{N-2}, \dots \text{ in sequence)}",
    family=FAMILY,
    implements=("fiber_coordinates", "center", "svd_center", "act"),
    fails_if="the corrected sequence does not reproduce W to 1e-12, the printed one does, or dln.fiber_coordinates, "
    "dln.center or dln.act differ from the printed action (1.6) and centre by more than 1e-10",
)
def lm_lem1(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "lem1_corrected", "identity_tight")
    implementations(ev, ds, "fiber_coordinates", "center", "svd_center", "act")
    ev.printed_residual(
        smallest(ds, "lem1_printed"), "identity_tight", "min over the dataset of " + ds["lem1_printed"].long_name
    )
    cover(ev, ds)
    return ev


@claim(
    "LM-Lem2",
    uses=("DEF-action", "DEF-moment", "DEF-inner"),
    proof_uses=("DEF-action", "DEF-moment"),
    dependency_note="Proof of Lemma 2 (§2.2), eq. (2.6): direct differentiation of |W|^2/2 along w_a of (2.3), "
    "regrouped into G_k of (1.11).",
    paper="LM",
    where="Lemma 2, eq. (2.5), §2.2",
    statement=r"F = \tfrac12\|\mathbf W\|^2:\ dF(\mathbf W)\mathbf w_{\mathbf a} = \sum_k \mathrm{Re\,Tr}(G_k^* a_k)",
    family=FAMILY,
    implements=("orbit_tangent", "tangent_matrix"),
    fails_if="<W, w_a> differs from sum Re Tr(G_k^* a_k) by more than 1e-12 relative, the Taylor remainder of F "
    "along e^{ta}.W is not O(t^2), or dln.orbit_tangent differs from (2.3)",
)
def lm_lem2(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "lem2_exact", "identity_tight")
    require_dev(ev, ds, "lem2_slope", 2.0, "taylor_slope")
    implementations(ev, ds, "orbit_tangent", "tangent_matrix")
    cover(ev, ds)
    return ev


@claim(
    "LM-Def8",
    uses=("DEF-gram",),
    proof_uses=("DEF-gram", "LM-Lem3", "DEF-fiber"),
    dependency_note="Definition 8 (§2.3) defines H by (2.8) (node DEF-gram); the claim's block matrix is vec of "
    "(2.8), H = H^* >= 0 because H is the Gram operator (Lemma 3, (2.9)), and H > 0 ('when X has full"
    " rank, H is an isomorphism', proof of Theorem 10) because a -> w_a is injective for invertible "
    "W_k.",
    paper="LM",
    where="Definition 8, eq. (2.8), §2.3",
    statement=r"H \text{ has blocks } (k,k) = I\otimes(W_kW_k^*)^T + W_{k+1}^*W_{k+1}\otimes I,\ (k,k-1) = "
    r"-W_k\otimes\overline{W_k},\ (k,k+1) = -W_{k+1}^*\otimes W_{k+1}^T;\ H = H^* \succ 0",
    family=FAMILY,
    implements=("gram_matrix",),
    fails_if="the block matrix applied to c differs from (2.8) by more than 1e-10, it is not Hermitian to 1e-10, "
    "its smallest eigenvalue is not positive, or dln.gram_matrix differs from it",
)
def lm_def8(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "def8_blocks", "identity")
    require_max(ev, ds, "def8_hermitian", "identity")
    ev.require_positive(
        "def8_min_eig", smallest(ds, "def8_min_eig"), "min over the dataset of " + ds["def8_min_eig"].long_name
    )
    implementations(ev, ds, "gram_matrix")
    cover(ev, ds)
    return ev


@claim(
    "LM-Lem3",
    uses=("DEF-action", "DEF-gram", "DEF-inner"),
    proof_uses=("LM-(2.7)", "DEF-gram"),
    dependency_note="Proof of Lemma 3 (§2.3): 'a convenient reorganization of the terms' of the display (2.7), eqs. "
    "(2.10) ff., collected into H_k of (2.8).",
    paper="LM",
    where="Lemma 3, eq. (2.9), §2.3",
    statement=r"\langle \mathbf w_{\mathbf b}, \mathbf w_{\mathbf a}\rangle = \sum_k "
    r"\mathrm{Re\,Tr}(H_k(\mathbf b)^* a_k)"
    r" = \sum_k \mathrm{Re\,Tr}(b_k^* H_k(\mathbf a))",
    family=FAMILY,
    implements=("gram_operator", "orbit_tangent_adjoint"),
    fails_if="either equality of (2.9), evaluated with (2.3) and (2.8), is off by more than 1e-12 relative, or "
    "dln.gram_operator / dln.orbit_tangent_adjoint differ from (2.8) / the adjoint of (2.3)",
)
def lm_lem3(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "lem3_first", "identity_tight")
    require_max(ev, ds, "lem3_second", "identity_tight")
    implementations(ev, ds, "gram_operator", "orbit_tangent_adjoint")
    cover(ev, ds)
    return ev


@claim(
    "LM-Lem4",
    uses=("DEF-moment", "DEF-action", "DEF-gram"),
    proof_uses=("DEF-moment", "DEF-action"),
    dependency_note="Proof of Lemma 4 (§2.3), eqs. (2.12)-(2.13): differentiate G_k of (1.11) along W_k' = c_kW_k - "
    "W_kc_{k-1} of (2.3) and regroup as H_k + H_k^* (2.8).",
    paper="LM",
    where="Lemma 4, eq. (2.12), §2.3",
    statement=r"dG_k(\mathbf w_{\mathbf c}) = H_k(\mathbf c) + H_k(\mathbf c)^*",
    family=FAMILY,
    implements=("gram_operator",),
    fails_if="the central difference of G along w_c differs from H(c) + H(c)^* by more than 1e-7 relative, or "
    "the Taylor remainder is not O(t^2)",
)
def lm_lem4(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "lem4_fd", "fd_central")
    require_dev(ev, ds, "lem4_slope", 2.0, "taylor_slope")
    implementations(ev, ds, "gram_operator")
    cover(ev, ds)
    return ev


@claim(
    "LM-Lem5",
    uses=("DEF-reg-flow", "DEF-fiber", "DEF-action", "DEF-gram", "DEF-moment", "DEF-inner"),
    proof_uses=("LM-Lem2", "LM-Lem3", "LM-Def8", "LM-Lem1"),
    dependency_note="Lemma 5 (§2.4) 'uses Lemma 2 and Lemma 3': proof eq. (2.22) combines (2.5) and (2.9); (2.16) "
    "needs T_W F_X = {w_a} (§2.2, F_X a group orbit by Lemma 1's statement) and the uniqueness of b, "
    "i.e. H invertible (LM-Def8); the proof does not use (2.21).",
    paper="LM",
    where="Lemma 5, eq. (2.19), §2.4",
    statement=r"\operatorname{grad}_{\mathcal F_X}\tfrac12\|\mathbf W\|^2 = \mathbf w_{\mathbf b},\ "
    r"H_k(\mathbf b) = G_k,\ 1 \le k \le N-1",
    family=FAMILY,
    implements=("fiber_gradient", "regularizing_generator"),
    fails_if="w_b (b from a dense solve of (2.19)) differs from the orthogonal projection of W on ker dphi by more "
    "than 1e-10 relative, the Taylor remainder of |W|^2/2 along the fiber is not O(t^2) with derivative "
    "<w_b, w_a>, or the library's b or gradient differ from these",
)
def lm_lem5(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "lem5_gradient", "identity")
    require_max(ev, ds, "lem5_residual", "identity")
    require_dev(ev, ds, "lem5_slope", 2.0, "taylor_slope")
    implementations(ev, ds, "regularizing_generator", "fiber_gradient_auto")
    ev.info(
        "b_hermitian_fraction_min",
        smallest(ds, "b_hermitian_fraction"),
        "min over the dataset of " + ds["b_hermitian_fraction"].long_name,
    )
    cover(ev, ds)
    return ev


@claim(
    "LM-(2.21)",
    uses=("DEF-gram", "DEF-moment", "LM-Lem5"),
    proof_uses=("LM-Lem5", "DEF-gram", "LM-Def8"),
    dependency_note="Text after Lemma 5 (§2.4): (2.21) is obtained from (2.19) with (2.20) 'using Definition 8' (so "
    "it rests on Lemma 5, not conversely); its rank (N-1)d(d+1)/2 < (N-1)d^2 follows from H being an "
    "isomorphism (LM-Def8). No printed proof uses (2.21).",
    paper="LM",
    where="eq. (2.21), proof of Lemma 5, §2.4",
    statement=r"H_k(\mathbf b) + H_k(\mathbf b)^* = -W_k(b_{k-1} + b_{k-1}^*)W_k^* + \dots = 2G_k;\ "
    r"\text{rank} = (N-1)d(d+1)/2\ (\mathbb R),\ (N-1)d^2\ (\mathbb C) < \dim_{\mathbb R} gl(d)^{N-1}",
    kind="erratum",
    residual_tex=r"\max \lVert\mathrm{lhs}(2.21) - 2\mathbf G\rVert / \lVert 2\mathbf G\rVert \text{ with the "
    r"factor } W_k^* \text{ of the first term restored}",
    printed_residual_tex=r"\min \lVert\mathrm{lhs}(2.21) - 2\mathbf G\rVert / \lVert 2\mathbf G\rVert "
    r"\text{ with (2.21) as printed}",
    printed_statement=r"-W_k(b_{k-1} + b_{k-1}^*) + b_kW_kW_k^* + \dots = 2G_k \text{ (first term without } W_k^*);"
    r"\text{ (2.21) equivalent to (2.19)}",
    family=FAMILY,
    implements=("regularizing_generator",),
    fails_if="(2.21) with W_k^* restored is not satisfied by the solution of (2.19) to 1e-10, the printed (2.21) "
    "is, or the rank of its left side is not (N-1)d(d+1)/2 (real) / (N-1)d^2 (complex): (2.21) alone is "
    "then not underdetermined",
)
def lm_221(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "eq221_restored", "identity")
    N = ds["N"]
    d = ds["d"]
    real = ds["field"] == "real"
    expected = (N - 1) * d * (d + 1) // 2 * real + (N - 1) * d * d * (~real)
    mism = int((ds["eq221_rank"] != expected).sum())
    ev.require_equal(
        "eq221_rank_mismatches",
        mism,
        0,
        "number of points where rank(b -> H(b) + H(b)^*) != (N-1)d(d+1)/2 (real), (N-1)d^2 (complex)",
    )
    under = int((ds["eq221_rank"] >= ds["eq221_unknowns"]).sum())
    ev.require_equal(
        "eq221_determined_points",
        under,
        0,
        "number of points where (2.21) alone determines b (rank = number of real unknowns)",
    )
    implementations(ev, ds, "regularizing_generator")
    ev.printed_residual(
        smallest(ds, "eq221_printed"), "identity", "min over the dataset of " + ds["eq221_printed"].long_name
    )
    cover(ev, ds)
    return ev


@claim(
    "NUM-proj",
    uses=("DEF-fiber", "DEF-action", "DEF-inner"),
    proof_uses=("LM-Lem5", "LM-Rem9", "LM-Cons", "DEF-fiber"),
    dependency_note="Project derivation (not in the paper): w_b = W - W_perp with W_perp in range dphi^* = (T "
    "F_X)^perp, the orthogonal decomposition of Remark 9 (§2.4), plus dphi(W) = NX; it uses Remark "
    "9's decomposition, not its sign.",
    paper="NUM",
    where="normal-space form of Lemma 5 (LM §2.4 with Remark 9)",
    statement=r"\mathbf w_{\mathbf b} = \mathbf W - d\phi^*(Y),\ \textstyle\sum_k P_kP_k^* Y Q_k^*Q_k = NX "
    r"\text{ (the normal space of } \mathcal F_X \text{ is range } d\phi^*,\ d\phi(\mathbf W) = NX)",
    family=FAMILY,
    implements=("fiber_gradient",),
    fails_if="the normal-space formula, solved densely, differs from the projection of W on ker dphi by more than "
    "1e-10 relative, or dln.fiber_gradient(method='normal') differs from it by more than 1e-8",
)
def num_proj(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "proj_normal_space", "identity")
    require_max(ev, ds, "err_fiber_gradient_normal", "solver_agreement")
    cover(ev, ds)
    return ev


@claim(
    "NUM-solvers",
    uses=("DEF-fiber", "DEF-inner"),
    proof_uses=("LM-Lem5", "NUM-proj", "LM-Def8"),
    dependency_note="Project methods: block/dense/pcg solve (2.19) of Lemma 5 with the blocks of Definition 8 (H > 0 "
    "for Cholesky/CG), 'normal' solves the d^2 system of NUM-proj; none uses (2.21).",
    paper="NUM",
    where="the fiber-gradient solvers of dln (LM eq. 2.19)",
    statement=r"\texttt{fiber\_gradient}(\mathbf W, m) = \operatorname{proj}_{T\mathcal F_X}\mathbf W "
    r"\text{ for every method } m \in \{\text{auto, block, pcg, dense, normal}\}",
    family=FAMILY,
    implements=("fiber_gradient",),
    fails_if="any method's gradient differs from the orthogonal projection of W on ker dphi (computed from the "
    "dense matrix of dphi) by more than 1e-8 relative",
)
def num_solvers(ds) -> Evidence:
    ev = Evidence()
    for m in ("auto", "block", "pcg", "dense", "normal"):
        require_max(ev, ds, f"err_fiber_gradient_{m}", "solver_agreement")
    cover(ev, ds)
    return ev


@claim(
    "LM-Rem9",
    uses=("DEF-moment", "DEF-reg-flow", "DEF-action", "DEF-fiber"),
    proof_uses=("LM-Lem5", "LM-Lem4", "LM-Cons"),
    dependency_note="Remark 9 (§2.4): W = w_b + W_perp with w_b = grad (Lemma 5) and W_perp in the null space of dG "
    "(the conservation law of §1.4.1), so dG w_b = dG W = +2G; eq. (2.23) in the proof of Theorem 2 "
    "gets the same by Lemma 4 + Lemma 5.",
    paper="LM",
    where="Remark 9 and eq. (2.23), proof of Theorem 2, §2.4",
    statement=r"d\mathbf G\,\mathbf w_{\mathbf b} = d\mathbf G\,\mathbf W = +2\mathbf G,\ \text{hence } "
    r"\dot{\mathbf G} = -d\mathbf G\,\mathbf w_{\mathbf b} = -2\mathbf G",
    kind="erratum",
    residual_tex=r"\max \lVert d\mathbf G\,\mathbf W - 2\mathbf G\rVert / \lVert 2\mathbf G\rVert",
    printed_residual_tex=r"\min \lVert d\mathbf G\,\mathbf w_{\mathbf b} - (-2\mathbf G)\rVert / "
    r"\lVert 2\mathbf G\rVert \text{ (the sign as printed)}",
    printed_statement=r"d\mathbf G\,\mathbf w_{\mathbf b} = d\mathbf G\,\mathbf W = -2\mathbf G;\ "
    r"\dot{\mathbf G} = d\mathbf G\,\mathbf w_{\mathbf b} = -2\mathbf G\ (2.23)",
    family=FAMILY,
    implements=("fiber_gradient",),
    fails_if="dG(W) or dG(w_b) differs from +2G by more than 1e-10 relative (so the printed -2G would hold "
    "instead, or neither)",
)
def lm_rem9(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "rem9_dG_W", "identity")
    require_max(ev, ds, "rem9_dG_wb", "identity")
    require_dev(ev, ds, "rem9_ratio", 2.0, "identity")
    ev.printed_residual(
        smallest(ds, "rem9_printed"),
        "identity",
        "min over the dataset of " + ds["rem9_printed"].long_name,
        forced="if dG(w_b) = 2G + e then |dG(w_b) + 2G| / |2G| = |4G + e| / |2G| >= 2 - |e|/|2G|: the printed "
        "sign is off by exactly 2 (relative) once the corrected identity holds; the measurement is the "
        "corrected residual |e|/|2G|",
    )
    cover(ev, ds)
    return ev


@claim(
    "LM-Thm10",
    uses=("DEF-kn-flow", "DEF-moment", "DEF-action", "DEF-gram", "DEF-fiber"),
    proof_uses=("LM-Lem3", "LM-Lem4", "LM-Def8", "LM-Lem1"),
    dependency_note="Proof of Theorem 10 (§2.5): (2.28) uses Lemma 4, (2.29) cites 'Lemma 2.9' = Lemma 3, 'H is an "
    "isomorphism' (LM-Def8) gives b = 2G, and (2.27) is Lemma 4 with c = 2G; grad F = w_b presumes T "
    "F_X = {w_a} as in (2.16) (Lemma 1).",
    paper="LM",
    where="Theorem 10, eqs. (1.22), (2.26), (2.27), §2.5",
    statement=r"\operatorname{grad}_{\mathcal F_X}\tfrac12\|\mathbf G\|^2 = \mathbf w_{2\mathbf G};\ \dot W_k = "
    r"2(W_kG_{k-1} - G_kW_k);\ \dot{\mathbf G} = -2(\mathbf H(\mathbf G) + \mathbf H(\mathbf G)^*)",
    family=FAMILY,
    implements=("kirwan_ness_field",),
    fails_if="(1.22) differs from -w_{2G}, the derivative of |G|^2/2 along w_a differs from <w_{2G}, w_a>, its "
    "Taylor remainder is not O(t^2), dG of (1.22) differs from (2.27) (each beyond 1e-10 relative), or "
    "dln.kirwan_ness_field differs from (1.22)",
)
def lm_thm10(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "thm10_field", "identity")
    require_max(ev, ds, "thm10_gradient", "identity")
    require_dev(ev, ds, "thm10_slope", 2.0, "taylor_slope")
    require_max(ev, ds, "thm10_2_27", "identity")
    implementations(ev, ds, "kirwan_ness_field")
    cover(ev, ds)
    return ev


@claim(
    "LM-Rem18",
    uses=("DEF-moment", "DEF-action"),
    proof_uses=("LM-Lem2",),
    dependency_note="Remark 18 (§3.3): 'the moment map follows from equations (3.4)-(3.6) and Lemma 2', eq. (3.7).",
    paper="LM",
    where="Remark 18, eq. (3.7), with eqs. (3.4)-(3.6), §3.3",
    statement=r"\mu(\mathbf W) = \mathbf G(\mathbf W) \text{ for } \psi(\mathbf A) = \tfrac12\|\mathbf "
    r"A\cdot\mathbf W\|^2;"
    r"\ d\psi(e)(\mathbf a) = 2\sum_k\mathrm{Re\,Tr}(G_k^*a_k) \text{ for } \psi = \|\mathbf A\cdot\mathbf W\|^2",
    kind="notation",
    residual_tex=r"\max \Bigl|d\psi(e)(\mathbf a) - 2\sum_k\mathrm{Re\,Tr}(G_k^*a_k)\Bigr| / \bigl(\lVert\mathbf "
    r"W\rVert^2\lVert\mathbf a\rVert\bigr) \text{ for } \psi(\mathbf A) = \lVert\mathbf "
    r"A\cdot\mathbf W\rVert^2 \text{ (central difference)}",
    printed_statement=r"\mu(\mathbf W) = \mathbf G(\mathbf W) \text{ with } \psi_x(g) = \|g\cdot x\|^2\ (3.4)",
    reading=r"With $\psi$ as printed in (3.4) (no factor $\tfrac12$) the moment map is $2\mathbf G$; the remark "
    r"holds for $\psi(\mathbf A) = \tfrac12\lVert\mathbf A\cdot\mathbf W\rVert^2$, the normalization of Lemma 2. "
    "A factor of normalization, not a mathematical error.",
    family=FAMILY,
    implements=("act",),
    fails_if="the central difference of |e^{ta}.W|^2 at t = 0 differs from 2 sum Re Tr(G^* a) by more than "
    "1e-7 |W|^2 |a| (the scale of the difference's truncation error; the ratio would not be 2)",
)
def lm_rem18(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "rem18_residual", "fd_central")
    ev.info(
        "rem18_ratio_deviation",
        float(np.max(np.abs(values(ds, "rem18_ratio") - 2.0))),
        "max |ratio - 2| of the " + definition(ds, "rem18_ratio") + " (the residual above, divided by the "
        "pairing |sum Re Tr(G^* a)|, which is small near balanced points)",
    )
    implementations(ev, ds, "act")
    cover(ev, ds)
    return ev


@claim(
    "MY-metric",
    uses=("DEF-metric-gN", "DEF-balanced", "DEF-fiber"),
    proof_uses=("LM-1.3.2-align", "LM-Cons", "DEF-metric-gN"),
    dependency_note="Quoted from Menon-Yu (LM Remark 5 cites it; no proof in LM); the project's check rests on the "
    "aligned SVD at balanced points (P_kP_k^* = (XX^*)^{(N-k)/N}, Q_k^*Q_k = (X^*X)^{(k-1)/N}: "
    "§1.3.2, corrected V_{k+1} = U_k) and on dphi^* Y lying in ker dG = T M (conservation law).",
    paper="MY",
    where="Riemannian submersion (M, iota) -> (M_d, g^N); LM Remark 5, eq. (1.20)",
    statement=r"d\phi\,d\phi^* = \mathcal A_{N,X} \text{ on } \mathcal M;\ g^N_X(Z,Z) = "
    r"\mathrm{Tr}(Z^*\mathcal A_{N,X}^{-1}Z) = \|L\|^2,\ L = d\phi^*(\mathcal A_{N,X}^{-1}Z)"
    r" \text{ horizontal, tangent to } \mathcal M,\ d\phi(L) = Z",
    family=FAMILY,
    implements=(
        "A_operator",
        "A_operator_inverse",
        "metric_gN",
        "horizontal_lift",
        "balanced_point",
        "riemannian_gradient",
        "end_to_end_velocity",
        "spectral_kernel",
    ),
    fails_if="at a balanced point dphi dphi^* differs from A_{N,X} beyond 1e-10 of A's scale (its largest "
    "singular value), or the lift (A^{-1} by a dense solve) has |L|^2 != g^N(Z, Z), dphi(L) != Z, a component "
    "along the fiber or a dG beyond 1e-8 of the scale of A^{-1}, or the library's A, A^{-1}, g^N or lift differ "
    "from these (errors are normwise, against the operators' scales: A_{N,X} of an ill-conditioned X is "
    "ill-conditioned, and no method is more accurate than that)",
)
def my_metric(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "rem5_residual", "identity")
    implementations(
        ev, ds, "A_operator", "balanced_point", "riemannian_gradient", "end_to_end_velocity", "spectral_kernel"
    )
    ev.info(
        "swapped_exponents_min",
        smallest(ds, "rem5_swapped"),
        "min over the dataset of " + ds["rem5_swapped"].long_name + " (the order of the factors matters)",
    )
    for name in ("metric_norm", "metric_dphi", "metric_horizontal", "metric_tangent_to_M"):
        require_max(ev, ds, name, "inverse_identity")
    implementations(ev, ds, "A_operator_inverse", "metric_gN", "horizontal_lift", tolerance="inverse_identity")
    ev.info("cond_A_max", worst(ds, "cond_A"), "max over the dataset of " + ds["cond_A"].long_name)
    cover(ev, ds)
    return ev


@claim(
    "LM-(2.7)",
    uses=("DEF-action", "DEF-inner"),
    proof_uses=("DEF-action", "DEF-inner"),
    dependency_note="Unnumbered display before Definition 8 (§2.3): <w_b, w_a> expanded block by block from (2.3) in "
    "the inner product (1.16) (Lemma 3's proof calls it 'equation (2.3)').",
    paper="LM",
    where="unnumbered display (2.7) before Definition 8, §2.3",
    statement=r"\langle\mathbf w_{\mathbf b},\mathbf w_{\mathbf a}\rangle = \mathrm{Re\,Tr}(b_{N-1}^*W_N^*W_Na_{N-1})"
    r"+\sum_{k=2}^{N-1}\mathrm{Re\,Tr}((W_k^*b_k^*-b_{k-1}^*W_k^*)(a_kW_k-W_ka_{k-1}))"
    r"+\mathrm{Re\,Tr}(W_1W_1^*b_1^*a_1)",
    family=FAMILY,
    implements=("orbit_tangent",),
    fails_if="the display differs from <w_b, w_a> (from 2.3) by more than 1e-10 relative",
)
def lm_27(ds) -> Evidence:
    ev = Evidence()
    require_max(ev, ds, "eq27_residual", "identity")
    implementations(ev, ds, "orbit_tangent")
    cover(ev, ds)
    return ev


@claim(
    "LM-1.3.2-align",
    uses=("DEF-balanced", "DEF-fiber"),
    proof_uses=("DEF-orbit",),
    dependency_note="§1.3.2 states the alignment without proof (citing [14], [21]); it follows from O_X = U_d^{N-1}.C"
    " (§1.2, 'an easy modification of [35, §4]'), whose layers are Q_k Lambda Q_{k-1}^*.",
    paper="LM",
    where="§1.3.2 (alignment of singular vectors on the balanced manifold)",
    statement=r"\mathbf W\in\mathcal M,\ W_k = U_k\Lambda_kV_k^*:\ \Lambda_k = \Sigma^{1/N},\ V_{k+1} = U_k\ "
    r"\text{(up to phases)},\ \|W_k\|^2 \text{ independent of } k",
    kind="erratum",
    residual_tex=r"\max\max_k \lvert\sigma(W_k) - \sigma(X)^{1/N}\rvert / \sigma(X)^{1/N} \text{ at a balanced "
    r"point}",
    printed_residual_tex=r"\min\max \bigl|\,|V_k^*U_{k+1}| - I\,\bigr| "
    r"\text{ at a balanced point (as printed, entrywise)}",
    printed_statement=r"V_k = U_{k+1},\ 1 \le k \le N-1",
    family=FAMILY,
    implements=("balanced_point",),
    fails_if="at balanced points the layer singular values differ from sigma(X)^{1/N}, |W_k|^2 depends on k, or "
    "|V_{k+1}^* U_k| differs from I (beyond 1e-10), or the printed V_k = U_{k+1} holds",
)
def lm_align(ds) -> Evidence:
    ev = Evidence()
    for name in ("align_singular_values", "align_norm_spread", "align_corrected"):
        require_max(ev, ds, name, "identity")
    implementations(ev, ds, "balanced_point")
    ev.printed_residual(
        smallest(ds, "align_printed"), "identity", "min over the dataset of " + ds["align_printed"].long_name
    )
    cover(ev, ds)
    return ev


@claim(
    "LM-Rem18-dim",
    uses=("DEF-fiber",),
    proof_uses=("LM-Lem1", "LM-Def8"),
    dependency_note="Remark 18 (§3.3) and the Hausdorff dimension in (4.5): F_X is a GL(d)^{N-1}-orbit (Lemma 1) on "
    "which a -> w_a is injective (H > 0, LM-Def8), so dim F_X = dim gl(d)^{N-1}.",
    paper="LM",
    where="Remark 18, §3.3 (F_X need not be even-dimensional over R); eq. (4.5) (Hausdorff dimension)",
    statement=r"\dim_{\mathbb R}\mathcal F_X = (N-1)d^2\ (\mathbb R),\ 2(N-1)d^2\ (\mathbb C)",
    family=FAMILY,
    implements=("dphi",),
    fails_if="N d^2 (2 N d^2 over C) minus the real rank of dphi differs from the formula at any point",
)
def lm_rem18_dim(ds) -> Evidence:
    ev = Evidence()
    mism = int((ds["dim_fiber"] != ds["dim_fiber_expected"]).sum())
    ev.require_equal("dim_fiber_mismatches", mism, 0, "points where dim ker dphi != (N-1)d^2 (x2 over C)")
    implementations(ev, ds, "dphi")
    odd = ds["dim_fiber"].where(ds["field"] == "real").values
    ev.info("odd_real_dimensions", int(((odd % 2) == 1).sum()), "real points with an odd-dimensional fiber")
    cover(ev, ds)
    return ev


@claim(
    "LM-Inv-dim",
    uses=("DEF-balanced",),
    proof_uses=("LM-1.3.2-align", "DEF-orbit"),
    dependency_note="§1.1 after (1.3) (dimension from Menon-Yu): the aligned parametrization W_k = U_k Lambda "
    "U_{k-1}^* of balanced points (§1.3.2 corrected, O_X = U.C of §1.2) counts d^2 for X plus (N-1) "
    "dim O_d for the orbit.",
    paper="LM",
    where="§1.1 (the balanced manifold, after eq. 1.3); dimension from Menon-Yu",
    statement=r"\dim_{\mathbb R}\mathcal M = d^2 + (N-1)d(d-1)/2\ (\mathbb R),\ 2d^2 + (N-1)d^2\ (\mathbb C)",
    family=FAMILY,
    implements=("balanced_point",),
    fails_if="at a balanced point N d^2 (2 N d^2 over C) minus the real rank of dG differs from the formula",
)
def lm_inv_dim(ds) -> Evidence:
    ev = Evidence()
    mism = int((ds["dim_M"] != ds["dim_M_expected"]).sum())
    ev.require_equal("dim_M_mismatches", mism, 0, "balanced points where dim ker dG != the formula")
    cover(ev, ds)
    return ev
