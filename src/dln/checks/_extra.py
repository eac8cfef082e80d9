"""Extra ledger entries: claims of LM (seeds/001) that THEOREMS.md does not list, with new IDs.

- ``LM-1.3.2-align`` (erratum, index slip): on M each layer has singular values Sigma^{1/N} and the
  singular vectors are aligned; with W_k = U_k Lambda_k V_k^* and X = W_N ... W_1 the alignment is
  V_{k+1} = U_k (up to phases), not V_k = U_{k+1} as printed. Also ||W_k||^2 is independent of k.
- ``LM-(2.7)``: the printed expansion of <w_b, w_a> (display before Def. 8) equals the inner product.
- ``LM-Thm14-p2``: Kempf-Ness Thm 14(2) for the DLN: the Hessian of ||A.W||^2 at a balanced point is
  positive semidefinite and degenerate exactly along the unitary orbit (nullity (N-1)d(d-1)/2 real,
  (N-1)d^2 complex).
- ``LM-Thm20-powers`` (normalization question): the sum of p-th powers sum_k ||W_k||_p^p has the same
  minimizers O_X (value N sum sigma^{p/N}); only the value differs from the sum of norms (LM eq. 3.8).
- ``LM-Thm20-quasi``: for 0 < p < 1 (Schatten quasi-norms; outside Thm 20) the value N (sum sigma^{p/N})^{1/p}
  is still the minimum (Schatten-Hoelder holds for all p > 0) and it is reached on O_X from random starts.
- ``LM-Rem18-dim``: dim_R F_X = (N-1)d^2 (real; odd for d = 3, N = 2, so F_X is not symplectic in general,
  as Remark 18 says) and 2(N-1)d^2 (complex; the Hausdorff dimension in (4.5) over C).
- ``LM-Fig1.1-caption`` (erratum, minor): the minimizers of |w|^2 on w_2 w_1 = x > 0 are (sqrt x, sqrt x) and
  (-sqrt x, -sqrt x); the caption's (+-sqrt x, +-sqrt x) with independent signs includes points off the fiber.
"""

from __future__ import annotations

import numpy as np

from .. import _linalg as la
from .._action import balanced_point
from .._product import dphi
from .._random import random_layers, random_matrix, rng_from_params
from .._schatten import schatten_hessian, schatten_minimize
from .._tangent import orbit_tangent
from ..tolerances import tol
from ._registry import Outcome, register

__all__ = ["EXTRA_IDS"]

FIELDS = ("real", "complex")

#: The IDs registered here (none of them is in THEOREMS.md).
EXTRA_IDS = (
    "LM-1.3.2-align",
    "LM-(2.7)",
    "LM-Thm14-p2",
    "LM-Thm20-powers",
    "LM-Thm20-quasi",
    "LM-Rem18-dim",
    "LM-Fig1.1-caption",
)


def _orbit_dimension(N: int, d: int, field: str) -> int:
    return (N - 1) * d * (d - 1) // 2 if field == "real" else (N - 1) * d * d


@register(
    "LM-1.3.2-align",
    statement=r"\mathbf W\in\mathcal M,\ W_k = U_k\Lambda_kV_k^*:\ \Lambda_k = \Sigma^{1/N},\ V_{k+1} = U_k"
    r"\ \text{(up to phases)},\ \|W_k\|_2^2\text{ independent of }k",
    source="LM §1.3.2 (alignment of singular vectors; Du-Hu-Lee)",
    measures="max over balanced W = Q.C (Gaussian X, distinct sigma; d = 3, N = 4; 3 seeds, real and complex) of "
    "the relative error of the layer singular values vs sigma^{1/N}, the spread of ||W_k||^2 over k, and "
    "max | |V_{k+1}^* U_k| - I | (elementwise modulus, phases allowed); printed: max | |V_k^* U_{k+1}| - I |",
    tolerance="identity",
    params={"d": 3, "N": 4, "seeds": [0, 1, 2]},
    erratum=True,
    printed_statement=r"V_k = U_{k+1}",
    page="dln_fibers",
)
def _align(p):
    d, N = p["d"], p["N"]
    sv_err = spread = corrected = printed = 0.0
    for field in FIELDS:
        for seed in p["seeds"]:
            rng = rng_from_params(check="LM-1.3.2-align", field=field, seed=seed)
            X = random_matrix(rng, (d, d), field)
            W = balanced_point(X, N, rng)
            U, s, Vh = np.linalg.svd(W)  # W_k = U_k diag(s_k) V_k^*
            V = la.H(Vh)
            sig = np.linalg.svd(X, compute_uv=False)
            sv_err = max(sv_err, float(np.max(np.abs(s - sig ** (1.0 / N)) / sig ** (1.0 / N))))
            sq = np.sum(np.abs(W) ** 2, axis=(-2, -1))
            spread = max(spread, float(np.ptp(sq) / np.mean(sq)))
            I = np.eye(d)
            corr = np.abs(la.H(V[1:]) @ U[:-1])  # |V_{k+1}^* U_k|
            prin = np.abs(la.H(V[:-1]) @ U[1:])  # |V_k^* U_{k+1}|
            corrected = max(corrected, float(np.max(np.abs(corr - I))))
            printed = max(printed, float(np.max(np.abs(prin - I))))
    measured = max(sv_err, spread, corrected)
    return Outcome(
        measured=measured,
        passed=measured <= tol("identity"),
        printed=printed,
        values={"sv_rel_err": sv_err, "norm_spread": spread, "alignment_corrected": corrected},
    )


@register(
    "LM-(2.7)",
    statement=r"\langle\mathbf w_{\mathbf b},\mathbf w_{\mathbf a}\rangle = \mathrm{Re\,Tr}(b_{N-1}^*W_N^*W_Na_{N-1})"
    r"+\sum_{k=2}^{N-1}\mathrm{Re\,Tr}((W_k^*b_k^*-b_{k-1}^*W_k^*)(a_kW_k-W_ka_{k-1}))"
    r"+\mathrm{Re\,Tr}(W_1W_1^*b_1^*a_1)",
    source="LM §2.3, unnumbered display (2.7) before Definition 8",
    measures="max relative difference between the printed expansion and <w_b, w_a> for random W, a, b "
    "(N in {2, 4}, d = 3, 3 seeds, real and complex)",
    tolerance="identity",
    params={"d": 3, "Ns": [2, 4], "seeds": [0, 1, 2]},
    page="dln_fibers",
)
def _inner_27(p):
    worst = 0.0
    d = p["d"]
    for field in FIELDS:
        for N in p["Ns"]:
            for seed in p["seeds"]:
                rng = rng_from_params(check="LM-(2.7)", field=field, seed=seed, N=N)
                W = random_layers(rng, N, d, field)
                a = random_matrix(rng, (N - 1, d, d), field)
                b = random_matrix(rng, (N - 1, d, d), field)
                exact = float(la.inner(orbit_tangent(W, b), orbit_tangent(W, a), 3))
                H = la.H

                def rt(M):
                    return float(np.real(np.trace(M)))

                # W[k-1] = W_k, a[k-1] = a_k
                val = rt(H(b[N - 2]) @ H(W[N - 1]) @ W[N - 1] @ a[N - 2])
                for k in range(2, N):
                    left = H(W[k - 1]) @ H(b[k - 1]) - H(b[k - 2]) @ H(W[k - 1])
                    right = a[k - 1] @ W[k - 1] - W[k - 1] @ a[k - 2]
                    val += rt(left @ right)
                val += rt(W[0] @ H(W[0]) @ H(b[0]) @ a[0])
                worst = max(worst, abs(val - exact) / max(abs(exact), 1e-300))
    return Outcome(measured=worst, passed=worst <= tol("identity"))


@register(
    "LM-Thm14-p2",
    statement=r"\text{Hess}\,\|e^{\mathbf a}\cdot\mathbf W\|_2^2\big|_{\mathbf a=0}\succeq 0"
    r"\text{ at }\mathbf W\in O_X,\ \ker = T O_X:\ \text{nullity }(N-1)d(d-1)/2\ (\mathbb R),\ (N-1)d^2\ (\mathbb C)",
    source="LM Thm 14(2) (Kempf-Ness) applied to the DLN via §3.3",
    measures="largest |eigenvalue| / max |eigenvalue| among those counted as zero (Hessian of ||A.W||^2 by central "
    "differences of the analytic gradient at balanced W = Q.C; (d,N) in {(2,3),(3,3),(3,4)}, Gaussian X and X = I, "
    "real and complex); passes if every nullity equals dim O_X and the smallest eigenvalue >= -tolerance",
    tolerance="fd_central",
    params={"cases": [[2, 3], [3, 3], [3, 4]]},
    page="minimum_principles",
)
def _kn_hessian(p):
    from ..experiments.schatten import hessian_nullity

    zero_max, nz_min, min_eig, mism = 0.0, np.inf, 0.0, 0
    for field in FIELDS:
        for d, N in p["cases"]:
            rng = rng_from_params(check="LM-Thm14-p2", field=field, d=d, N=N)
            for X in (random_matrix(rng, (d, d), field), np.eye(d, dtype=complex if field == "complex" else float)):
                W = balanced_point(X, N, rng)
                null, zmax, nzmin, emin = hessian_nullity(schatten_hessian(W, 2.0, objective="powers"))
                mism += int(null != _orbit_dimension(N, d, field))
                zero_max, nz_min, min_eig = max(zero_max, zmax), min(nz_min, nzmin), min(min_eig, emin)
    ok = mism == 0 and zero_max <= tol("fd_central") and min_eig >= -tol("fd_central")
    return Outcome(
        measured=zero_max,
        passed=ok,
        values={"nullity_mismatches": mism, "nonzero_min_rel": float(nz_min), "min_eig_rel": min_eig},
    )


def _minimize_many(tag, ps, objective, cases, seeds):
    gaps, grels = [], []
    for field in FIELDS:
        for d, N in cases:
            for seed in seeds:
                for pp in ps:
                    rng = rng_from_params(check=tag, field=field, d=d, N=N, seed=seed)
                    X = random_matrix(rng, (d, d), field)
                    r = schatten_minimize(X, N, pp, rng=rng, n_restarts=1, objective=objective)
                    gaps.append(abs(r.rel_gap))
                    grels.append(r.G_rel)
    return float(max(gaps)), float(max(grels))


@register(
    "LM-Thm20-powers",
    statement=r"\operatorname{argmin}_{F_X}\sum_k\|W_k\|_{S_p}^p = O_X,\quad\min = N\sum_i\sigma_i^{p/N}"
    r"\quad(\text{same minimizers as }\textstyle\sum_k\|W_k\|_{S_p})",
    source="LM Thm 20 / eq. (3.8) (normalization: sum of norms vs sum of p-th powers)",
    measures="max relative gap between the minimum of sum_k |W_k|_p^p found from random starts and N sum sigma^{p/N} "
    "(p in {1, 1.5, 3}, (d,N) = (3,3), real and complex); values: max |G|/|W|^2 at the minimizers (<= 1e-7)",
    tolerance="optimizer",
    params={"ps": [1.0, 1.5, 3.0], "cases": [[3, 3]], "seeds": [0]},
    page="minimum_principles",
)
def _powers(p):
    gap, grel = _minimize_many("LM-Thm20-powers", p["ps"], "powers", p["cases"], p["seeds"])
    return Outcome(measured=gap, passed=gap <= tol("optimizer") and grel <= 1e-7, values={"max_G_rel": grel})


@register(
    "LM-Thm20-quasi",
    statement=r"0<p<1:\ \min_{F_X}\sum_k\|W_k\|_{S_p} = N\big(\sum_i\sigma_i^{p/N}\big)^{1/p},"
    r"\ \text{attained on }O_X",
    source="LM Thm 20 (outside its range 1 < p < inf; Schatten-Hoelder holds for p > 0)",
    measures="max relative gap between the minimum found from random starts and the closed form (p in {0.5, 0.75}, "
    "(d,N) = (3,3), real and complex); values: max |G|/|W|^2 at the minimizers (<= 1e-7)",
    tolerance="optimizer",
    params={"ps": [0.5, 0.75], "cases": [[3, 3]], "seeds": [0]},
    page="minimum_principles",
)
def _quasi(p):
    gap, grel = _minimize_many("LM-Thm20-quasi", p["ps"], "norms", p["cases"], p["seeds"])
    return Outcome(measured=gap, passed=gap <= tol("optimizer") and grel <= 1e-7, values={"max_G_rel": grel})


@register(
    "LM-Rem18-dim",
    statement=r"\dim_{\mathbb R}F_X = Nd^2-\operatorname{rank}d\phi = (N-1)d^2\ (\mathbb R),\ 2(N-1)d^2\ (\mathbb C)",
    source="LM Remark 18 (F_X need not be even-dimensional over R) and eq. (4.5) (Hausdorff dimension)",
    measures="max |dim_R F_X - formula| with the rank of dphi (as a real-linear map) computed by SVD at random W, "
    "(d,N) in {(3,2),(2,3),(3,4)}, real and complex; values: the dimension for (d,N) = (3,2) (odd, real)",
    tolerance="identity",
    params={"cases": [[3, 2], [2, 3], [3, 4]]},
    page="dln_fibers",
)
def _dim(p):
    worst = 0.0
    dims = {}
    for field in FIELDS:
        for d, N in p["cases"]:
            rng = rng_from_params(check="LM-Rem18-dim", field=field, d=d, N=N)
            W = random_layers(rng, N, d, field)
            n = N * d * d
            basis = np.eye(n).reshape(n, N, d, d)
            if field == "complex":
                basis = np.concatenate([basis, 1j * basis])
            out = dphi(W, basis)
            mat = out.reshape(len(basis), -1)
            if field == "complex":
                mat = np.concatenate([mat.real, mat.imag], axis=1)
            s = np.linalg.svd(mat, compute_uv=False)
            rank = int(np.sum(s > s[0] * 1e-10))
            dim = len(basis) - rank
            expected = (N - 1) * d * d * (2 if field == "complex" else 1)
            worst = max(worst, float(abs(dim - expected)))
            dims[f"dim_{field}_d{d}_N{N}"] = dim
    return Outcome(measured=worst, passed=worst == 0.0, values=dims)


@register(
    "LM-Fig1.1-caption",
    statement=r"d=1,N=2,x>0:\ \operatorname{argmin}_{w_2w_1=x}|w|^2 = \{(\sqrt x,\sqrt x),(-\sqrt x,-\sqrt x)\}",
    source="LM Figure 1.1 caption",
    measures="max over x in {0.5, 1, 3} of |w_2 w_1 - x| / x and the gap |w|^2 - 2x at the two same-sign points, and "
    "the minimum of |w|^2 on the hyperbola by a dense scan; printed: |w_2 w_1 - x| / x at the mixed-sign points "
    "(sqrt x, -sqrt x), (-sqrt x, sqrt x) included by the caption",
    tolerance="identity",
    params={"xs": [0.5, 1.0, 3.0]},
    erratum=True,
    printed_statement=r"\text{minimizers }(\pm\sqrt x,\pm\sqrt x)",
    page="dln_fibers",
)
def _fig11(p):
    worst = printed = 0.0
    for x in p["xs"]:
        r = np.sqrt(x)
        for w2, w1 in ((r, r), (-r, -r)):
            worst = max(worst, abs(w2 * w1 - x) / x, abs(w2 * w2 + w1 * w1 - 2 * x) / x)
        u = np.linspace(-3, 3, 60001)  # w1 = sqrt(x) e^u, w2 = sqrt(x) e^{-u}: |w|^2 = 2x cosh(2u) >= 2x
        scan = float(np.min(x * (np.exp(2 * u) + np.exp(-2 * u))))
        worst = max(worst, abs(scan - 2 * x) / x)
        for w2, w1 in ((r, -r), (-r, r)):
            printed = max(printed, abs(w2 * w1 - x) / x)
    return Outcome(measured=worst, passed=worst <= tol("identity"), printed=printed)
