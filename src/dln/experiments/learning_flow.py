"""The learning flow and its end-to-end reduction (LM eq. 1.2, LM-Cons, LM-Inv, Remark 5, Figure 1.3).

One job (:func:`simulate`), for E(X) = (1/2)|X - Y|^2 with a Gaussian target Y:

* from a balanced start W_b = U.C (:func:`dln.balanced_point`) the learning flow
  W' = -dphi^*(grad E(X)) (:func:`dln.learning_flow`) stays balanced (|G(t)|,
  LM-Inv) and its end-to-end matrix matches the induced flow
  X' = -A_{N,X}(grad E(X)) (:func:`dln.end_to_end_flow`, LM Remark 5);
* from a Gaussian start the moments are conserved (|G(t) - G_0| / |G_0|, LM-Cons);
* for the spectral loss E = (1/p) sum_i sigma_i^p (p = 2) the singular values of
  the end-to-end flow follow sigma_i' = -N sigma_i^{2 - 2/N} sigma_i^{p-1}, solved in
  closed form: sigma^{1-a}(t) = sigma_0^{1-a} - (1-a) N t with a = p + 1 - 2/N.

The d = 1, N = 2 data of LM Fig. 1.3 are in :mod:`dln.experiments.lm_figures`.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._action import balanced_point
from .._linalg import norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_layers, random_matrix, rng_from_params
from ._conventions import data_array as _da
from ._conventions import finalize, resolve_params
from .kirwan_ness import combine_padded

FAMILY = "learning_flow"

DEFAULT_PARAMS: dict = {
    "N": 3,
    "d": 3,
    "field": "real",
    "seed": 0,
    "T": 3.0,
    "n_t": 31,
    "rtol": 1e-11,
}

#: Parameters along which :func:`aggregate` combines jobs.
SWEEP_KEYS = ("N", "d", "field", "seed")

#: Schatten exponent of the spectral loss used for the singular-value ODE.
P_SPECTRAL = 2.0


def _params(params: dict) -> dict:
    return resolve_params(FAMILY, DEFAULT_PARAMS, params)


def spectral_gradient(X: np.ndarray, p: float = P_SPECTRAL) -> np.ndarray:
    """Gradient of E = (1/p) sum_i sigma_i(X)^p: U Sigma^{p-1} V^*, shape (..., d, d)."""
    U, s, Vh = np.linalg.svd(X)
    return (U * (s ** (p - 1.0))[..., None, :]) @ Vh


def simulate(params: dict) -> xr.Dataset:
    """One job: LM-Inv, LM-Cons and Remark 5 for the quadratic loss, and the singular-value ODE.

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULT_PARAMS`: ``N``, ``d``, ``field``, ``seed``, ``T``, ``n_t``,
        ``rtol`` (local tolerance of the Dormand-Prince 5(4) integrator; atol = rtol / 100).

    Returns
    -------
    xarray.Dataset with dims ``t`` and ``i`` (d): ``loss``, ``G_balanced``, ``G_drift``,
    ``X_rem5_err`` (t); ``sv_flow``, ``sv_pred`` (t, i); scalars ``G_balanced_max``,
    ``G_drift_max``, ``X_rem5_err_max``, ``sv_err_max``.
    """
    import dln

    p = _params(params)
    N, d, T, n_t = int(p["N"]), int(p["d"]), float(p["T"]), int(p["n_t"])
    rtol = float(p["rtol"])
    atol = rtol / 100.0
    rng = rng_from_params(family=FAMILY, **p)
    field = p["field"]
    Y = random_matrix(rng, (d, d), field)

    def grad_E(X):
        return X - Y

    t = np.linspace(0.0, T, n_t)
    Wb = balanced_point(random_matrix(rng, (d, d), field), N, rng)
    Wt = dln.learning_flow(Wb, grad_E, t, rtol=rtol, atol=atol)
    X_W = end_to_end(Wt)
    X_e = dln.end_to_end_flow(X_W[0], grad_E, N, t, rtol=rtol, atol=atol)
    rem5 = norm(X_W - X_e) / norm(X_e)
    G_bal = norm(moments(Wt), 3)
    W0 = random_layers(rng, N, d, field)
    Wu = dln.learning_flow(W0, grad_E, t, rtol=rtol, atol=atol)
    Gu = moments(Wu)
    G_drift = norm(Gu - Gu[0], 3) / norm(Gu[0], 3)
    # spectral loss: closed-form singular values
    X0 = random_matrix(rng, (d, d), field)
    Xs = dln.end_to_end_flow(X0, spectral_gradient, N, t, rtol=rtol, atol=atol)
    sv = np.linalg.svd(Xs, compute_uv=False)
    a = P_SPECTRAL + 1.0 - 2.0 / N
    sv_pred = (sv[0] ** (1.0 - a) - (1.0 - a) * N * t[:, None]) ** (1.0 / (1.0 - a))
    sv_err = np.abs(sv - sv_pred) / sv_pred
    ds = xr.Dataset(
        {
            "loss": _da(0.5 * sqnorm(X_W - Y), ("t",), "loss E = |X - Y|^2 / 2 along the balanced learning flow"),
            "G_balanced": _da(G_bal, ("t",), "|G(t)| of the learning flow from a balanced start (LM-Inv)"),
            "G_drift": _da(G_drift, ("t",), "|G(t) - G_0| / |G_0| of the learning flow from a Gaussian start"),
            "X_rem5_err": _da(rem5, ("t",), "|X_learning(t) - X_end_to_end(t)| / |X_end_to_end(t)| (LM Remark 5)"),
            "sv_flow": _da(sv, ("t", "i"), "singular values of the end-to-end flow, E = sum sigma^2 / 2"),
            "sv_pred": _da(sv_pred, ("t", "i"), "closed form of sigma_i' = -N sigma_i^(2-2/N) sigma_i^(p-1), p = 2"),
            "G_balanced_max": _da(float(G_bal.max()), (), "max over t of |G(t)| from the balanced start"),
            "G_drift_max": _da(float(G_drift.max()), (), "max over t of |G(t) - G_0| / |G_0|"),
            "X_rem5_err_max": _da(float(rem5.max()), (), "max over t of the Remark 5 discrepancy"),
            "sv_err_max": _da(float(sv_err.max()), (), "max relative error of the singular values vs closed form"),
        },
        coords={"t": t, "i": np.arange(d)},
    )
    return finalize(
        ds,
        title=f"Learning flow and Remark 5: N={N}, d={d}, {field}, seed {p['seed']}",
        summary="Invariance of the balanced manifold and conservation of G under the learning flow; the induced "
        "end-to-end flow X' = -A_{N,X}(grad E) and its singular-value ODE.",
        references=["LM", "MY"],
        config=p,
        context=f"{FAMILY} {json.dumps(p, sort_keys=True)}",
    )


def aggregate(datasets: list) -> xr.Dataset:
    """Combine jobs along new dimensions N, d, field, seed.

    Jobs with different d: ``sv_flow`` and ``sv_pred`` are zero-padded along ``i`` and
    ``sv_valid`` (1 where i < d) marks the entries that exist.
    """
    parts = []
    for ds in datasets:
        cfg = json.loads(ds.attrs.get("config", "{}"))
        one = ds.copy()
        one.attrs = {}
        for k in SWEEP_KEYS:
            if k not in one.coords:
                one = one.expand_dims({k: [cfg.get(k, DEFAULT_PARAMS[k])]})
        parts.append(one)
    out = combine_padded(parts, ["sv_flow", "sv_pred"], ["i"])
    if len({int(ds.sizes["i"]) for ds in datasets}) > 1:
        out["sv_valid"] = (
            (out["i"] < out["d"])
            .astype(np.int8)
            .assign_attrs(long_name="1 where the padded entry of sv_flow / sv_pred exists (i < d)", units="1")
        )
    return finalize(
        out,
        title="Learning flow and Remark 5, all jobs",
        summary="LM-Inv, LM-Cons and the end-to-end reduction of the learning flow (Remark 5).",
        references=["LM", "MY"],
        config={"jobs": len(datasets)},
        context=f"{FAMILY} aggregate",
    )
