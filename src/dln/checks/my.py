"""Claims of Menon-Yu (the entropy formula) and the derived complex case and normalization.

Evidence: the ``entropy`` family (:mod:`dln.experiments.entropy`). The sources of MY available here are its
abstract and secondary summaries; the formula checked is the one they quote, against a Gram determinant
computed from the orbit tangent vectors (LM eq. 2.3) on an orthonormal basis of the Lie algebra.
"""

from __future__ import annotations

import numpy as np

from ._claims import Evidence, claim
from ._measure import cover, definition, values, worst

FAMILY = "entropy"


def _field(ds, field):
    if field not in list(ds["field"].values):
        raise KeyError(f"the entropy dataset has no {field} jobs")
    return ds.sel(field=field)


@claim(
    "MY-Thm4",
    uses=("DEF-entropy", "DEF-orbit", "MY-const"),
    proof_uses=("MY-Jacobi", "DEF-orbit", "DEF-action"),
    dependency_note="MY Theorem 4 (quoted from secondary summaries): vol O_X = c_d^{N-1} sqrt(det Gram) with the Gram"
    " of the orbit tangent vectors constant along O_X = O_d^{N-1}.C, and det Gram = prod D_ij from "
    "the Jacobi-matrix basis ('the main technical step').",
    paper="MY",
    where="Theorem 4 (the entropy formula; quoted from secondary summaries of arXiv:2509.09088)",
    statement=r"S_N(X) = \log\mathrm{vol}(\mathcal O_X) = (N-1)\log c_d + \tfrac12\log"
    r"\frac{\mathrm{van}(\Sigma^2)}{\mathrm{van}(\Sigma^{2/N})}\quad(\mathbb R,\ \text{distinct } \sigma_i)",
    family=FAMILY,
    implements=("entropy", "orbit_volume_gram"),
    fails_if="1/2 log det of the Gram matrix of the orbit tangent vectors at a random point Q.C differs from the "
    "quoted closed form by more than 1e-10, or dln.entropy / dln.orbit_volume_gram differ from it",
)
def my_thm4(ds) -> Evidence:
    ev = Evidence()
    sub = _field(ds, "real")
    for name in ("gram_err", "entropy_err", "volume_gram_err"):
        ev.require(name, worst(sub, name), "identity", "max over real X of " + definition(sub, name))
    cover(ev, sub)
    return ev


@claim(
    "MY-complex",
    uses=("DEF-entropy", "DEF-orbit"),
    proof_uses=("MY-Jacobi", "LM-Lem3", "DEF-orbit"),
    dependency_note="Project finding: over u(d) each off-diagonal pair gives two copies of MY's Jacobi block and the "
    "diagonal directions iE_ii give the path-Laplacian Gram (computed with Lemma 3 at the centre).",
    paper="MY",
    where="the entropy formula over C (U(d)^{N-1}-orbits; not in the available sources)",
    kind="finding",
    statement=r"\mathbb C:\ \tfrac12\log\det\mathrm{Gram} = \textstyle\sum_{i<j}\log D_{ij} + \tfrac12\sum_i"
    r"\log\big(N\sigma_i^{2(N-1)/N}\big),\ D_{ij} = \frac{\sigma_i^2-\sigma_j^2}{\sigma_i^{2/N}-\sigma_j^{2/N}}",
    derivation=r"Over $\mathbb C$ the Lie algebra $u(d)$ has, for each pair $i<j$, two orthonormal directions "
    r"$(E_{ij}-E_{ji})/\sqrt2$ and $i(E_{ij}+E_{ji})/\sqrt2$, each giving the Jacobi block of the real case (so "
    r"$\log D_{ij}$ instead of $\tfrac12\log D_{ij}$), and $d$ diagonal directions $iE_{ii}$: at the centre their "
    r"tangent vectors have Gram matrix $\mathrm{tridiag}(-\lambda_i^2, 2\lambda_i^2, -\lambda_i^2)$ of size "
    r"$N-1$, with determinant $N\lambda_i^{2(N-1)}$ (a path-graph Laplacian), which is the extra term.",
    family=FAMILY,
    implements=("entropy", "orbit_volume_gram"),
    fails_if="1/2 log det Gram over u(d)^{N-1} at a random point Q.C differs from the formula by more than 1e-10",
)
def my_complex(ds) -> Evidence:
    ev = Evidence()
    sub = _field(ds, "complex")
    for name in ("gram_err", "entropy_err", "volume_gram_err"):
        ev.require(name, worst(sub, name), "identity", "max over complex X of " + definition(sub, name))
    cover(ev, sub)
    return ev


@claim(
    "MY-Jacobi",
    uses=("DEF-orbit", "DEF-action", "DEF-gram"),
    proof_uses=("LM-Lem3", "DEF-gram", "DEF-orbit"),
    dependency_note="MY's main technical step (abstract): the Gram matrix of w_a, a in so(d)^{N-1}, at the centre C "
    "(Lemma 3 with H of (2.8)), regrouped by (i,j) sector; at Q.C by unitary invariance (1.7).",
    paper="MY",
    where="the orthonormal basis of T O_X from Jacobi matrices (MY, main technical step)",
    statement=r"\text{Gram at } \mathbf C = \bigoplus_{(i,j)} J_{ij},\ J_{ij} = \mathrm{tridiag}(-\lambda_i\lambda_j,"
    r"\lambda_i^2+\lambda_j^2,-\lambda_i\lambda_j),\ \det J_{ij} = \textstyle\sum_{k=0}^{N-1}\lambda_i^{2k}"
    r"\lambda_j^{2(N-1-k)}",
    family=FAMILY,
    implements=("jacobi_block", "orbit_gram_matrix"),
    fails_if="the Gram matrix at the centre, regrouped by sector, differs from the block-diagonal Jacobi form, or a "
    "Jacobi determinant from the sum, by more than 1e-10 relative",
)
def my_jacobi(ds) -> Evidence:
    ev = Evidence()
    for name in ("jacobi_form_err", "jacobi_det_err", "jacobi_block_err", "orbit_gram_matrix_err"):
        ev.require(name, worst(ds, name), "identity", "max over X of " + definition(ds, name))
    cover(ev, ds)
    return ev


@claim(
    "MY-const",
    uses=("DEF-inner",),
    proof_uses=("DEF-inner",),
    dependency_note="Project finding: c_d = vol(O_d) in the metric Re Tr(a^*b) (1.14), by the submersion SO(d) -> "
    "S^{d-1}; independent of the DLN, it fixes the constant in the statement of MY-Thm4.",
    paper="MY",
    where="the constant c_d of the entropy formula (normalization; not fixed by the available sources)",
    kind="finding",
    statement=r"c_d = \mathrm{vol}(O_d) = 2\cdot 2^{d(d-1)/4}\textstyle\prod_{k=1}^{d-1}|S^k|\ (\mathbb R),\ "
    r"\mathrm{vol}(U_d) = 2^{d(d-1)/2}\prod_{k=1}^{d}|S^{2k-1}|\ (\mathbb C) \text{ in the metric } "
    r"\mathrm{Re\,Tr}(a^*b)",
    derivation=r"$SO(d) \to S^{d-1}$, $Q \mapsto Qe_1$ is a Riemannian submersion up to the factor $\sqrt2$ (a "
    r"horizontal $a \in so(d)$ has $\|a\|_F^2 = 2\|ae_1\|^2$) with fibre $SO(d-1)$, so "
    r"$\mathrm{vol}\,SO(d) = 2^{(d-1)/2}|S^{d-1}|\,\mathrm{vol}\,SO(d-1)$; $O(d)$ has two components. Over "
    r"$\mathbb C$, "
    r"$U(d) \to S^{2d-1}$, $U \mapsto Ue_1$, stretches the $2(d-1)$ off-diagonal horizontal directions by $\sqrt2$ "
    r"and the diagonal one by 1, so $\mathrm{vol}\,U(d) = 2^{d-1}|S^{2d-1}|\,\mathrm{vol}\,U(d-1)$, "
    r"$\mathrm{vol}\,U(1) = 2\pi$. Whether MY use $O_d$ or $SO_d$ only shifts $S_N$ by $(N-1)\log 2$.",
    family=FAMILY,
    implements=("group_volume", "entropy_log_depth_coefficient"),
    fails_if="the volume of O_2, O_3, U_1 or U_2 computed by quadrature of the Riemannian volume density of a "
    "parametrization differs from dln.group_volume by more than 1e-8 relative",
)
def my_const(ds) -> Evidence:
    ev = Evidence()
    computed = values(ds, "group_volume_quadrature") > 0
    if not computed.any():
        raise KeyError("the entropy dataset has no (d, field) whose group volume was computed by quadrature")
    ev.require(
        "group_volume_err",
        float(np.max(values(ds, "group_volume_err")[computed])),
        "quadrature",
        "max over the computed (d, field) of " + definition(ds, "group_volume_err"),
    )
    ev.require(
        "log_depth_coefficient_err",
        worst(ds, "log_depth_coefficient_err"),
        "identity",
        "max of " + definition(ds, "log_depth_coefficient_err"),
    )
    ev.info(
        "volumes_computed",
        int(np.unique(values(ds, "group_volume_quadrature")[computed]).size),
        "distinct groups whose volume was computed by quadrature",
    )
    cover(ev, ds)
    return ev
