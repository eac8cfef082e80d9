"""Ledger entries for the minimum principles: LM Thm 1 (p = 2), Thm 20 (1 < p < inf) and the open case p = 1.

Direct computation: Gaussian X (THEOREMS.md defaults), :func:`dln.schatten_minimize` from random starts,
the closed form N (sum_i sigma_i^{p/N})^{1/p} (sum of norms) or N sum_i sigma_i^{2/N} (||W||^2), the
balancedness |G|/|W|^2 at the minimizer, and for p = 1 the Hessian nullity at balanced points.
From the workflow: the ``schatten`` dataset (``results/schatten.nc``) holds the same numbers per sweep point.
"""

from __future__ import annotations

import numpy as np

from .._action import balanced_point
from .._random import random_matrix, rng_from_params
from .._schatten import schatten_hessian, schatten_minimize
from ..tolerances import tol
from ._registry import Outcome, register

FIELDS = ("real", "complex")
#: |G| / |W|^2 at a computed minimizer (THEOREMS.md LM-Thm1: <= 1e-7; measured ~1e-15).
G_REL_MAX = tol("balancedness_optimizer")


def _X(tag: str, field: str, d: int, seed: int):
    rng = rng_from_params(check=tag, field=field, d=d, seed=seed)
    return rng, random_matrix(rng, (d, d), field)


def _minimize_cases(tag: str, cases, ps, seeds, objective: str, n_restarts: int):
    gaps, grels, grads = [], [], []
    for field in FIELDS:
        for d, N in cases:
            for seed in seeds:
                for p in ps:
                    rng, X = _X(tag, field, d, seed)
                    r = schatten_minimize(X, N, p, rng=rng, n_restarts=n_restarts, objective=objective)
                    gaps.append(abs(r.rel_gap))
                    grels.append(r.G_rel)
                    grads.append(r.grad_rel)
    return float(max(gaps)), float(max(grels)), float(max(grads)), len(gaps)


# --- dataset hooks (the workflow's results/schatten.nc; sum of Schatten norms, every restart) ---
def _thm1_from_dataset(datasets: dict):
    from ..experiments._conventions import read_netcdf

    ds = read_netcdf(datasets["schatten"])
    sel = ds.sel(p=2.0)
    gap = float(np.abs(sel["rel_gap"]).max())
    grel = float(sel["G_rel"].max())
    ok = gap <= tol("optimizer") and grel <= G_REL_MAX
    out = Outcome(
        measured=gap, passed=ok, values={"max_G_rel": grel, "G_rel_max": G_REL_MAX, "runs": int(sel["rel_gap"].size)}
    )
    return out, f"{datasets['schatten']} (p = 2, sum of Schatten-2 norms, every restart)"


def _thm20_from_dataset(datasets: dict):
    from ..experiments._conventions import read_netcdf

    ds = read_netcdf(datasets["schatten"])
    ps = [float(v) for v in ds["p"].values if 1.0 < float(v) < np.inf]
    if not ps:
        raise KeyError("the schatten dataset has no p in (1, inf)")
    sel = ds.sel(p=ps)
    gap = float(np.abs(sel["rel_gap"]).max())
    grel = float(sel["G_rel"].max())
    ok = gap <= tol("optimizer") and grel <= G_REL_MAX
    out = Outcome(measured=gap, passed=ok, values={"max_G_rel": grel, "G_rel_max": G_REL_MAX, "p_values": ps})
    return out, f"{datasets['schatten']} (p in {ps}, every restart)"


def _p1_from_dataset(datasets: dict):
    from ..experiments._conventions import read_netcdf

    ds = read_netcdf(datasets["schatten"])
    sel = ds.sel(p=1.0)
    gap = float(np.abs(sel["rel_gap"]).max())
    grel = float(sel["G_rel"].max())
    mism = int((sel["hessian_nullity"] != sel["orbit_dimension"]).sum())
    ok = gap <= tol("optimizer") and grel <= G_REL_MAX and mism == 0
    values = {
        "max_G_rel": grel,
        "G_rel_max": G_REL_MAX,
        "nullity_mismatches": mism,
        "hessian_zero_max_rel": float(sel["hessian_zero_max"].max()),
        "hessian_nonzero_min_rel": float(sel["hessian_nonzero_min"].min()),
        "hessian_min_eig_rel": float(sel["hessian_min_eig"].min()),
        "runs": int(sel["rel_gap"].size),
    }
    return Outcome(measured=gap, passed=ok, values=values), f"{datasets['schatten']} (p = 1, at the minimizers found)"


@register(
    "LM-Thm1",
    statement=r"\operatorname{argmin}_{F_X}\|\mathbf W\|_2 = F_X\cap\mathcal M = O_X,\quad "
    r"\min_{F_X}\|\mathbf W\|_2^2 = N\sum_i\sigma_i^{2/N}",
    source="LM Thm 1, eq. (1.5) (value: THEOREMS.md [D])",
    measures="max relative gap between the minimum of ||W||^2 over F_X found by L-BFGS (group coordinates, "
    "random starts) and N sum sigma_i^{2/N}, over (d,N) in {(2,2),(3,3),(3,4)}, 1 seed, real and complex; "
    "values: max |G|/|W|^2 at the minimizers (must be <= 1e-7)",
    tolerance="optimizer",
    params={"cases": [[2, 2], [3, 3], [3, 4]], "seeds": [0], "n_restarts": 1},
    page="minimum_principles",
    from_dataset=_thm1_from_dataset,
)
def _lm_thm1(p):
    gap, grel, grad, n = _minimize_cases("LM-Thm1", p["cases"], [2.0], p["seeds"], "powers", p["n_restarts"])
    ok = gap <= tol("optimizer") and grel <= G_REL_MAX
    return Outcome(
        measured=gap, passed=ok, values={"max_G_rel": grel, "max_grad_rel": grad, "G_rel_max": G_REL_MAX, "runs": n}
    )


@register(
    "LM-Thm20",
    statement=r"1<p<\infty:\ \operatorname{argmin}_{F_X}\sum_k\|W_k\|_{S_p} = O_X,\quad "
    r"\min = N\big(\sum_i\sigma_i^{p/N}\big)^{1/p}",
    source="LM Thm 20, eq. (3.8)-(3.9) (value: THEOREMS.md [D], Schatten-Hoelder + AM-GM)",
    measures="max relative gap between the minimum of sum_k |W_k|_{S_p} over F_X (L-BFGS + Newton polish, "
    "random starts) and N (sum sigma_i^{p/N})^{1/p}, p in {1.25, 1.5, 2, 3, 4, 8}, (d,N) = (3,3), "
    "real and complex; values: max |G|/|W|^2 at the minimizers (<= 1e-7)",
    tolerance="optimizer",
    params={"cases": [[3, 3]], "ps": [1.25, 1.5, 2.0, 3.0, 4.0, 8.0], "seeds": [0], "n_restarts": 1},
    page="minimum_principles",
    from_dataset=_thm20_from_dataset,
)
def _lm_thm20(p):
    gap, grel, grad, n = _minimize_cases("LM-Thm20", p["cases"], p["ps"], p["seeds"], "norms", p["n_restarts"])
    ok = gap <= tol("optimizer") and grel <= G_REL_MAX
    return Outcome(
        measured=gap, passed=ok, values={"max_G_rel": grel, "max_grad_rel": grad, "G_rel_max": G_REL_MAX, "runs": n}
    )


@register(
    "LM-p1",
    statement=r"p=1:\ \min_{F_X}\sum_k\|W_k\|_{S_1} = N\sum_i\sigma_i^{1/N}\text{ attained on }O_X;\ "
    r"\text{Hessian nullity at }O_X = \dim O_X = (N-1)d(d-1)/2\ (\mathbb R),\ (N-1)d^2\ (\mathbb C)",
    source="LM §3.4 (open case of Thm 20; THEOREMS.md LM-p1 [D])",
    measures="max relative gap between the minimum of sum_k |W_k|_{S_1} from random starts and N sum sigma_i^{1/N} "
    "((d,N) in {(2,2),(3,3),(3,4)}, 1 seed, real and complex); values: |G|/|W|^2 at the minimizers, and the "
    "Hessian nullity (FD of the analytic gradient in group coordinates, zero = |eig| <= 1e-6 max|eig|) at "
    "balanced points Q.C for Gaussian X, X = I and X with a repeated singular value, vs dim O_X",
    tolerance="optimizer",
    params={"cases": [[2, 2], [3, 3], [3, 4]], "seeds": [0], "n_restarts": 1},
    page="minimum_principles",
    from_dataset=_p1_from_dataset,
)
def _lm_p1(p):
    from ..experiments.schatten import hessian_nullity, orbit_dimension

    gap, grel, grad, n = _minimize_cases("LM-p1", p["cases"], [1.0], p["seeds"], "norms", p["n_restarts"])
    bad_nullity = 0
    zero_max, gap_min, min_eig = 0.0, np.inf, 0.0
    details = {}
    for field in FIELDS:
        for d, N in p["cases"]:
            rng = rng_from_params(check="LM-p1-hessian", field=field, d=d, N=N)
            Xs = {
                "gauss": random_matrix(rng, (d, d), field),
                "identity": np.eye(d, dtype=complex if field == "complex" else float),
                "repeated": np.diag([2.0] * (d - 1) + [0.5]).astype(complex if field == "complex" else float),
            }
            for kind, X in Xs.items():
                W = balanced_point(X, N, rng)
                null, zmax, nzmin, emin = hessian_nullity(schatten_hessian(W, 1.0))
                expected = orbit_dimension(N, d, field)
                bad_nullity += int(null != expected)
                zero_max, gap_min, min_eig = max(zero_max, zmax), min(gap_min, nzmin), min(min_eig, emin)
                details[f"nullity_{field}_d{d}_N{N}_{kind}"] = null
                details[f"expected_{field}_d{d}_N{N}_{kind}"] = expected
    ok = gap <= tol("optimizer") and grel <= G_REL_MAX and bad_nullity == 0
    values = {
        "max_G_rel": grel,
        "max_grad_rel": grad,
        "G_rel_max": G_REL_MAX,
        "nullity_mismatches": bad_nullity,
        "hessian_zero_max_rel": zero_max,
        "hessian_nonzero_min_rel": float(gap_min),
        "hessian_min_eig_rel": min_eig,
        "runs": n,
    }
    values.update(details)
    return Outcome(measured=gap, passed=ok, values=values)
