"""Claims of Chen-Kotwal-Menon (entropic regularization): the free-energy flow on singular values, its
equilibria and rates, the exact solution on equal singular values, infinite depth, the concavity of S_N.

Evidence: the ``free_energy`` family (and ``entropy`` for the concavity). The sources of CKM available here
are its abstract, theorem list and figure caption; the formulas are derived from MY's entropy formula (see
each claim's derivation). Over C the constants differ (the finding CKM-complex).
"""

from __future__ import annotations

import numpy as np

from ._claims import Evidence, claim
from ._measure import cover, definition, values, worst

FAMILY = "free_energy"


def _real(ds):
    if "real" not in list(ds["field"].values):
        raise KeyError("the dataset has no real jobs")
    return ds.sel(field="real")


def _complex(ds):
    if "complex" not in list(ds["field"].values):
        raise KeyError("the dataset has no complex jobs")
    return ds.sel(field="complex")


_FLOW = (
    r"By MY's metric $g^N$, the chamber of singular values carries $g = \sum_i d\sigma_i^2/(N\sigma_i^{2-2/N})$ "
    r"(diagonal matrices are totally geodesic and $\mathcal A_{N,X}$ acts on $U\,\mathrm{diag}(a)V^*$ by "
    r"$N\sigma_i^{2-2/N}$), so the $g^N$-gradient flow of a spectral $F_\beta$ is "
    r"$\dot\sigma_i = -N\sigma_i^{2-2/N}\partial_iF_\beta$."
)


@claim(
    "CKM-flow",
    uses=("DEF-free-energy", "DEF-metric-gN", "DEF-entropy"),
    proof_uses=("LM-Rem5", "MY-metric", "MY-Thm4"),
    dependency_note="CKM abstract and Fig. 1 caption: the g^N-gradient flow of F_beta; on singular values A_{N,X} "
    "acts by N sigma_i^{2-2/N} (Remark 5 / Menon-Yu's metric) and dS_N comes from the entropy "
    "formula.",
    paper="CKM",
    where="the gradient flow of F_beta = E - S_N/beta on (M_d, g^N) (Fig. 1 caption; abstract)",
    statement=r"\dot\sigma_i = -N\sigma_i^{2-2/N}\big(\partial_iE - \beta^{-1}\partial_iS_N\big) = "
    r"-\operatorname{grad}_{g^N}F_\beta,\ \text{the flow of } X' = -\mathcal A_{N,X}(\nabla F_\beta) \text{ "
    r"on singular "
    r"values; } F_\beta \text{ decreases}",
    family=FAMILY,
    implements=(
        "free_energy_field",
        "free_energy_gradient",
        "free_energy",
        "chamber_metric",
        "matrix_free_energy_field",
        "matrix_free_energy_flow",
        "spectral_gradient",
        "free_energy_flow",
    ),
    fails_if="the singular values of the matrix flow depart from the sigma-flow by more than 1e-8, F_beta increases "
    "along a trajectory beyond round-off, or a library function of the flow differs from the printed formulas "
    "(with 1/g^N(E_ii, E_ii) by a dense solve with A_{N,X})",
)
def ckm_flow(ds) -> Evidence:
    ev = Evidence()
    ev.require(
        "matrix_vs_sigma", worst(ds, "matrix_vs_sigma"), "ode_adaptive", "max of " + definition(ds, "matrix_vs_sigma")
    )
    ev.require(
        "free_energy_increase",
        float(max(0.0, np.max(values(ds, "free_energy_max_increase")))),
        "monotone_roundoff",
        "max of " + definition(ds, "free_energy_max_increase"),
    )
    for name in (
        "field_err",
        "gradient_err",
        "free_energy_err",
        "chamber_metric_err",
        "matrix_field_err",
        "spectral_gradient_err",
    ):
        ev.require(name, worst(ds, name), "identity", "max of " + definition(ds, name))
    cover(ev, ds)
    return ev


@claim(
    "CKM-Thm1.2",
    uses=("DEF-free-energy", "DEF-metric-gN"),
    proof_uses=("CKM-flow", "MY-Thm4"),
    dependency_note="CKM Theorem 1.2 (proof unavailable): the project's derivation sets the CKM-flow field to zero at"
    " equal singular values with sigma d_iS_N = (d-1)(N-1)/(2N) from Euler homogeneity of the entropy"
    " formula; uniqueness is not derived here.",
    paper="CKM",
    where="Theorem 1.2 (the unique equilibrium; constant derived here)",
    statement=r"\text{the unique equilibrium is } \sigma_i \equiv \sigma_\star,\ \sigma_\star f'(\sigma_\star) = c = "
    r"\frac{(d-1)(N-1)}{2N\beta};\ E = \tfrac1p\textstyle\sum\sigma_i^p:\ \sigma_\star = c^{1/p}\quad(\mathbb R)",
    derivation=_FLOW + r" At equal singular values Euler homogeneity of $S_N$ gives "
    r"$\sigma\partial_iS_N = (d-1)(N-1)/(2N)$, so the equilibrium solves $\sigma f'(\sigma) = c$.",
    family=FAMILY,
    implements=("equilibrium", "entropic_constant", "free_energy_flow"),
    fails_if="trajectories from random starts end farther than 1e-8 (relative) from c^{1/p}, or dln.equilibrium / "
    "dln.entropic_constant differ from the formula",
)
def ckm_thm12(ds) -> Evidence:
    ev = Evidence()
    sub = _real(ds)
    ev.require(
        "trajectory_final_err",
        worst(sub, "trajectory_final_err"),
        "ode_adaptive",
        "max over real panels of " + definition(sub, "trajectory_final_err"),
    )
    for name in ("sigma_star_err", "c_err"):
        ev.require(name, worst(sub, name), "identity", "max of " + definition(sub, name))
    cover(ev, sub)
    return ev


@claim(
    "CKM-Thm1.3",
    uses=("CKM-Thm1.2", "CKM-flow"),
    proof_uses=("CKM-Thm1.2", "CKM-flow", "MY-Thm4"),
    dependency_note="CKM Theorem 1.3 (proof unavailable): linearize CKM-flow at sigma_star of Theorem 1.2 with the "
    "Hessian of S_N from the entropy formula (psi_xx, psi_xy of (1/2) log D).",
    paper="CKM",
    where="Theorem 1.3 (relaxation rates; formulas derived here)",
    statement=r"r_1 = pNc\,\sigma_\star^{-2/N},\ r_\perp = N\sigma_\star^{-2/N}\tfrac{N-1}\beta\Big[\tfrac{(p-1)(d-1)}"
    r"{2N} + \tfrac{(d-1)(2N-1)-(N+1)}{6N^2}\Big]\ (\times(d-1))\quad(\mathbb R)",
    derivation=r"Linearize the flow at $\sigma_\star\mathbb 1$: $J = "
    r"-N\sigma_\star^{2-2/N}\,\mathrm{Hess}\,F_\beta$. With "
    r"$\psi = \tfrac12\log D$ for one pair, $\psi_{xx} = -(N-1)(2N-1)/(6N^2s^2)$ and "
    r"$\psi_{xy} = -(N-1)(N+1)/(6N^2s^2)$ at equal arguments $s$; the Hessian of $S_N$ at $s\mathbb 1$ is "
    r"$[h_0(dI - \mathbb 1\mathbb 1^T) - c\beta I]/s^2$, $h_0 = (N^2-1)/(6N^2)$, whose uniform mode gives $r_1$ and "
    r"whose $d-1$ relative modes give $r_\perp$.",
    family=FAMILY,
    implements=("relaxation_rates", "free_energy_jacobian"),
    fails_if="the eigenvalues of minus the Jacobian (central differences of the printed field) at sigma_star differ "
    "from r_1, r_perp by more than 1e-7 relative, or dln.relaxation_rates / dln.free_energy_jacobian differ from "
    "them",
)
def ckm_thm13(ds) -> Evidence:
    ev = Evidence()
    sub = _real(ds)
    ev.require(
        "rate_fd_err",
        worst(sub, "rate_fd_err"),
        "fd_central",
        "max over real panels of " + definition(sub, "rate_fd_err"),
    )
    ev.require("rate_lib_err", worst(sub, "rate_lib_err"), "identity", "max of " + definition(sub, "rate_lib_err"))
    ev.require("jacobian_err", worst(sub, "jacobian_err"), "fd_central", "max of " + definition(sub, "jacobian_err"))
    cover(ev, sub)
    return ev


@claim(
    "CKM-complex",
    uses=("CKM-flow", "MY-complex"),
    proof_uses=("MY-complex", "CKM-flow", "CKM-Thm1.2", "CKM-Thm1.3"),
    dependency_note="Project finding: the computations of CKM-Thm1.2 and CKM-Thm1.3 repeated with the complex entropy"
    " formula MY-complex in the CKM-flow.",
    paper="CKM",
    where="Theorems 1.2 and 1.3 over C (U_d-orbits; not in the available sources)",
    kind="finding",
    statement=r"\mathbb C:\ c = \frac{d(N-1)}{N\beta},\ \sigma_\star = c^{1/p},\ r_1 = pNc\,\sigma_\star^{-2/N},\ "
    r"r_\perp = N\sigma_\star^{-2/N}\Big(pc - \frac{d(N^2-1)}{3N^2\beta}\Big)",
    derivation=r"Over $\mathbb C$ each pair contributes $\log D_{ij}$ (twice the real term) and each singular value "
    r"$\tfrac12\log(N\sigma_i^{2(N-1)/N})$ (MY-complex), so at equal singular values "
    r"$\sigma\partial_iS_N = (d-1)(N-1)/N + (N-1)/N = d(N-1)/N$, i.e. $c = d(N-1)/(N\beta)$; the pair Hessian "
    r"doubles ($h_0 = 2(N^2-1)/(6N^2)$) and the diagonal term adds $-(N-1)/(Ns^2)$ to each $\partial_i^2S_N$, "
    r"which gives $r_\perp$ above and leaves $r_1 = pNc\sigma_\star^{-2/N}$.",
    family=FAMILY,
    implements=("equilibrium", "entropic_constant", "relaxation_rates", "free_energy_flow"),
    fails_if="over C, trajectories end farther than 1e-8 from c^{1/p}, or the eigenvalues of minus the Jacobian at "
    "sigma_star differ from r_1, r_perp by more than 1e-7",
)
def ckm_complex(ds) -> Evidence:
    ev = Evidence()
    sub = _complex(ds)
    ev.require(
        "trajectory_final_err",
        worst(sub, "trajectory_final_err"),
        "ode_adaptive",
        "max over complex panels of " + definition(sub, "trajectory_final_err"),
    )
    ev.require(
        "rate_fd_err",
        worst(sub, "rate_fd_err"),
        "fd_central",
        "max over complex panels of " + definition(sub, "rate_fd_err"),
    )
    for name in ("sigma_star_err", "c_err", "rate_lib_err"):
        ev.require(name, worst(sub, name), "identity", "max of " + definition(sub, name))
    cover(ev, sub)
    return ev


@claim(
    "CKM-Thm1.7",
    uses=("CKM-flow", "CKM-Thm1.2", "DEF-free-energy"),
    proof_uses=("CKM-flow", "CKM-Thm1.2"),
    dependency_note="CKM Theorem 1.7 (proof unavailable): on D, d_iS_N = c beta/sigma (the constant of Theorem 1.2), "
    "so CKM-flow reduces to v' = -2(sigma f'(sigma) - c).",
    paper="CKM",
    where="Theorem 1.7 (exact solution on the equal-singular-value manifold D)",
    statement=r"\mathcal D = \{\sigma_1 = \dots = \sigma_d\} \text{ is invariant; } v = \sigma^{2/N}:\ \dot v = "
    r"-2(\sigma f'(\sigma) - c),\ \text{Schatten-}p:\ \dot v = -2(v^{pN/2} - c)",
    derivation=r"On $\mathcal D$, $\partial_iS_N = c\beta/\sigma$, so $\dot\sigma = "
    r"-N\sigma^{2-2/N}(f'(\sigma) - c/\sigma)$ "
    r"and $v = \sigma^{2/N}$ has $\dot v = \tfrac2N\sigma^{2/N-1}\dot\sigma = -2(\sigma f'(\sigma) - c)$.",
    family=FAMILY,
    implements=("equal_sv_solution", "free_energy_flow"),
    fails_if="the flow from an equal start leaves D or departs from dln.equal_sv_solution by more than 1e-8, or that "
    "solution violates v' = -2(v^{pN/2} - c) beyond 1e-7 (central differences in t)",
)
def ckm_thm17(ds) -> Evidence:
    ev = Evidence()
    ev.require("diagonal_err", worst(ds, "diagonal_err"), "ode_adaptive", "max of " + definition(ds, "diagonal_err"))
    ev.require(
        "diagonal_spread", worst(ds, "diagonal_spread"), "ode_adaptive", "max of " + definition(ds, "diagonal_spread")
    )
    ev.require(
        "diagonal_ode_residual",
        worst(ds, "diagonal_ode_residual"),
        "fd_central",
        "max of " + definition(ds, "diagonal_ode_residual"),
    )
    cover(ev, ds)
    return ev


@claim(
    "CKM-Rmk1.4",
    uses=("DEF-entropy", "CKM-Thm1.2", "CKM-Thm1.3"),
    proof_uses=("MY-Thm4", "MY-const", "MY-complex", "CKM-Thm1.2", "CKM-Thm1.3"),
    dependency_note="CKM Remark 1.4: N -> infinity in the log form of the entropy formula (real; k_d = d^2/2 from MY-"
    "complex) and in the constant c and rates of Theorems 1.2-1.3.",
    paper="CKM",
    where="Remark 1.4 (infinite depth)",
    statement=r"N\to\infty:\ S_N - (N-1)\log c_d - k_d\log N \to \tfrac12\textstyle\sum_{i<j}\log\frac{\sigma_i^2-"
    r"\sigma_j^2}{2\log(\sigma_i/\sigma_j)}\ (\mathbb R);\ c \to \tfrac{d-1}{2\beta};\ r/N \to \text{const};\ "
    r"\text{errors } O(1/N)",
    derivation=r"With $\delta = \log(\sigma_i/\sigma_j)$, $\log D_{ij} = \tfrac{N-1}N\log(\sigma_i\sigma_j) + "
    r"\log\frac{\sinh\delta}{\sinh(\delta/N)}$ and $\sinh(\delta/N) = \tfrac\delta N(1 + O(N^{-2}))$; "
    r"$k_d = d(d-1)/4$ (real), $d^2/2$ (complex). The constants and rates are rational in $N$.",
    family=FAMILY,
    implements=("infinite_depth_limits", "entropy_infinite_depth"),
    fails_if="the errors of the entropy, c, r_1/N or r_perp/N at N = 1e2, 1e3, 1e4 do not decay with fitted "
    "order 1 (within 0.2), or dln.infinite_depth_limits differs from the limits",
)
def ckm_rmk14(ds) -> Evidence:
    ev = Evidence()
    ev.require(
        "order_deviation",
        float(np.max(np.abs(values(ds, "limit_order") - 1.0))),
        "order_band",
        "max over panels and quantities of |" + definition(ds, "limit_order") + " - 1|",
    )
    ev.require("limits_err", worst(ds, "limits_err"), "identity", "max of " + definition(ds, "limits_err"))
    cover(ev, ds)
    return ev


@claim(
    "CKM-concavity",
    uses=("DEF-entropy", "DEF-metric-gN"),
    proof_uses=("MY-Thm4", "CKM-flow", "CKM-Thm1.3"),
    dependency_note="CKM abstract / concavity section: Euclidean Hessian of the entropy formula; the g^N Hessian uses"
    " the flat chamber coordinates tau of CKM-flow and, at equal lambda, the psi_xx, psi_xy computed "
    "for Theorem 1.3.",
    paper="CKM",
    where="the concavity of S_N (abstract; the section on concavity)",
    statement=r"\mathbb R:\ \mathrm{Hess}_\sigma S_N \prec 0 \text{ in the chamber } (N\ge3 \text{ or } "
    r"d\ge3;\ N=d=2:\ "
    r"\preceq 0);\ \mathrm{Hess}_{g^N}S_N \text{ indefinite; at equal } \lambda:\ "
    r"\tfrac1N\big[-\tfrac{N-1}{2\lambda^2}\big],"
    r"\ \tfrac1N\big[\tfrac{(N-1)(2N-1)}{6\lambda^2}\big]",
    derivation=r"$g^N$ is flat on the chamber with Euclidean coordinates $\tau_i = \sqrt N\sigma_i^{1/N}$, so the "
    r"Riemannian Hessian is the Hessian in $\tau$; at equal $\lambda$ (d = 2) its eigenvalues on the uniform and "
    r"antisymmetric directions follow from $\psi_{xx}$, $\psi_{xy}$ of CKM-Thm1.3 and the chain rule.",
    family="entropy",
    implements=("entropy_hessian", "entropy_gradient"),
    fails_if="at a random point of the real chamber the largest eigenvalue of the Euclidean Hessian is >= 0 "
    "(N = d = 2: "
    "departs from 0 by more than 1e-8), the tau-Hessian is not indefinite, its eigenvalues at equal lambda differ "
    "from the formula, or dln.entropy_hessian (dln.entropy_gradient) differs from the finite-difference Hessian "
    "(the complex-step gradient) of the closed form",
)
def ckm_concavity(ds) -> Evidence:
    ev = Evidence()
    sub = ds.sel(field="real")
    top = sub["hessian_top"].max("point")
    flat = (sub["N"] == 2) & (sub["d"] == 2)
    strict = top.where(~flat)
    ev.require(
        "largest_eigenvalue",
        float(max(0.0, float(strict.max()))),
        "positive_part",
        "max over real (d, N) != (2, 2) and points of (largest eigenvalue / max |eigenvalue|)^+ (0: negative definite)",
    )
    if bool(flat.any()):
        ev.require(
            "semidefinite_N2_d2",
            float(np.abs(top.where(flat)).max()),
            "fd_central",
            "max |largest eigenvalue| / max |eigenvalue| at N = d = 2 (semidefinite: 0)",
        )
    ev.require_equal(
        "tau_definite_points",
        int((sub["tau_indefinite"] == 0).sum()),
        0,
        "real chamber points where the tau-coordinate Hessian is not indefinite",
    )
    ev.require("tau_equal_err", worst(sub, "tau_equal_err"), "fd_central", "max of " + definition(sub, "tau_equal_err"))
    ev.require(
        "gradient_err", worst(ds, "gradient_err"), "identity", "max (both fields) of " + definition(ds, "gradient_err")
    )
    ev.require(
        "hessian_err", worst(ds, "hessian_err"), "fd_central", "max (both fields) of " + definition(ds, "hessian_err")
    )
    ev.require(
        "hessian_tau_err",
        worst(ds, "hessian_tau_err"),
        "fd_central",
        "max (both fields) of " + definition(ds, "hessian_tau_err"),
    )
    cplx = ds.sel(field="complex") if "complex" in list(ds["field"].values) else None
    if cplx is not None:
        ev.info(
            "complex_largest_eigenvalue",
            float(cplx["hessian_top"].max()),
            "over C: max of the largest eigenvalue / max |eigenvalue| of the Euclidean Hessian",
        )
        ev.info(
            "complex_tau_indefinite_fraction",
            float(cplx["tau_indefinite"].mean()),
            "over C: fraction of points where the tau-Hessian is indefinite (not always, unlike R)",
        )
    cover(ev, ds)
    return ev
