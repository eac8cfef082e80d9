"""The learning flow and its end-to-end reduction (LM eq. 1.2, §1.1, Remark 5).

One job = one (N, d, field), ``n_seeds`` problems. Each has a Gaussian target Y and E(X) = (1/2)|X - Y|^2:

* from a balanced start W_b = U.C (:func:`dln.balanced_point`), the learning flow W' = -dphi^*(grad E(X))
  (:func:`dln.learning_flow`) stays balanced (|G(t)| / |W(t)|^2) and its end-to-end matrix X(t) follows the
  flow X' = -A_{N,X}(grad E(X)) of LM Remark 5 (:func:`dln.end_to_end_flow`) started at X_0 = phi(W_b);
* from a Gaussian start, G(t) stays G(W_0) (every level set M_G of the moments is invariant);
* for the spectral loss E = (1/p) sum_i sigma_i^p (p = 2), the singular values of the end-to-end flow follow
  sigma' = -N sigma^{2 - 2/N} sigma^{p-1}, in closed form sigma^{1-a}(t) = sigma_0^{1-a} - (1-a) N t,
  a = p + 1 - 2/N (sigma_0 from the start, not from the integrator's output).

The d = 1, N = 2 data of LM Fig. 1.3 are in :mod:`dln.experiments.lm_figures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .._linalg import norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_layers, random_matrix, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("N", 3, sweep=True),
    param("d", 3, sweep=True),
    param("field", "real", sweep=True),
    param("n_seeds", 3),
    param("T", 2.0),
    param("n_t", 21),
    param("rtol", 1e-10),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Learning flow and Remark 5, all jobs"
SUMMARY = "Invariance of M and of the level sets of G, and the end-to-end reduction of the learning flow."
REFERENCES = ["LM", "MY"]


#: The sweep of ``dln check``.
LEDGER: dict = {"sweep": {"N": [2, 4], "d": [2, 3], "field": ["real", "complex"]}, "fixed": {"n_seeds": 3}}

#: The mutation tests' sweep.
MUTATION: dict = {"sweep": {"field": ["real", "complex"]}, "fixed": {"N": 3, "d": 2, "n_seeds": 1, "T": 1.0}}

#: Relative cost of the LEDGER sweep.
COST = 5.0


#: Schatten exponent of the spectral loss used for the singular-value ODE.
P_SPECTRAL = 2.0


def spectral_gradient(X: np.ndarray, p: float = P_SPECTRAL) -> np.ndarray:
    """Gradient of E = (1/p) sum_i sigma_i(X)^p: U Sigma^{p-1} V^*, shape (..., d, d)."""
    U, s, Vh = np.linalg.svd(X)
    return (U * (s ** (p - 1.0))[..., None, :]) @ Vh


def _batch(p: dict, t: np.ndarray) -> dict:
    """The ``n_seeds`` problems of one job, integrated as one batch (each seed has its own generator)."""
    import dln

    N, d, field, S = p["N"], p["d"], p["field"], p["n_seeds"]
    rtol = float(p["rtol"])
    atol = rtol / 100.0
    rngs = [rng_from_params(family=FAMILY, N=N, d=d, field=field, seed=s) for s in range(S)]
    Y = np.stack([random_matrix(r, (d, d), field) for r in rngs])
    Wb = np.stack([dln.balanced_point(random_matrix(r, (d, d), field), N, r) for r in rngs])
    W0 = np.stack([random_layers(r, N, d, field) for r in rngs])
    X0 = np.stack([random_matrix(r, (d, d), field) for r in rngs])

    def grad_E(X):
        return X - Y

    Wt = dln.learning_flow(Wb, grad_E, t, rtol=rtol, atol=atol)
    X_W = end_to_end(Wt)
    X_e = dln.end_to_end_flow(end_to_end(Wb), grad_E, N, t, rtol=rtol, atol=atol)
    Wu = dln.learning_flow(W0, grad_E, t, rtol=rtol, atol=atol)
    G0 = moments(W0)
    Xs = dln.end_to_end_flow(X0, spectral_gradient, N, t, rtol=rtol, atol=atol)
    sv = np.linalg.svd(Xs, compute_uv=False)
    s0 = np.linalg.svd(X0, compute_uv=False)
    a = P_SPECTRAL + 1.0 - 2.0 / N
    sv_pred = (s0[None] ** (1.0 - a) - (1.0 - a) * N * t[:, None, None]) ** (1.0 / (1.0 - a))

    def seed_first(x):
        return np.moveaxis(np.asarray(x), 0, 1)  # (t, seed, ...) -> (seed, t, ...)

    return {
        "loss": seed_first(0.5 * sqnorm(X_W - Y)),
        "G_balanced": seed_first(norm(moments(Wt), 3) / sqnorm(Wt, 3)),
        "G_drift": seed_first(norm(moments(Wu) - G0, 3) / norm(G0, 3)),
        "X_rem5_err": seed_first(norm(X_W - X_e) / norm(X_e)),
        "sv_err": seed_first(np.max(np.abs(sv - sv_pred) / sv_pred, axis=-1)),
    }


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One job: ``n_seeds`` problems (see the module docstring); variables along ``seed`` and ``t``."""
    p = SPEC.resolve(params, FAMILY)
    t = np.linspace(0.0, float(p["T"]), p["n_t"])
    res = _batch(p, t)

    def stack(name):
        return res[name]

    ds = xr.Dataset(
        {
            "loss": _da(stack("loss"), ("seed", "t"), "loss E = |X - Y|^2 / 2 along the balanced learning flow"),
            "G_balanced": _da(stack("G_balanced"), ("seed", "t"), "|G(t)| / |W(t)|^2 from a balanced start"),
            "G_drift": _da(stack("G_drift"), ("seed", "t"), "|G(t) - G(W_0)| / |G(W_0)| from a Gaussian start"),
            "X_rem5_err": _da(
                stack("X_rem5_err"), ("seed", "t"), "|X(t) - X_e(t)| / |X_e(t)|, X_e: X' = -A_{N,X}(grad E)"
            ),
            "sv_err": _da(
                stack("sv_err"), ("seed", "t"), "max_i |sigma_i(t) - closed form| / closed form, E = sum sigma^2/2"
            ),
        },
        coords={"t": t, "seed": np.arange(p["n_seeds"])},
    )
    return finalize_job(
        ds,
        p,
        __name__,
        title=f"Learning flow and Remark 5: N={p['N']}, d={p['d']}, {p['field']}",
        summary="Invariance of the balanced manifold and of every level set of G under the learning flow; the "
        "induced end-to-end flow X' = -A_{N,X}(grad E) and its singular-value ODE.",
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def fig_learning_flow(ds: xr.Dataset) -> Figure:
    """LM eq. 1.2, LM-Cons, LM-Inv and Remark 5 over the sweep of ``results/learning_flow.nc``.

    ``ds`` has dims N, d, field, seed, t. (a) ``loss`` = |X - Y|^2/2 along the learning flow from a balanced
    start; (b) ``G_balanced`` = |G(t)|/|W(t)|^2 from that start (M is invariant: round-off); (c) ``G_drift``
    = |G(t) - G_0|/|G_0| from a Gaussian start (G is conserved); (d) ``X_rem5_err`` = |X(t) - X_e(t)|/|X_e(t)|
    against the end-to-end flow X' = -A_{N,X}(grad E) (Remark 5); (e) ``sv_err`` = max_i |sigma_i(t) - closed
    form| / closed form for the end-to-end flow with E = sum sigma^2/2. Every seed is drawn; colour: (N, d);
    line style: field. Exact zeros (t = 0) are left out of the log axes.
    """
    pl = drawing_toolkit()
    fig, axes = pl.figure(3, nrows=2, height=4.9)
    t = np.asarray(ds["t"].values, dtype=float)
    styles = pl.config_styles(ds)
    panels = [
        ("loss", "loss $E = \\Vert X - Y\\Vert^2/2$", "(a) loss, balanced start"),
        ("G_balanced", r"$\Vert\mathbf{G}\Vert / \Vert\mathbf{W}\Vert^2$", r"(b) $\mathcal{M}$ invariant"),
        (
            "G_drift",
            r"$\Vert\mathbf{G}(t) - \mathbf{G}_0\Vert / \Vert\mathbf{G}_0\Vert$",
            r"(c) $\mathbf{G}$ conserved",
        ),
        ("X_rem5_err", r"$\Vert X - X_e\Vert / \Vert X_e\Vert$", "(d) end-to-end flow (Rmk 5)"),
        ("sv_err", r"max$_i$ rel. error of $\sigma_i(t)$", "(e) singular values vs closed form"),
    ]
    for ax, (name, ylabel, title) in zip(axes, panels, strict=False):
        if name not in ds:
            ax.set_visible(False)
            continue
        for config, color in styles:
            for field in pl.coords(ds, "field"):
                pl.log_runs(
                    ax, t, pl.sel(ds, {**config, "field": field})[name], color, pl.FIELD_LS.get(str(field), "-")
                )
        ax.set(xlabel="$t$", ylabel=ylabel, xlim=(t[0], t[-1]))
        ax.set_title(title)
        pl.grid(ax)
    leg_ax = axes[5]
    leg_ax.set_axis_off()
    leg_ax.legend(handles=pl.flow_handles(ds, styles), loc="center", frameon=False, ncols=1 if len(styles) < 7 else 2)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "learning_flow": fig_learning_flow,
}
