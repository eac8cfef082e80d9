"""The regularizing flow on a fiber (LM eq. 1.17, Theorem 2).

One job integrates W' = -grad_{F_X} (1/2)|W|^2 from ``n_seeds`` Gaussian starts W_0 (one batch) with
:func:`dln.regularizing_flow` (Runge-Kutta-Munthe-Kaas on GL(d)^{N-1}, so X is conserved to round-off) and
records, against the *starts* W_0 (not the first output of the integrator):

- G(t) against G_0 e^{-2t}, G_0 = G(W_0) (relative error at every saved time);
- the drift |X(t) - X_0| / |X_0|, X_0 = phi(W_0);
- the excess (|W(t)|^2 - m) / m over the minimum m = N sum_i sigma_i(X_0)^{2/N} of |W|^2 on the fiber (LM
  Thm 1), and its decay rate over [0.8 T, T] (4: the excess is quadratic in the distance to the minimizing
  orbit, which decays like |G(t)| = |G_0| e^{-2t});
- the decay rate of |G(t)| fitted over [0, T] (2).

The d = 1, N = 2 trajectories of LM Fig. 1.2 are in :mod:`dln.experiments.lm_figures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .._linalg import norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_layers, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job, flow_progress
from ._spec import Spec, param

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("N", 4, sweep=True),
    param("d", 3, sweep=True),
    param("field", "real", sweep=True),
    param("n_seeds", 3),
    param("T", 5.0),
    param("n_t", 51, minimum=5),
    param("rtol", 1e-10),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Regularizing flow (LM Thm 2), all jobs"
SUMMARY = "Decay of the moments G(t) = G_0 exp(-2t), conservation of X, |W|^2 -> N sum sigma^(2/N)."
REFERENCES = ["LM"]


#: The sweep of ``dln check``: 2 depths x 2 widths x 2 fields, 3 starts each.
LEDGER: dict = {"sweep": {"N": [3, 5], "d": [2, 3], "field": ["real", "complex"]}, "fixed": {"n_seeds": 3}}

#: The mutation tests' sweep.
MUTATION: dict = {"sweep": {"field": ["real", "complex"]}, "fixed": {"N": 3, "d": 2, "n_seeds": 1, "T": 2.0}}

#: Relative cost of the LEDGER sweep.
COST = 10.0


def fit_rate(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of log y against t and its standard error (residual-based).

    Returns
    -------
    slope, se : float
    """
    logy = np.log(y)
    A = np.stack([t, np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(A, logy, rcond=None)
    resid = logy - A @ coef
    dof = max(t.size - 2, 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(np.sqrt(max(cov[0, 0], 0.0)))


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One job: the regularizing flow from ``n_seeds`` Gaussian starts (LM Thm 2).

    Parameters
    ----------
    params : dict
        ``N``, ``d``, ``field``, ``n_seeds`` (starts, integrated as one batch), ``T``, ``n_t`` (output times in
        [0, T]), ``rtol`` (relative local error of the group increment).

    Returns
    -------
    xarray.Dataset with dims ``seed``, ``t``: ``G_norm``, ``G_rel_err``, ``X_drift``, ``W_excess``; per seed
    ``W_sqnorm_limit``, ``decay_rate``, ``excess_rate``, ``G_rel_err_max``, ``X_drift_max``; ``n_steps``.
    """
    import dln

    from .._flows import default_method_label

    p = SPEC.resolve(params, FAMILY)
    N, d, T, n_t = p["N"], p["d"], float(p["T"]), p["n_t"]
    rng = rng_from_params(family=FAMILY, N=N, d=d, field=p["field"])
    W0 = random_layers(rng, N, d, p["field"], batch=(p["n_seeds"],))
    t = np.linspace(0.0, T, n_t)
    stats: dict = {}
    Wt = dln.regularizing_flow(W0, t, rtol=float(p["rtol"]), stats=stats, progress=flow_progress(progress))
    method = default_method_label(dln.regularizing_flow)
    Wt = np.moveaxis(np.asarray(Wt), 0, 1)  # (seed, t, N, d, d)
    G0 = moments(W0)[:, None]  # from the starts, not from the output
    X0 = end_to_end(W0)[:, None]
    G = moments(Wt)
    pred = G0 * np.exp(-2.0 * t)[None, :, None, None, None]
    G_rel = norm(G - pred, 3) / norm(pred, 3)
    drift = norm(end_to_end(Wt) - X0) / norm(X0)
    sigma = np.linalg.svd(X0[:, 0], compute_uv=False)
    limit = N * np.sum(sigma ** (2.0 / N), axis=-1)
    excess = (sqnorm(Wt, 3) - limit[:, None]) / limit[:, None]
    Gn = norm(G, 3)
    late = t >= 0.8 * T
    rates, ex_rates = [], []
    for s in range(p["n_seeds"]):
        rates.append(-fit_rate(t, Gn[s])[0])
        ok = late & (excess[s] > 1e-13)
        ex_rates.append(-fit_rate(t[ok], excess[s, ok])[0] if ok.sum() >= 3 else np.nan)
    ds = xr.Dataset(
        {
            "G_norm": _da(Gn, ("seed", "t"), "Frobenius norm of the moments |G(t)|"),
            "G_rel_err": _da(G_rel, ("seed", "t"), "|G(t) - G_0 exp(-2t)| / |G_0 exp(-2t)|, G_0 = G(W_0)"),
            "X_drift": _da(drift, ("seed", "t"), "relative drift |X(t) - X_0| / |X_0| of the end-to-end matrix"),
            "W_excess": _da(excess, ("seed", "t"), "(|W(t)|^2 - m) / m, m = N sum_i sigma_i^(2/N) (LM Thm 1)"),
            "W_sqnorm_limit": _da(limit, ("seed",), "minimum m = N sum_i sigma_i^(2/N) of |W|^2 on the fiber"),
            "decay_rate": _da(np.array(rates), ("seed",), "least-squares decay rate of log|G(t)| over [0, T] (LM: 2)"),
            "excess_rate": _da(
                np.array(ex_rates), ("seed",), "least-squares decay rate of log W_excess over [0.8 T, T] (4)"
            ),
            "G_rel_err_max": _da(G_rel.max(axis=1), ("seed",), "max over t of G_rel_err"),
            "X_drift_max": _da(drift.max(axis=1), ("seed",), "max over t of X_drift"),
            "n_steps": _da(int(stats["n_steps"]), (), f"accepted steps of the integrator ({method})"),
        },
        coords={"t": t, "seed": np.arange(p["n_seeds"])},
    )
    return finalize_job(
        ds,
        p,
        __name__,
        title=f"Regularizing flow (LM Thm 2): N={N}, d={d}, {p['field']}, {p['n_seeds']} starts",
        summary="G(t) = G_0 exp(-2t) and X(t) = X_0 along the regularizing flow W' = -grad_{F_X} |W|^2/2, "
        f"integrated on the group GL(d)^{{N-1}} ({method}); |W(t)|^2 -> N sum sigma^(2/N).",
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def fig_regularizing_flow(ds: xr.Dataset) -> Figure:
    """LM Theorem 2 over the sweep: errors of G(t) = G_0 e^{-2t}, drift of X, and |W(t)|^2 -> N sum sigma^{2/N}.

    ``ds`` is ``results/regularizing_flow.nc`` (dims N, d, field, seed, t). (a) ``G_rel_err``
    = |G(t) - G_0 e^{-2t}| / |G_0 e^{-2t}|; (b) ``X_drift`` = |X(t) - X_0| / |X_0|; (c) ``W_excess`` =
    (|W(t)|^2 - m)/m, m = N sum_i sigma_i^{2/N}, with a guide proportional to e^{-4t} through the final values.
    Every seed is drawn; colour: (N, d); line style: field. Exact zeros (t = 0) are left out of the log axes.
    """
    pl = drawing_toolkit()
    fig, (ax1, ax2, ax3) = pl.figure(3, height=2.7)
    t = np.asarray(ds["t"].values, dtype=float)
    styles = pl.config_styles(ds)
    finals = []
    for config, color in styles:
        for field in pl.coords(ds, "field"):
            sub = pl.sel(ds, {**config, "field": field})
            ls = pl.FIELD_LS.get(str(field), "-")
            pl.log_runs(ax1, t, sub["G_rel_err"], color, ls)
            pl.log_runs(ax2, t, sub["X_drift"], color, ls)
            ex = pl.runs(sub["W_excess"])
            pl.log_runs(ax3, t, sub["W_excess"], color, ls)
            finals.append(pl.pos(ex[-1]))
    f = np.concatenate(finals) if finals else np.array([])
    if np.isfinite(f).any():
        c = np.exp(np.nanmean(np.log(f))) * np.exp(4 * t[-1])
        tt = t[t >= t[0] + 0.3 * (t[-1] - t[0])]
        ax3.semilogy(tt, c * np.exp(-4 * tt), "k:", lw=1.6)
    ax1.set(xlabel="$t$", ylabel="relative error")
    ax1.set_title(r"(a) $\mathbf{G}(t) = \mathbf{G}_0e^{-2t}$")
    ax2.set(xlabel="$t$", ylabel=r"$\Vert X(t) - X_0\Vert / \Vert X_0\Vert$")
    ax2.set_title("(b) drift of $X$")
    ax3.set(xlabel="$t$", ylabel=r"$(\Vert\mathbf{W}(t)\Vert^2 - m)/m$")
    ax3.set_title(r"(c) excess, $m = N{\sum}_i\sigma_i^{2/N}$")
    for ax in (ax1, ax2, ax3):
        ax.set_xlim(t[0], t[-1])
        pl.grid(ax)
    handles = pl.flow_handles(ds, styles) + [pl.line(r"$\propto e^{-4t}$", ls=":", lw=1.6)]
    pl.legend_below(fig, handles, ncols=4)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "regularizing_flow_errors": fig_regularizing_flow,
}
