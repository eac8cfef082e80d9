"""The Kirwan-Ness flow (LM eq. 1.22, Theorem 10, eq. 2.31, Corollary 1) and its rates of convergence.

One job integrates W'_k = 2 (W_k G_{k-1} - G_k W_k) with :func:`dln.kirwan_ness_flow` (Runge-Kutta-Munthe-
Kaas on GL(d)^{N-1}: X is conserved to round-off) from ``n_seeds`` starts (one batch):

- ``start = "gaussian"``: iid Gaussian layers (X full rank). The flow runs to T = 10 + efolds / r_min, where
  r* = 16 sigma_min(X)^{2/N} sin^2(pi / 2N) is the slowest rate of the flow linearized at a balanced point
  with end-to-end matrix X (below) and r_min the smallest r* of the batch;
- ``start = "rank_deficient"``: Gaussian layers whose middle layer has its smallest singular value set to 0
  (X singular); the flow runs to ``T_rank_deficient`` and |G| decays algebraically, like 1/t: along the
  kernel of X the linearization has rate 0 and the quadratic term gives g' = -a g^2, so 1/|G(t)| = a t + b
  up to corrections O(log t).

Recorded against the starts W_0: |G(t)|, the drift |X(t) - X_0| / |X_0|, the speed |W'(t)|, the ratio
(d/dt |G|^2/2) / |w_G|^2 at every saved state (evaluated with the printed formulas of
:mod:`dln._reference`; LM (2.31) prints -2, the value is -4), the largest relative increase of |G|
between saved times, the fitted late decay rate (full rank) or log-log exponent (rank deficient), and
the distance of the final layer singular values to sigma(X)^{1/N}.

The rate r*: at a balanced point, in the aligned singular bases, H acts on the (i, j) entries of
(c_1, ..., c_{N-1}) by the Jacobi matrix tridiag(-lam_i lam_j, lam_i^2 + lam_j^2, -lam_i lam_j), lam =
sigma^{1/N}, and maps Hermitian c to Hermitian H(c); so the linearization of (2.27) is G' = -4 H(G), with
rates 4 (lam_i^2 + lam_j^2 - 2 lam_i lam_j cos(pi m / N)), m = 1, ..., N-1. The smallest is at
i = j = argmin lam, m = 1: r* = 8 lam_min^2 (1 - cos(pi / N)). |G(t)| is the norm of a sum of orthogonal
modes, so its log-derivative is an average of their rates: at least r* once the flow is linear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .. import _reference as ref
from .._linalg import norm
from .._product import end_to_end, moments
from .._random import random_layers, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job, flow_progress
from ._spec import Spec, param
from .regularizing_flow import fit_rate

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("N", 4, sweep=True),
    param("d", 3, sweep=True),
    param("field", "real", sweep=True),
    param(
        "start",
        "gaussian",
        sweep=True,
        kind="string",
        choices=("gaussian", "rank_deficient"),
        description="initial layers: gaussian, or gaussian with the middle layer's smallest singular value set to 0 "
        "(X singular)",
    ),
    param("n_seeds", 3),
    param(
        "efolds", 20.0, description="full-rank starts run to T = 10 + efolds / r*, r* the predicted slowest decay rate"
    ),
    param(
        "T_rank_deficient",
        100.0,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=100000,
        description="final time of the Kirwan-Ness flow from rank-deficient starts",
    ),
    param("n_t", 101, minimum=11),
    param("rtol", 1e-9),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Kirwan-Ness flow (LM Thm 10, eq. 2.31, Cor 1), all jobs"
SUMMARY = (
    "|G(t)|: exponential decay at the predicted rate from full-rank starts, ~ 1/t from rank-deficient "
    "ones; X conserved to round-off; the ratio (d/dt |G|^2/2) / |w_G|^2 = -4."
)
REFERENCES = ["LM"]


STARTS = ("gaussian", "rank_deficient")

#: The sweep of ``dln check``: 2 sizes x 2 fields x 2 kinds of start, 3 starts each.
LEDGER: dict = {
    "sweep": {"N": [3, 5], "field": ["real", "complex"], "start": ["gaussian", "rank_deficient"]},
    "fixed": {"d": 2, "n_seeds": 3},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"field": ["real", "complex"]},
    "fixed": {"N": 3, "d": 2, "n_seeds": 1, "efolds": 12.0, "n_t": 81},
}

#: Relative cost of the LEDGER sweep.
COST = 20.0


#: |G| below FLOOR * |W_0|^2 is not used for rates or ratios (round-off of G is ~eps |W|^2).
FLOOR = 1e-9


def slowest_rate(sigma: np.ndarray, N: int) -> np.ndarray:
    """r* = 16 sigma_min^{2/N} sin^2(pi / 2N): the slowest decay rate of |G| near the limit (module docstring)."""
    s = np.asarray(sigma, dtype=float)
    return 16.0 * np.min(s, axis=-1) ** (2.0 / N) * np.sin(np.pi / (2 * N)) ** 2


def initial_layers(p: dict, rng: np.random.Generator) -> np.ndarray:
    """Starts of shape (n_seeds, N, d, d); for ``rank_deficient`` the middle layer loses its smallest singular value."""
    W0 = random_layers(rng, int(p["N"]), int(p["d"]), p["field"], batch=(int(p["n_seeds"]),))
    if p["start"] == "rank_deficient":
        k = int(p["N"]) // 2
        U, s, Vh = np.linalg.svd(W0[:, k])
        s[:, -1] = 0.0
        W0[:, k] = (U * s[:, None, :]) @ Vh
    return W0


def energy_ratio(W: np.ndarray) -> float:
    """(d/dt |G|^2/2) / |w_G|^2 along (1.22) at one point: <G, dG(KN field)> / |w_G|^2 (printed formulas)."""
    G = ref.moments(W)
    return ref.inner(G, ref.dG(W, ref.kirwan_ness(W))) / ref.inner(ref.tangent(W, G), ref.tangent(W, G))


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One job: the Kirwan-Ness flow from ``n_seeds`` starts of one kind (see the module docstring).

    Returns
    -------
    xarray.Dataset with dims ``seed``, ``step`` (saved times; the times ``t(seed, step)`` differ between
    jobs), ``layer``, ``i``.
    """
    import dln

    from .._flows import default_method_label

    p = SPEC.resolve(params, FAMILY)
    N, d, S = p["N"], p["d"], p["n_seeds"]
    rng = rng_from_params(family=FAMILY, N=N, d=d, field=p["field"], start=p["start"])
    W0 = initial_layers(p, rng)
    X0 = end_to_end(W0)
    sigma = np.linalg.svd(X0, compute_uv=False)
    r_star = slowest_rate(sigma, N)
    full_rank = p["start"] == "gaussian"
    T = 10.0 + float(p["efolds"]) / float(np.min(r_star)) if full_rank else float(p["T_rank_deficient"])
    t = np.linspace(0.0, T, p["n_t"])
    stats: dict = {}
    Wt = dln.kirwan_ness_flow(W0, t, rtol=float(p["rtol"]), stats=stats, progress=flow_progress(progress))
    method = default_method_label(dln.kirwan_ness_flow)
    Wt = np.moveaxis(np.asarray(Wt), 0, 1)  # (seed, step, N, d, d)
    G = moments(Wt)
    Gn = norm(G, 3)
    G0n = norm(moments(W0), 3)
    drift = norm(end_to_end(Wt) - X0[:, None]) / norm(X0[:, None])
    speed = norm(dln.kirwan_ness_field(Wt), 3)
    floor = FLOOR * np.sum(np.abs(W0) ** 2, axis=(-3, -2, -1))
    ratio = np.zeros((S, t.size))
    valid = Gn > floor[:, None]
    for s in range(S):
        for i in np.nonzero(valid[s])[0]:
            ratio[s, i] = energy_ratio(Wt[s, i])
    increase = np.max(np.maximum(np.diff(Gn, axis=1), 0.0), axis=1) / G0n
    late_rate = np.full(S, np.nan)
    exponent = np.full(S, np.nan)
    inv_slope = np.zeros(S)
    inv_resid = np.full(S, np.nan)
    window = np.zeros((S, 2))
    for s in range(S):
        if full_rank:
            above = np.nonzero(valid[s])[0]
            t_end = t[above[-1]]
            win = valid[s] & (t >= 0.7 * t_end)
            if win.sum() >= 3:
                late_rate[s] = -fit_rate(t[win], Gn[s, win])[0]
                window[s] = t[win][[0, -1]]
        else:
            win = (t >= T / 2) & valid[s]
            if win.sum() >= 3:
                exponent[s] = np.polyfit(np.log(t[win]), np.log(Gn[s, win]), 1)[0]
                y = 1.0 / Gn[s, win]
                coef = np.polyfit(t[win], y, 1)
                inv_slope[s] = coef[0]
                inv_resid[s] = np.max(np.abs(np.polyval(coef, t[win]) - y)) / np.max(y)
                window[s] = t[win][[0, -1]]
    sv = np.linalg.svd(Wt[:, -1], compute_uv=False)  # (seed, N, d)
    target = sigma ** (1.0 / N)
    data = {
        "t": _da(np.broadcast_to(t, (S, t.size)).copy(), ("seed", "step"), "flow time t of the saved state"),
        "G_norm": _da(Gn, ("seed", "step"), "Frobenius norm of the moments |G(t)|"),
        "G_norm_initial": _da(G0n, ("seed",), "|G(W_0)| of the start"),
        "X_drift": _da(drift, ("seed", "step"), "relative drift |X(t) - X_0| / |X_0|, X_0 = phi(W_0)"),
        "W_speed": _da(speed, ("seed", "step"), "speed |W'(t)| of the flow (1.22)"),
        "energy_ratio": _da(ratio, ("seed", "step"), "(d/dt |G|^2/2) / |w_G|^2 at the saved state (LM 2.31)"),
        "energy_ratio_valid": _da(
            valid.astype(np.int8), ("seed", "step"), f"1 where |G| > {FLOOR:g} |W_0|^2 (ratio and rates evaluated)"
        ),
        "G_increase_max": _da(increase, ("seed",), "largest increase of |G| between saved times, over |G(W_0)|"),
        "G_final_rel": _da(Gn[:, -1] / G0n, ("seed",), "|G(T)| / |G(W_0)|"),
        "r_star": _da(
            r_star if full_rank else np.zeros(S),
            ("seed",),
            "predicted slowest decay rate 16 sigma_min^(2/N) sin^2(pi/2N) (0 for singular X)",
        ),
        "late_rate": _da(
            np.nan_to_num(late_rate), ("seed",), "decay rate of log|G| fitted over the last 30% above the floor"
        ),
        "exponent": _da(np.nan_to_num(exponent), ("seed",), "slope of log|G| against log t over [T/2, T]"),
        "inverse_slope": _da(
            inv_slope, ("seed",), "slope a of the straight line 1/|G(t)| = a t + b fitted over [T/2, T]"
        ),
        "inverse_residual": _da(
            np.nan_to_num(inv_resid, nan=1.0),
            ("seed",),
            "max |1/|G(t)| - (a t + b)| / max 1/|G| over [T/2, T] (0 for an exact 1/t law)",
        ),
        "fit_window": _da(window, ("seed", "bound"), "time window of the fitted rate or exponent"),
        "sv_error": _da(
            np.max(np.abs(sv - target[:, None, :]), axis=(-2, -1)) / np.max(target, axis=-1),
            ("seed",),
            "max |sigma(W_k(T)) - sigma(X)^(1/N)| / max sigma(X)^(1/N)",
        ),
        "T": _da(T, (), "final time of the job"),
        "n_steps": _da(int(stats["n_steps"]), (), f"accepted steps of the integrator ({method})"),
    }
    ds = xr.Dataset(
        data,
        coords={
            "seed": np.arange(S),
            "step": ("step", np.arange(t.size), {"long_name": "index of the saved time", "units": "1"}),
            "bound": ("bound", ["start", "end"], {"long_name": "start and end of a window", "units": "1"}),
        },
    )
    return finalize_job(
        ds,
        p,
        __name__,
        title=f"Kirwan-Ness flow (LM Cor 1): N={N}, d={d}, {p['field']}, {p['start']} starts",
        summary="Convergence of the Kirwan-Ness flow W' = -w_{2G} to a balanced point at the predicted rate, "
        "conservation of X by the group integrator, and the corrected identity d/dt |G|^2/2 = -4 |w_G|^2.",
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


_START_LS = {"gaussian": "-", "rank_deficient": "--"}


def fig_kirwan_ness(ds: xr.Dataset) -> Figure:
    """LM Theorem 10, eq. (2.31), Corollary 1: the Kirwan-Ness flow over the sweep.

    ``ds`` is ``results/kirwan_ness.nc`` (dims N, d, field, start, seed, step; the times ``t(..., seed, step)``
    differ between jobs). Only states with ``energy_ratio_valid`` (|G| above the round-off floor) are drawn.
    (a) |G(t)|/|G_0| (log scale), solid for Gaussian (full-rank) starts, dashed for rank-deficient ones; for
    full-rank runs a dotted segment of slope e^{-r* t} (``r_star``, the predicted slowest rate) over the fit
    window (``fit_window``), shifted up by a factor 3. (b) 1/|G(t)| for rank-deficient starts (straight
    lines), with the fitted slope ``inverse_slope`` over the fit window (dotted). (c) The ratio
    (d/dt |G|^2/2) / |w_G|^2 (``energy_ratio``) against -4 (corrected) and -2 (printed (2.31)).
    Colour: (N, d, field).
    """
    pl = drawing_toolkit()
    starts = [str(s) for s in pl.coords(ds, "start")] if "start" in ds.dims else [None]
    has_rd = "rank_deficient" in starts
    fig, axes = pl.figure(3 if has_rd else 2, width=pl.WIDTH, height=2.9)
    ax1, ax3 = axes[0], axes[-1]
    ax2 = axes[1] if has_rd else None
    styles = pl.config_styles(ds, ("N", "d", "field"))
    seeds = pl.coords(ds, "seed")
    ratios = []
    slope_drawn = line_drawn = False
    for config, color in styles:
        for start in starts:
            ls = _START_LS.get(str(start), "-")
            for seed in seeds:
                one = pl.one(ds, {**config, "start": start, "seed": seed}, keep=("step", "bound"))
                t = np.asarray(one["t"].values, dtype=float)
                G = np.asarray(one["G_norm"].values, dtype=float)
                G0 = pl.scalar(one["G_norm_initial"]) if "G_norm_initial" in one else G[0]
                valid = np.isfinite(t) & np.isfinite(G) & (G > 0)
                if "energy_ratio_valid" in one:
                    valid &= np.asarray(one["energy_ratio_valid"].values, dtype=float) > 0
                if not valid.any():
                    continue
                ax1.semilogy(t[valid], G[valid] / G0, color=color, ls=ls, lw=1.0, alpha=0.85)
                full_rank = str(start) != "rank_deficient"
                win = np.asarray(one["fit_window"].values, dtype=float) if "fit_window" in one else None
                if win is None or not np.isfinite(win).all() or win[1] <= win[0]:
                    win = None
                r_star = pl.scalar(one["r_star"]) if "r_star" in one else 0.0
                if full_rank and r_star > 0 and win is not None:
                    tw = np.linspace(win[0], win[1], 20)
                    t_end = t[valid][-1]
                    y_end = G[valid][-1] / G0
                    ax1.semilogy(tw, 3.0 * y_end * np.exp(-r_star * (tw - t_end)), color="k", ls=":", lw=1.3)
                    slope_drawn = True
                if not full_rank and ax2 is not None:
                    ax2.plot(t[valid], 1.0 / G[valid], color=color, ls=ls, lw=1.0)
                    a = pl.scalar(one["inverse_slope"]) if "inverse_slope" in one else 0.0
                    if a > 0 and win is not None:
                        tw = np.linspace(win[0], win[1], 20)
                        ax2.plot(tw, 1.0 / G[valid][-1] + a * (tw - t[valid][-1]), color="k", ls=":", lw=1.3)
                        line_drawn = True
                ratio = np.asarray(one["energy_ratio"].values, dtype=float)
                okr = valid & np.isfinite(ratio)
                mk = "o" if full_rank else "^"
                ax3.plot(t[okr], ratio[okr], mk, ms=2.5, color=color, alpha=0.7, mfc=color if full_rank else "none")
                ratios.append(ratio[okr])
    ax3.axhline(-4.0, color="k", lw=1.1, zorder=1)
    ax3.axhline(-2.0, color="C3", lw=1.1, ls="--", zorder=1)
    r = np.concatenate(ratios) if ratios else np.array([])
    lo = min(-4.6, float(r.min()) - 0.3) if r.size else -4.6
    hi = max(-1.4, float(r.max()) + 0.3) if r.size else -1.4
    ax1.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert / \Vert\mathbf{G}_0\Vert$")
    ax1.set_title(r"(a) decay of $\Vert\mathbf{G}\Vert$")
    if ax2 is not None:
        ax2.set(xlabel="$t$", ylabel=r"$1/\Vert\mathbf{G}(t)\Vert$")
        ax2.set_title("(b) rank-deficient: $\\sim 1/t$")
    ax3.set(
        xlabel="$t$",
        ylabel=r"$\partial_t(\Vert\mathbf{G}\Vert^2/2)\,/\,\Vert\mathbf{w}_{\mathbf{G}}\Vert^2$",
        ylim=(lo, hi),
    )
    ax3.set_title(f"({'c' if has_rd else 'b'}) energy identity (2.31)")
    for ax in axes:
        pl.grid(ax)
    handles = [pl.line(pl.case_label(c) or "runs", color=col, lw=1.0) for c, col in styles]
    handles += [
        pl.line(str(s).replace("_", "-") + " starts", color="k", ls=_START_LS.get(str(s), "-"), lw=1.0)
        for s in starts
        if s is not None
    ]
    if slope_drawn:
        handles.append(pl.line(r"predicted slope $e^{-r_\star t}$ (shifted $\times 3$)", ls=":", lw=1.3))
    if line_drawn:
        handles.append(pl.line(r"fitted line $1/\Vert\mathbf{G}\Vert = at + b$", ls=":", lw=1.3))
    handles.append(pl.line("corrected: $-4$", lw=1.1))
    handles.append(pl.line("printed (2.31): $-2$", color="C3", ls="--", lw=1.1))
    pl.legend_below(fig, handles, ncols=4)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "kirwan_ness": fig_kirwan_ness,
}
