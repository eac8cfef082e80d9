"""The regularizing flow on a fiber (LM eq. 1.17, Theorem 2, Figure 1.2).

One job integrates W' = -grad_{F_X} (1/2)|W|^2 from Gaussian layers with
:func:`dln.regularizing_flow` (Runge-Kutta-Munthe-Kaas on GL(d)^{N-1}, so X is
conserved to round-off) and records |G(t)| against the prediction
|G_0| e^{-2t}, the relative error of G(t) against G_0 e^{-2t}, |W(t)|^2 against its
limit N sum_i sigma_i^{2/N}, the drift of X, and a least-squares decay rate of
log|G(t)| (expected 2) with its standard error.

:func:`figure_1_2` returns the d = 1, N = 2 trajectories (w1(t), w2(t)) of LM Fig. 1.2
(left panel) from starting points on the hyperbolas w1 w2 = x; it is a separate
dataset (dimensions ``start`` and ``t``), not part of the sweep.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._errors import DLNError
from .._linalg import norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_layers, rng_from_params
from ._conventions import finalize, flow_progress

FAMILY = "regularizing_flow"

DEFAULT_PARAMS: dict = {
    "N": 4,
    "d": 3,
    "field": "real",
    "seed": 0,
    "T": 5.0,
    "n_t": 51,
    "rtol": 1e-10,
    "start": "gaussian",
}

#: Parameters along which :func:`aggregate` combines jobs.
SWEEP_KEYS = ("N", "d", "field", "seed")

STARTS = ("gaussian",)


def _params(params: dict) -> dict:
    p = dict(DEFAULT_PARAMS)
    p.update(params or {})
    unknown = set(p) - set(DEFAULT_PARAMS)
    if unknown:
        raise DLNError(f"params: unknown keys {sorted(unknown)} for family {FAMILY!r}; known: {sorted(DEFAULT_PARAMS)}")
    if p["start"] not in STARTS:
        raise DLNError(f"params: start must be one of {STARTS}, got {p['start']!r}")
    if int(p["n_t"]) < 3:
        raise DLNError(f"params: n_t must be >= 3 to fit a decay rate, got {p['n_t']!r}")
    return p


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


def _da(values, dims, long_name: str, units: str = "1") -> xr.DataArray:
    return xr.DataArray(values, dims=dims, attrs={"long_name": long_name, "units": units})


def simulate(params: dict, progress=None) -> xr.Dataset:
    """One job: the regularizing flow from Gaussian layers (LM Thm 2).

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULT_PARAMS`: ``N``, ``d``, ``field``, ``seed``, ``T``,
        ``n_t`` (output times in [0, T]), ``rtol`` (relative local error of the
        group increment), ``start`` (``"gaussian"``: iid N(0, 1) layer entries).

    Returns
    -------
    xarray.Dataset with dimension ``t`` (n_t) and variables ``G_norm``, ``G_pred``,
    ``G_rel_err``, ``W_sqnorm``, ``X_drift`` (per time) and scalars ``W_sqnorm_limit``,
    ``decay_rate``, ``decay_rate_se``, ``G_rel_err_max``, ``X_drift_max``, ``n_steps``.
    """
    import dln

    p = _params(params)
    N, d, T, n_t = int(p["N"]), int(p["d"]), float(p["T"]), int(p["n_t"])
    rng = rng_from_params(family=FAMILY, **p)
    W0 = random_layers(rng, N, d, p["field"])
    t = np.linspace(0.0, T, n_t)
    stats: dict = {}
    Wt = dln.regularizing_flow(W0, t, rtol=float(p["rtol"]), stats=stats, progress=flow_progress(progress))
    G = moments(Wt)
    Gn = norm(G, 3)
    pred_mat = G[0] * np.exp(-2.0 * t)[:, None, None, None]
    G_rel = norm(G - pred_mat, 3) / norm(pred_mat, 3)
    X = end_to_end(Wt)
    drift = norm(X - X[0]) / norm(X[0])
    sigma = np.linalg.svd(X[0], compute_uv=False)
    w2_lim = N * float(np.sum(sigma ** (2.0 / N)))
    slope, se = fit_rate(t, Gn)
    ds = xr.Dataset(
        {
            "G_norm": _da(Gn, ("t",), "Frobenius norm of the moments |G(t)|"),
            "G_pred": _da(Gn[0] * np.exp(-2.0 * t), ("t",), "predicted |G_0| exp(-2t) (LM Thm 2)"),
            "G_rel_err": _da(G_rel, ("t",), "relative error |G(t) - G_0 exp(-2t)| / |G_0 exp(-2t)|"),
            "W_sqnorm": _da(sqnorm(Wt, 3), ("t",), "squared norm of the layers |W(t)|^2"),
            "X_drift": _da(drift, ("t",), "relative drift of the end-to-end matrix |X(t) - X_0| / |X_0|"),
            "W_sqnorm_limit": _da(w2_lim, (), "minimum of |W|^2 on the fiber, N sum_i sigma_i^(2/N) (LM Thm 1)"),
            "decay_rate": _da(-slope, (), "least-squares decay rate of log|G(t)| (predicted 2)"),
            "decay_rate_se": _da(se, (), "standard error of the fitted decay rate"),
            "G_rel_err_max": _da(float(G_rel.max()), (), "max over t of the relative error of G(t)"),
            "X_drift_max": _da(float(drift.max()), (), "max over t of |X(t) - X_0| / |X_0|"),
            "n_steps": _da(int(stats["n_steps"]), (), "accepted steps of the RKMK 5(4) integrator"),
        },
        coords={"t": t},
    )
    return finalize(
        ds,
        title=f"Regularizing flow (LM Thm 2): N={N}, d={d}, {p['field']}, seed {p['seed']}",
        summary="G(t) = G_0 exp(-2t) and X(t) = X_0 along the regularizing flow W' = -grad_{F_X} |W|^2/2, "
        "integrated on the group GL(d)^{N-1} (RKMK 5(4)).",
        references=["LM"],
        config=p,
        context=f"{FAMILY} {json.dumps(p, sort_keys=True)}",
    )


def aggregate(datasets: list) -> xr.Dataset:
    """Combine jobs along new dimensions N, d, field, seed (read from each job's config)."""
    parts = []
    for ds in datasets:
        cfg = json.loads(ds.attrs.get("config", "{}"))
        one = ds.copy()
        one.attrs = {}
        for k in SWEEP_KEYS:
            if k not in one.coords:
                one = one.expand_dims({k: [cfg.get(k, DEFAULT_PARAMS[k])]})
        parts.append(one)
    out = xr.combine_by_coords(parts, combine_attrs="override", join="outer", compat="no_conflicts", data_vars="all")
    return finalize(
        out,
        title="Regularizing flow (LM Thm 2), all jobs",
        summary="Decay of the moments G(t) = G_0 exp(-2t), conservation of X, |W|^2 -> N sum sigma^(2/N).",
        references=["LM"],
        config={"jobs": len(datasets)},
        context=f"{FAMILY} aggregate",
    )


def figure_1_2(x_values=(0.5, 1.0, 2.0), n_per_x: int = 4, T: float = 3.0, n_t: int = 61) -> xr.Dataset:
    """Trajectories of the regularizing flow for d = 1, N = 2 (LM Fig. 1.2, left panel).

    Starting points (w1, w2) = (sqrt(x) e^{s}, sqrt(x) e^{-s}) on each hyperbola w1 w2 = x,
    with s evenly spaced in [-1, 1] (n_per_x values, both signs of w1 for x > 0 taken positive).
    Each trajectory stays on its hyperbola and converges to (sqrt(x), sqrt(x)) with
    w1^2 - w2^2 = G_0 e^{-2t}.

    Returns
    -------
    xarray.Dataset with dims ``start`` and ``t``: ``w1``, ``w2`` (start, t), ``x`` (start),
    ``G_rel_err`` (start) = max_t |G(t) - G_0 e^{-2t}| / |G_0 e^{-2t}|.
    """
    import dln

    xs, ss = np.meshgrid(np.asarray(x_values, dtype=float), np.linspace(-1.0, 1.0, n_per_x), indexing="ij")
    xs, ss = xs.ravel(), ss.ravel()
    w1 = np.sqrt(xs) * np.exp(ss)
    w2 = np.sqrt(xs) * np.exp(-ss)
    W0 = np.stack([w1, w2], axis=-1)[..., None, None]  # (start, N=2, 1, 1), W_1 = w1, W_2 = w2
    t = np.linspace(0.0, T, n_t)
    Wt = dln.regularizing_flow(W0, t)[..., 0, 0]  # (t, start, 2)
    G = Wt[..., 0] ** 2 - Wt[..., 1] ** 2
    pred = G[0] * np.exp(-2.0 * t)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(np.abs(pred) > 0, np.abs(G - pred) / np.abs(pred), np.abs(G))
    ds = xr.Dataset(
        {
            "w1": _da(Wt[..., 0].T, ("start", "t"), "first layer w1(t) (d = 1, N = 2)"),
            "w2": _da(Wt[..., 1].T, ("start", "t"), "second layer w2(t) (d = 1, N = 2)"),
            "x": _da(xs, ("start",), "end-to-end value x = w2 w1 of the fiber (hyperbola)"),
            "G_rel_err": _da(rel.max(axis=0), ("start",), "max_t |G(t) - G_0 exp(-2t)| / |G_0 exp(-2t)|"),
        },
        coords={"t": t, "start": np.arange(xs.size)},
    )
    return finalize(
        ds,
        title="Regularizing flow for d = 1, N = 2 (LM Fig. 1.2, left panel)",
        summary="Trajectories on the hyperbolas w1 w2 = x converge to the balanced points (sqrt x, sqrt x).",
        references=["LM"],
        config={"x_values": list(map(float, x_values)), "n_per_x": n_per_x, "T": T, "n_t": n_t},
        context=f"{FAMILY} figure_1_2",
    )
