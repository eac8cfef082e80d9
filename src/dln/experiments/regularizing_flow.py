"""The regularizing flow on a fiber (LM eq. 1.17, Theorem 2, Figure 1.2).

One job integrates W' = -grad_{F_X} (1/2)|W|^2 from Gaussian layers with
:func:`dln.regularizing_flow` (Runge-Kutta-Munthe-Kaas on GL(d)^{N-1}, so X is
conserved to round-off) and records |G(t)| against the prediction
|G_0| e^{-2t}, the relative error of G(t) against G_0 e^{-2t}, |W(t)|^2 against its
limit N sum_i sigma_i^{2/N}, the drift of X, and a least-squares decay rate of
log|G(t)| (expected 2) with its standard error.

The d = 1, N = 2 trajectories of LM Fig. 1.2 are in :mod:`dln.experiments.lm_figures`.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._errors import DLNError
from .._linalg import norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_layers, rng_from_params
from ._conventions import data_array as _da
from ._conventions import finalize, flow_progress, resolve_params

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
    p = resolve_params(FAMILY, DEFAULT_PARAMS, params)
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
