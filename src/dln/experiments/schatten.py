"""Schatten-p minimization on fibers (LM Theorem 1, Theorem 20, the open case p = 1, Theorem 14(2)).

One job = one (p, objective, N, d, field): ``n_seeds`` Gaussian end-to-end matrices X, each minimized over the
fiber F_X from ``n_restarts`` random starts with :func:`dln.schatten_minimize` (objective ``"norms"``:
sum_k ||W_k||_{S_p}, LM eq. 3.8; ``"powers"``: sum_k ||W_k||_{S_p}^p, which is ||W||^2 of LM eq. 1.4 for p = 2).
For every minimizer W it records, with the printed formulas of :mod:`dln._reference`: the objective, its
gap to the closed form (N (sum_i sigma_i^{p/N})^{1/p} or N sum_i sigma_i^{p/N}, from Schatten-Hoelder and
AM-GM), the balancedness defect |G|/|W|^2 and |phi(W) - X| / |X|. At the best minimizer and at a balanced
point of a matrix with a repeated singular value it records the Hessian of a -> f((I + a).W) by finite
differences of the reference gradient, its nullity against the dimension of the unitary orbit O_X, and the
library's Hessian against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .. import _reference as ref
from .._random import haar_unitary, random_matrix, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

__all__ = ["FAMILY", "SPEC", "simulate", "orbit_dimension", "hessian_nullity", "fig_schatten", "fig_schatten_hessian"]

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("p", 2.0, sweep=True),
    param(
        "objective",
        "norms",
        sweep=True,
        kind="string",
        choices=("norms", "powers"),
        description="Schatten objective: sum of norms (LM eq. 3.8) or sum of p-th powers (p = 2: |W|^2)",
    ),
    param("N", 3, sweep=True),
    param("d", 3, sweep=True),
    param("field", "real", sweep=True),
    param("n_seeds", 3),
    param("n_restarts", 2, kind="integer", minimum=1, maximum=1000, description="number of optimizer restarts"),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Schatten minimization on fibers of the deep linear network, all jobs"
SUMMARY = "Minimum over the fiber against the closed form, balancedness of the minimizers, Hessian nullity."
REFERENCES = ["LM"]


#: The sweep of ``dln check``: every claim's p and objective, 2 depths, 2 fields, 3 seeds, 2 restarts.
LEDGER: dict = {
    "sweep": {"p": [0.5, 1.0, 2.0, 3.0], "objective": ["norms", "powers"], "N": [2, 3], "field": ["real", "complex"]},
    "fixed": {"d": 2, "n_seeds": 3, "n_restarts": 2},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"p": [1.0, 2.0], "objective": ["norms", "powers"], "field": ["real", "complex"]},
    "fixed": {"N": 3, "d": 2, "n_seeds": 1, "n_restarts": 1},
}

#: Relative cost of the LEDGER sweep.
COST = 8.0


#: Relative threshold below which a Hessian eigenvalue counts as zero (FD noise ~1e-10, spectral gap >= 1e-3).
NULL_RTOL = 1e-6


def orbit_dimension(N: int, d: int, field: str) -> int:
    """Real dimension of the minimizing orbit O_X = U(d)^{N-1}.C: (N-1) d(d-1)/2 (real) or (N-1) d^2 (complex)."""
    return (N - 1) * d * (d - 1) // 2 if field == "real" else (N - 1) * d * d


def hessian_nullity(Hm: np.ndarray, rtol: float = NULL_RTOL) -> tuple[int, float, float, float]:
    """Nullity of a symmetric matrix and its spectral evidence.

    Returns
    -------
    nullity : int
        Number of eigenvalues with |lambda| <= rtol max|lambda|.
    zero_max : float
        Largest |lambda| / max|lambda| among those counted as zero.
    nonzero_min : float
        Smallest |lambda| / max|lambda| among the others.
    min_eig : float
        Smallest eigenvalue / max|lambda| (>= -round-off at a minimum).
    """
    ev = np.linalg.eigvalsh(Hm)
    scale = float(np.max(np.abs(ev)))
    rel = ev / scale
    zero = np.abs(rel) <= rtol
    zmax = float(np.max(np.abs(rel[zero]))) if zero.any() else 0.0
    nzmin = float(np.min(np.abs(rel[~zero]))) if (~zero).any() else 0.0
    return int(zero.sum()), zmax, nzmin, float(rel.min())


def _hessian_evidence(W: np.ndarray, p: float, objective: str) -> dict:
    import dln

    H_ref = ref.schatten_hessian(W, p, objective)
    null, zmax, nzmin, emin = hessian_nullity(H_ref)
    H_lib = dln.schatten_hessian(W, p, objective)
    err = float(np.linalg.norm(H_lib - H_ref) / np.linalg.norm(H_ref))
    return {"nullity": null, "zero_max": zmax, "nonzero_min": nzmin, "min_eig": emin, "err": err}


def _seed(P: dict, seed: int) -> dict:
    import dln

    N, d, field, p, obj = P["N"], P["d"], P["field"], P["p"], P["objective"]
    rng = rng_from_params(family=FAMILY, p=p, objective=obj, N=N, d=d, field=field, seed=seed)
    X = random_matrix(rng, (d, d), field)
    res = dln.schatten_minimize(X, N, p, rng=rng, n_restarts=P["n_restarts"], objective=obj)
    cf_ref = ref.schatten_closed_form(X, N, p, obj)
    cf_lib = float(dln.schatten_closed_form(X, N, p, obj))
    Ws = list(res.restart_W)
    vals = np.array([ref.schatten_objective(W, p, obj) for W in Ws])
    lib_vals = np.array([float(dln.schatten_objective(W, p, obj)[0]) for W in Ws])
    G_rel = np.array([np.linalg.norm(ref.moments(W)) / np.sum(np.abs(W) ** 2) for W in Ws])
    X_err = np.array([np.linalg.norm(ref.product(W) - X) / np.linalg.norm(X) for W in Ws])
    best = _hessian_evidence(res.W, p, obj)
    # a balanced point of a matrix with a repeated singular value
    Q1 = haar_unitary(rng, (), d, complex_=(field == "complex"))
    Q2 = haar_unitary(rng, (), d, complex_=(field == "complex"))
    X_rep = (Q1 * np.array([2.0] * (d - 1) + [0.5])) @ Q2
    rep = _hessian_evidence(dln.balanced_point(X_rep, N, rng), p, obj)
    # the gradient returned by dln.schatten_objective at generic (unbalanced) layers, against the printed formula
    Wg = dln.random_layers(rng, N, d, field)
    g_ref = np.array([ref._schatten_euclidean_gradient(Wk, p, obj) for Wk in Wg])
    g_err = float(np.linalg.norm(dln.schatten_objective(Wg, p, obj)[1] - g_ref) / np.linalg.norm(g_ref))
    return {
        "gradient_err": g_err,
        "value": vals,
        "value_reported": np.asarray(res.restart_values),
        "objective_err": np.abs(lib_vals - vals) / vals,
        "rel_gap": (vals - cf_ref) / cf_ref,
        "G_rel": G_rel,
        "X_err": X_err,
        "closed_form": cf_ref,
        "closed_form_err": abs(cf_lib - cf_ref) / cf_ref,
        "best_value_err": abs(res.value - ref.schatten_objective(res.W, p, obj)) / cf_ref,
        "best": best,
        "rep": rep,
        "converged": int(res.converged),
    }


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One job: ``n_seeds`` matrices X of one (p, objective, N, d, field); see the module docstring."""
    P = SPEC.resolve(params, FAMILY)
    rows = []
    for seed in range(P["n_seeds"]):
        rows.append(_seed(P, seed))
        if progress is not None:
            progress((seed + 1) / P["n_seeds"])
    S, R = P["n_seeds"], P["n_restarts"]

    def per_restart(key):
        return np.array([r[key] for r in rows]).reshape(S, R)

    def per_seed(key, sub=None, dtype=float):
        return np.array([(r[key] if sub is None else r[key][sub]) for r in rows], dtype=dtype)

    orbit = orbit_dimension(P["N"], P["d"], P["field"])
    data = {
        "value": _da(per_restart("value"), ("seed", "restart"), "objective at the minimizer (reference formula)"),
        "value_reported": _da(per_restart("value_reported"), ("seed", "restart"), "objective reported by dln"),
        "objective_err": _da(
            per_restart("objective_err"), ("seed", "restart"), "|dln.schatten_objective - reference| / reference"
        ),
        "rel_gap": _da(per_restart("rel_gap"), ("seed", "restart"), "(objective - closed form) / closed form"),
        "G_rel": _da(per_restart("G_rel"), ("seed", "restart"), "balancedness defect |G| / |W|^2 at the minimizer"),
        "X_err": _da(per_restart("X_err"), ("seed", "restart"), "|phi(W) - X| / |X| at the minimizer"),
        "gradient_err": _da(
            per_seed("gradient_err"),
            ("seed",),
            "|gradient of dln.schatten_objective - c U S^(p-1) V^* per layer| / |.| at random layers",
        ),
        "closed_form": _da(per_seed("closed_form"), ("seed",), "closed-form minimum over the fiber"),
        "closed_form_err": _da(
            per_seed("closed_form_err"), ("seed",), "|dln.schatten_closed_form - reference| / reference"
        ),
        "best_value_err": _da(
            per_seed("best_value_err"), ("seed",), "|value reported for the best minimizer - its objective| / minimum"
        ),
        "converged": _da(per_seed("converged", dtype=np.int8), ("seed",), "1 if the best restart reached gtol"),
        "orbit_dimension": _da(np.int64(orbit), (), "real dimension of O_X: (N-1)d(d-1)/2 real, (N-1)d^2 complex"),
    }
    for where, label in (("best", "at the best minimizer"), ("rep", "at a balanced point of X, repeated sigma")):
        data[f"hessian_nullity_{where}"] = _da(
            per_seed(where, "nullity", dtype=np.int64), ("seed",), f"zero eigenvalues of the Hessian {label}"
        )
        data[f"hessian_zero_max_{where}"] = _da(
            per_seed(where, "zero_max"), ("seed",), f"largest |eigenvalue| / max |eigenvalue| counted as zero, {label}"
        )
        data[f"hessian_gap_{where}"] = _da(
            per_seed(where, "nonzero_min"), ("seed",), f"smallest nonzero |eigenvalue| / max |eigenvalue|, {label}"
        )
        data[f"hessian_min_eig_{where}"] = _da(
            per_seed(where, "min_eig"), ("seed",), f"smallest Hessian eigenvalue / max |eigenvalue|, {label}"
        )
        data[f"hessian_err_{where}"] = _da(
            per_seed(where, "err"), ("seed",), f"|dln.schatten_hessian - reference| / |reference|, {label}"
        )
    ds = xr.Dataset(data, coords={"seed": np.arange(S), "restart": np.arange(R)})
    return finalize_job(
        ds,
        P,
        __name__,
        title=f"Schatten minimization on fibers: p={P['p']:g}, {P['objective']}, N={P['N']}, d={P['d']}, {P['field']}",
        summary=(
            "Minimum of the Schatten objective over the fiber F_X found by L-BFGS in group coordinates with Newton "
            "polish, against the closed form (LM Thm 1, Thm 20; p = 1 is open in LM); balancedness at the "
            "minimizers and the Hessian nullity (LM Thm 14(2))."
        ),
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


_OBJ_MARKER = {"norms": "o", "powers": "^"}


def _schatten_groups(ds) -> list[tuple]:
    """(objective, field) pairs of the dataset with their style: colour by field, marker by objective."""
    pl = drawing_toolkit()
    out = []
    for obj in pl.coords(ds, "objective"):
        for field in pl.coords(ds, "field"):
            f = str(field) if field is not None else "real"
            o = str(obj) if obj is not None else "norms"
            st = {
                "color": pl.FIELD_STYLE.get(f, {}).get("color", "k"),
                "marker": _OBJ_MARKER.get(o, "D"),
                "mfc": pl.FIELD_STYLE.get(f, {}).get("color", "k") if o == "norms" else "none",
            }
            out.append((obj, field, f"{o}, {f}", st))
    return out


def _p_axis(ax, ps) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sorted({float(p) for p in ps})))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("Schatten exponent $p$")


def fig_schatten(ds: xr.Dataset) -> Figure:
    """LM Thm 1, Thm 20 and the open case p = 1: Schatten-p minima on fibers, for both objectives.

    ``ds`` is ``results/schatten.nc`` (dims p, objective, N, d, field, seed, restart). Left: the signed gap
    ``rel_gap`` = (minimum found - closed form) / closed form of every restart, in units of machine epsilon on a
    symmetric-log axis (exact zeros are shown at 0), against p; the closed form is N (sum_i sigma_i^{p/N})^{1/p}
    for the objective ``norms`` (sum_k |W_k|_{S_p}) and N sum_i sigma_i^{p/N} for ``powers`` (sum_k |W_k|_{S_p}^p).
    Right: balancedness ``G_rel`` = |G|/|W|^2 at those minimizers. Colour: field; marker: objective (filled:
    norms, open: powers); the groups are offset along p.
    """
    pl = drawing_toolkit()
    fig, (ax1, ax2) = pl.figure(2, height=2.9)
    groups = _schatten_groups(ds)
    offsets = pl.jitter(list(range(len(groups))), 0.06)
    ps = pl.coords(ds, "p")
    for j, (obj, field, _, st) in enumerate(groups):
        sub = pl.sel(ds, {"objective": obj, "field": field})
        for p in ps:
            one = pl.sel(sub, {"p": p})
            x = (float(p) if p is not None else 2.0) * np.exp(offsets[j])
            gap = np.asarray(one["rel_gap"].values, dtype=float).ravel() / pl.EPS
            g = pl.pos(one["G_rel"].values).ravel()
            gap, g = gap[np.isfinite(gap)], g[np.isfinite(g)]
            kw = {"ls": "none", "ms": 4.5, "alpha": 0.75, "mew": 1.0, **st}
            ax1.plot(np.full(gap.size, x), gap, **kw)
            ax2.plot(np.full(g.size, x), g, **kw)
    p_vals = [p for p in ps if p is not None] or [2.0]
    _p_axis(ax1, p_vals)
    _p_axis(ax2, p_vals)
    pl.eps_axis(ax1, r"relative gap  [units of $\varepsilon$]")
    ax1.set_title("(a) (minimum $-$ closed form) / closed form")
    ax2.set(yscale="log", ylabel=r"$\Vert\mathbf{G}\Vert / \Vert\mathbf{W}\Vert^2$ at the minimizer")
    ax2.set_title("(b) balancedness of the minimizers")
    for ax in (ax1, ax2):
        if any(abs(float(p) - 1.0) < 1e-12 for p in p_vals):
            ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
        pl.grid(ax)
    handles = [pl.line(lab, ls="none", ms=5, **st) for *_, lab, st in groups]
    if any(abs(float(p) - 1.0) < 1e-12 for p in p_vals):
        handles.append(pl.line("$p = 1$ (open in LM)", color="0.6", lw=0.8, ls=":"))
    handles.append(pl.line(r"$\varepsilon = 2.2\times10^{-16}$ (machine epsilon)", ls="none"))
    pl.legend_below(fig, handles, ncols=3)
    return fig


def fig_schatten_hessian(ds: xr.Dataset) -> Figure:
    """LM Thm 14(2): Hessian nullity against the dimension of the unitary orbit O_X, for both objectives.

    ``ds`` is ``results/schatten.nc``: ``orbit_dimension`` (one per job: (N-1)d(d-1)/2 real, (N-1)d^2 complex),
    ``hessian_nullity_best`` (per seed, at the best minimizer found) and ``hessian_nullity_rep`` (per seed, at
    a balanced point of a matrix with a repeated singular value). One point per seed and (p, N, d); colour:
    field, marker: objective (filled: norms, open: powers), groups offset horizontally; dashed: nullity = dim O_X.
    """
    pl = drawing_toolkit()
    panels = [
        (name, title)
        for name, title in (
            ("hessian_nullity_best", "(a) at the best minimizer"),
            ("hessian_nullity_rep", r"(b) at a balanced point, repeated $\sigma_i$"),
        )
        if name in ds
    ]
    if not panels or "orbit_dimension" not in ds:
        return pl.message("no Hessian nullity in this dataset")
    fig, axes = pl.figure(len(panels), width=pl.WIDTH if len(panels) == 2 else 3.6, height=3.0)
    groups = _schatten_groups(ds)
    top = float(
        np.nanmax([np.nanmax(np.asarray(ds[v], dtype=float)) for v in ["orbit_dimension"] + [n for n, _ in panels]])
    )
    top = top if np.isfinite(top) else 1.0
    offsets = pl.jitter(list(range(len(groups))), max(0.2, 0.025 * top))
    for ax, (name, title) in zip(axes, panels, strict=True):
        for j, (obj, field, _, st) in enumerate(groups):
            sub = pl.sel(ds, {"objective": obj, "field": field})
            null = sub[name]
            dim = sub["orbit_dimension"].broadcast_like(null)
            x, y = np.asarray(dim, dtype=float).ravel(), np.asarray(null, dtype=float).ravel()
            ok = np.isfinite(x) & np.isfinite(y)
            ax.plot(x[ok] + offsets[j], y[ok], ls="none", ms=5, alpha=0.6, mew=1.0, **st)
        ax.set_title(title)
        ax.set(xlabel=r"real dimension of the orbit $\mathcal{O}_X$", ylabel="zero eigenvalues of the Hessian")
        pl.grid(ax)
    lim = [-0.5, top + max(1.0, 0.05 * top)]
    for ax in axes:
        ax.plot(lim, lim, color="0.4", lw=0.9, ls="--", zorder=0)
        ax.set(xlim=lim, ylim=lim)
    handles = [pl.line(lab, ls="none", ms=5, **st) for *_, lab, st in groups]
    handles.append(pl.line(r"nullity $=\dim\mathcal{O}_X$", color="0.4", lw=0.9, ls="--"))
    pl.legend_below(fig, handles, ncols=3)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "schatten_gap": fig_schatten,
    "schatten_hessian": fig_schatten_hessian,
}
