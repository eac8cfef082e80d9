"""Claims of LM §1.1 and §3 about minimum principles on fibers: Theorems 1, 14(2), 20, the open case p = 1,
and what the numerics show beyond them (sums of p-th powers, quasi-norms 0 < p < 1).

Evidence: the ``schatten`` family (:mod:`dln.experiments.schatten`): minimizers found from random starts,
their objective, gap to the closed form, balancedness and position on the fiber evaluated with the printed
formulas; Hessians by finite differences of the reference gradient.
"""

from __future__ import annotations

import numpy as np

from ._claims import Evidence, claim
from ._measure import cover, definition, values, worst

FAMILY = "schatten"


def _select(ds, objective: str, pmin: float, pmax: float, *, include_min=False, include_max=False):
    """The jobs of one objective with pmin < p < pmax (bounds included on request); a KeyError if none."""
    ps = [float(v) for v in ds["p"].values]
    keep = [v for v in ps if (v > pmin or (include_min and v == pmin)) and (v < pmax or (include_max and v == pmax))]
    if objective not in list(ds["objective"].values) or not keep:
        raise KeyError(f"the schatten dataset has no jobs with objective {objective!r} and p in ({pmin}, {pmax})")
    return ds.sel(objective=objective, p=keep)


def _minimum_evidence(ev: Evidence, sub) -> None:
    """The minimum principle on the selected jobs: gap, balancedness, fiber, implementations."""
    ev.require(
        "rel_gap_max",
        worst(sub, "rel_gap"),
        "optimizer",
        "max over X, restarts of |" + definition(sub, "rel_gap") + "|",
    )
    ev.require(
        "G_rel_max",
        worst(sub, "G_rel"),
        "balancedness_optimizer",
        "max over X, restarts of the " + definition(sub, "G_rel"),
    )
    ev.require("X_err_max", worst(sub, "X_err"), "identity", "max over X, restarts of " + definition(sub, "X_err"))
    ev.require(
        "objective_err_max", worst(sub, "objective_err"), "identity", "max of " + definition(sub, "objective_err")
    )
    ev.require("gradient_err_max", worst(sub, "gradient_err"), "identity", "max of " + definition(sub, "gradient_err"))
    ev.require(
        "closed_form_err_max", worst(sub, "closed_form_err"), "identity", "max of " + definition(sub, "closed_form_err")
    )
    ev.require(
        "best_value_err_max", worst(sub, "best_value_err"), "identity", "max of " + definition(sub, "best_value_err")
    )
    ev.info("minimizations", int(values(sub, "value").size), "minimizations (X x restarts)")


def _hessian_evidence(ev: Evidence, sub, where: str) -> None:
    null = values(sub, f"hessian_nullity_{where}")
    orbit = values(sub, "orbit_dimension")
    orbit = np.broadcast_to(orbit.reshape(orbit.shape + (1,) * (null.ndim - orbit.ndim)), null.shape)
    ev.require_equal(
        f"nullity_mismatches_{where}",
        int((null != orbit).sum()),
        0,
        "points where the Hessian's nullity differs from dim O_X = (N-1)d(d-1)/2 (real), "
        f"(N-1)d^2 (complex), {definition(sub, f'hessian_nullity_{where}')[31:]}",
    )
    ev.require(
        f"hessian_min_eig_{where}",
        float(max(0.0, -np.min(values(sub, f"hessian_min_eig_{where}")))),
        "fd_central",
        "max of (-smallest eigenvalue / largest)^+ (positive semidefinite)",
    )
    ev.require(
        f"hessian_err_{where}",
        worst(sub, f"hessian_err_{where}"),
        "fd_central",
        "max of " + definition(sub, f"hessian_err_{where}"),
    )
    ev.info(
        f"hessian_gap_{where}",
        float(np.min(values(sub, f"hessian_gap_{where}"))),
        "min of the " + definition(sub, f"hessian_gap_{where}"),
    )


@claim(
    "LM-Thm1",
    uses=("DEF-fiber", "DEF-balanced", "DEF-orbit"),
    proof_uses=("LM-Lem1", "LM-Thm14-p2", "LM-Rem18", "DEF-orbit"),
    dependency_note="Proof of Theorem 1 (§3.3): Kempf-Ness (Theorems 13-14; registered only as LM-Thm14-p2) on the "
    "fiber, a GL(d)^{N-1}-orbit by Lemma 1 (statement, not its construction); the minimizing K-orbit "
    "is G = 0 (Remark 18, eq. 3.7); the value |C|^2 = N sum sigma^{2/N} is the project's.",
    paper="LM",
    where="Theorem 1, eq. (1.5), §1.1 (value of the minimum derived here)",
    statement=r"\operatorname{argmin}_{\mathcal F_X}\|\mathbf W\|_2 = \mathcal F_X\cap\mathcal M = \mathcal O_X,"
    r"\quad \min_{\mathcal F_X}\|\mathbf W\|_2^2 = N\textstyle\sum_i\sigma_i^{2/N}",
    family=FAMILY,
    implements=("schatten_minimize", "schatten_closed_form", "schatten_objective"),
    fails_if="a minimizer of |W|^2 over F_X found from a random start has a value above N sum sigma^{2/N} by more "
    "than 1e-10 relative, is unbalanced (|G|/|W|^2 > 1e-7) or off the fiber (1e-10)",
)
def lm_thm1(ds) -> Evidence:
    ev = Evidence()
    sub = _select(ds, "powers", 2.0, 2.0, include_min=True, include_max=True)
    _minimum_evidence(ev, sub)
    cover(ev, sub)
    return ev


@claim(
    "LM-Thm20",
    uses=("DEF-fiber", "DEF-balanced", "DEF-orbit", "DEF-schatten"),
    proof_uses=("LM-Lem1", "DEF-schatten", "DEF-orbit"),
    dependency_note="§3.4: Theorem 19 (Azad-Loeb, not registered) on the orbit G/H = F_X (Lemma 1) with the strictly "
    "plurisubharmonic (3.8); the value N(sum sigma^{p/N})^{1/p} on O_X is the project's Hoelder + AM-"
    "GM derivation.",
    paper="LM",
    where="Theorem 20, eqs. (3.8)-(3.9), §3.4 (value of the minimum derived here)",
    statement=r"1<p<\infty:\ \operatorname{argmin}_{\mathcal F_X}\textstyle\sum_k\|W_k\|_{S_p} = \mathcal O_X,"
    r"\quad \min = N\big(\textstyle\sum_i\sigma_i^{p/N}\big)^{1/p}",
    family=FAMILY,
    implements=("schatten_minimize", "schatten_closed_form", "schatten_objective"),
    fails_if="for some 1 < p < infinity a minimizer of the sum of Schatten norms has a value above the closed form "
    "by more than 1e-10 relative, is unbalanced (|G|/|W|^2 > 1e-7) or off the fiber",
)
def lm_thm20(ds) -> Evidence:
    ev = Evidence()
    sub = _select(ds, "norms", 1.0, np.inf)
    _minimum_evidence(ev, sub)
    cover(ev, sub)
    return ev


@claim(
    "LM-p1",
    uses=("DEF-schatten", "DEF-orbit"),
    proof_uses=("LM-Thm20", "DEF-schatten", "DEF-orbit"),
    dependency_note="§3.4 after Theorem 20 leaves p = 1 open (not strictly plurisubharmonic); the value is the "
    "project's Schatten-Hoelder + AM-GM argument of Theorem 20 extended to p = 1, the argmin and "
    "Hessian nullity are numerical.",
    paper="LM",
    where="§3.4, after Theorem 20 (the case p = 1 is left open)",
    kind="open",
    statement=r"p=1:\ \min_{\mathcal F_X}\textstyle\sum_k\|W_k\|_{S_1} = N\sum_i\sigma_i^{1/N},\ \text{attained on } "
    r"\mathcal O_X \text{ from every start tried; Hessian nullity} = \dim\mathcal O_X",
    derivation=r"Schatten-Hoelder gives $\|X\|_{S_{p/N}} \le \prod_k \|W_k\|_{S_p}$ for every $p > 0$, and AM-GM "
    r"gives $\sum_k \|W_k\|_{S_p} \ge N (\prod_k \|W_k\|_{S_p})^{1/N} \ge N \|X\|_{S_{p/N}}^{1/N} = "
    r"N (\sum_i \sigma_i^{p/N})^{1/p}$, with equality on $\mathcal O_X$ (equal layers $\Sigma^{1/N}$ up to unitaries). "
    r"So the value is proved for $p = 1$; that the minimizers are exactly $\mathcal O_X$ (LM's open question) "
    r"is what the numerics support: every minimizer found is balanced and the Hessian is degenerate exactly "
    r"along the orbit (also where $X$ has a repeated singular value).",
    family=FAMILY,
    implements=("schatten_minimize", "schatten_hessian"),
    fails_if="a minimizer of the sum of trace norms from a random start has a value above N sum sigma^{1/N} "
    "(1e-10) or is unbalanced (1e-7), or the Hessian's nullity at a minimizer or at a balanced point of an X "
    "with a repeated singular value differs from dim O_X",
)
def lm_p1(ds) -> Evidence:
    ev = Evidence()
    sub = _select(ds, "norms", 1.0, 1.0, include_min=True, include_max=True)
    _minimum_evidence(ev, sub)
    _hessian_evidence(ev, sub, "best")
    _hessian_evidence(ev, sub, "rep")
    cover(ev, sub)
    return ev


@claim(
    "LM-Thm14-p2",
    uses=("DEF-orbit", "DEF-action", "DEF-fiber"),
    proof_uses=("LM-Lem1", "LM-Rem18", "DEF-orbit"),
    dependency_note="§3.3 applies Kempf-Ness Theorem 14(2) once its hypotheses are checked (the fiber is a closed "
    "orbit, Lemma 1) and the critical K-orbit is identified with G = 0 (Remark 18), i.e. O_X.",
    paper="LM",
    where="Theorem 14(2) (Kempf-Ness), applied to the DLN in §3.3",
    statement=r"\text{at } \mathbf W \in \mathcal O_X:\ \mathrm{Hess}\,\|(I+\mathbf a)\cdot\mathbf "
    r"W\|^2\big|_{\mathbf a=0}"
    r"\succeq 0,\ \ker = T\mathcal O_X:\ \text{nullity } (N-1)d(d-1)/2\ (\mathbb R),\ (N-1)d^2\ (\mathbb C)",
    family=FAMILY,
    implements=("schatten_hessian",),
    fails_if="at a minimizer of |W|^2 or a balanced point of an X with a repeated singular value, the Hessian "
    "(finite differences of the analytic gradient) has a negative eigenvalue beyond 1e-7 or a nullity "
    "other than dim O_X, or dln.schatten_hessian differs from it",
)
def lm_thm14(ds) -> Evidence:
    ev = Evidence()
    sub = _select(ds, "powers", 2.0, 2.0, include_min=True, include_max=True)
    _hessian_evidence(ev, sub, "best")
    _hessian_evidence(ev, sub, "rep")
    cover(ev, sub)
    return ev


@claim(
    "LM-Thm20-powers",
    uses=("DEF-schatten", "DEF-orbit"),
    proof_uses=("LM-Thm20", "LM-Thm20-quasi", "DEF-schatten"),
    dependency_note="Project finding: the same Hoelder + AM-GM bound applied to the p-th powers gives the minimizers "
    "of Theorem 20 (p = 3) and of its quasi-norm extension (p = 0.5, 1).",
    paper="LM",
    where="Theorem 20 with eq. (3.8): sums of p-th powers instead of sums of norms",
    kind="finding",
    statement=r"\operatorname{argmin}_{\mathcal F_X}\textstyle\sum_k\|W_k\|_{S_p}^p = \mathcal O_X,\quad "
    r"\min = N\textstyle\sum_i\sigma_i^{p/N}\quad(p \ne 2 \text{ tried: } p \in \{0.5, 1, 3\})",
    derivation=r"Schatten-Hoelder $\|X\|_{S_{p/N}} \le \prod_k\|W_k\|_{S_p}$ and AM-GM applied to the $N$ numbers "
    r"$\|W_k\|_{S_p}^p$: $\sum_k\|W_k\|_{S_p}^p \ge N\prod_k\|W_k\|_{S_p}^{p/N} \ge N\|X\|_{S_{p/N}}^{p/N} = "
    r"N\sum_i\sigma_i^{p/N}$, equality on $\mathcal O_X$. Same minimizers as the sum of norms; only the value differs.",
    family=FAMILY,
    implements=("schatten_minimize", "schatten_closed_form", "schatten_objective"),
    fails_if="a minimizer of a sum of p-th powers (p != 2) has a value above N sum sigma^{p/N} beyond 1e-10 "
    "relative or is unbalanced (1e-7)",
)
def lm_thm20_powers(ds) -> Evidence:
    ev = Evidence()
    sub = _select(ds, "powers", 0.0, np.inf)
    keep = [float(v) for v in sub["p"].values if float(v) != 2.0]
    if not keep:
        raise KeyError("the schatten dataset has no sum of p-th powers with p != 2")
    _minimum_evidence(ev, sub.sel(p=keep))
    cover(ev, sub.sel(p=keep))
    return ev


@claim(
    "LM-Thm20-quasi",
    uses=("DEF-schatten", "DEF-orbit"),
    proof_uses=("LM-p1", "LM-Thm20", "DEF-schatten"),
    dependency_note="Project finding: Schatten-Hoelder holds for every p > 0, so 'the AM-GM argument of LM-p1' (and "
    "of Theorem 20's value) gives the bound for 0 < p < 1.",
    paper="LM",
    where="Theorem 20 outside its range: Schatten quasi-norms 0 < p < 1",
    kind="finding",
    statement=r"0<p<1:\ \min_{\mathcal F_X}\textstyle\sum_k\|W_k\|_{S_p} = N\big(\sum_i\sigma_i^{p/N}\big)^{1/p},"
    r"\ \text{attained on } \mathcal O_X",
    derivation=r"Schatten-Hoelder holds for every $p > 0$ (quasi-norms included), so the AM-GM argument of "
    r"LM-p1 gives the same lower bound, attained on $\mathcal O_X$; the numerics find it from random starts.",
    family=FAMILY,
    implements=("schatten_minimize",),
    fails_if="a minimizer for some 0 < p < 1 has a value above the closed form beyond 1e-10 relative or is "
    "unbalanced (1e-7)",
)
def lm_thm20_quasi(ds) -> Evidence:
    ev = Evidence()
    sub = _select(ds, "norms", 0.0, 1.0)
    _minimum_evidence(ev, sub)
    cover(ev, sub)
    return ev
