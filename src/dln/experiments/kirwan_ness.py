"""The Kirwan-Ness flow (LM eq. 1.22, Theorem 10, eq. 2.31, Corollary 1).

One job integrates W'_k = 2 (W_k G_{k-1} - G_k W_k) with :func:`dln.kirwan_ness_flow`
(Runge-Kutta-Munthe-Kaas on GL(d)^{N-1}, group velocity -2G, so X is conserved to
round-off) from Gaussian layers (``start = "gaussian"``) or from Gaussian layers
whose middle layer has its smallest singular value set to 0
(``start = "rank_deficient"``: X is singular, the flow still converges but |G|
decays algebraically). Recorded: |G(t)|, |X(t) - X_0| (absolute and relative),
the speed |W'(t)|, the ratio (d/dt (1/2)|G|^2) / |w_G|^2 (LM prints -2, the
correct value is -4; the ratio is evaluated exactly as <G, dG(W')> / |w_G|^2 and
loses relative accuracy once |G| approaches round-off), the final layer
singular values against sigma(X)^{1/N}, and a fitted late-time decay rate.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._errors import DLNError
from .._linalg import H, inner, norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_layers, rng_from_params
from .._tangent import orbit_tangent
from ._conventions import data_array as _da
from ._conventions import finalize, flow_progress, resolve_params
from .regularizing_flow import fit_rate

FAMILY = "kirwan_ness"

DEFAULT_PARAMS: dict = {
    "N": 5,
    "d": 3,
    "field": "real",
    "seed": 0,
    "T": 40.0,
    "n_t": 81,
    "rtol": 1e-8,
    "start": "gaussian",
}

#: Parameters along which :func:`aggregate` combines jobs.
SWEEP_KEYS = ("N", "d", "field", "seed", "start")

STARTS = ("gaussian", "rank_deficient")


def _params(params: dict) -> dict:
    p = resolve_params(FAMILY, DEFAULT_PARAMS, params)
    if p["start"] not in STARTS:
        raise DLNError(f"params: start must be one of {STARTS}, got {p['start']!r}")
    if int(p["n_t"]) < 3:
        raise DLNError(f"params: n_t must be >= 3, got {p['n_t']!r}")
    return p


def initial_layers(p: dict, rng: np.random.Generator) -> np.ndarray:
    """Gaussian layers, shape (N, d, d); for ``rank_deficient`` the middle layer loses its smallest singular value."""
    W0 = random_layers(rng, int(p["N"]), int(p["d"]), p["field"])
    if p["start"] == "rank_deficient":
        k = int(p["N"]) // 2
        U, s, Vh = np.linalg.svd(W0[k])
        s[-1] = 0.0
        W0[k] = (U * s) @ Vh
    return W0


def moment_derivative(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """dG(W)[V]_k = V_k W_k^* + W_k V_k^* - V_{k+1}^* W_{k+1} - W_{k+1}^* V_{k+1}, shape (..., N-1, d, d)."""
    lo, hi, vlo, vhi = W[..., :-1, :, :], W[..., 1:, :, :], V[..., :-1, :, :], V[..., 1:, :, :]
    return vlo @ H(lo) + lo @ H(vlo) - H(vhi) @ hi - H(hi) @ vhi


def combine_padded(parts: list, padded_vars: list, pad_dims: list) -> xr.Dataset:
    """combine_by_coords of jobs whose ``padded_vars`` have job-dependent lengths along ``pad_dims``.

    The other variables are combined as usual (a missing job stays an error); the padded
    variables are zero-padded to the largest length of each dim in ``pad_dims`` first.
    """
    kw = {"combine_attrs": "override", "join": "outer", "compat": "no_conflicts", "data_vars": "all"}
    main = xr.combine_by_coords([p.drop_vars(padded_vars + pad_dims) for p in parts], **kw)
    full = {dim: max((p[dim].values for p in parts), key=len) for dim in pad_dims}
    pads = [p[padded_vars].reindex(full, fill_value=0.0) for p in parts]
    out = main.merge(xr.combine_by_coords(pads, **kw), join="outer", compat="no_conflicts")
    for dim in pad_dims:
        out[dim].attrs.update(parts[0][dim].attrs)
    return out


def simulate(params: dict, progress=None) -> xr.Dataset:
    """One job: the Kirwan-Ness flow from a Gaussian or rank-deficient start (LM Cor 1).

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULT_PARAMS`: ``N``, ``d``, ``field``, ``seed``, ``T``, ``n_t``,
        ``rtol`` (relative local error of the group increment), ``start``.

    Returns
    -------
    xarray.Dataset with dims ``t``, ``layer`` (N), ``i`` (d): ``G_norm``, ``X_drift``,
    ``X_drift_abs``, ``W_speed``, ``energy_ratio`` (t); ``sv_layers`` (layer, i), ``sv_target`` (i);
    scalars ``G_final``, ``X_drift_max``, ``sv_error_max``, ``late_decay_rate``,
    ``late_decay_rate_se``, ``energy_ratio_err_max``, ``n_steps``.
    """
    import dln

    p = _params(params)
    N, d, T, n_t = int(p["N"]), int(p["d"]), float(p["T"]), int(p["n_t"])
    rng = rng_from_params(family=FAMILY, **p)
    W0 = initial_layers(p, rng)
    t = np.linspace(0.0, T, n_t)
    stats: dict = {}
    Wt = dln.kirwan_ness_flow(W0, t, rtol=float(p["rtol"]), stats=stats, progress=flow_progress(progress))
    G = moments(Wt)
    Gn = norm(G, 3)
    X = end_to_end(Wt)
    drift_abs = norm(X - X[0])
    drift = drift_abs / norm(X[0])
    V = dln.kirwan_ness_field(Wt)
    speed = norm(V, 3)
    rate = inner(G, moment_derivative(Wt, V), 3)
    wG2 = sqnorm(orbit_tangent(Wt, G), 3)
    ratio = np.divide(rate, wG2, out=np.zeros_like(rate), where=wG2 > 0)
    # the ratio is meaningful while |G| is well above its round-off floor eps |W|^2
    floor = 1e-6 * sqnorm(Wt, 3)
    meaningful = (Gn > floor) & (wG2 > 0)
    sv = np.linalg.svd(Wt[-1], compute_uv=False)
    s_X = np.linalg.svd(X[0], compute_uv=False)
    target = s_X ** (1.0 / N)
    half = t >= T / 2
    slope, se = fit_rate(t[half], Gn[half])
    ds = xr.Dataset(
        {
            "G_norm": _da(Gn, ("t",), "Frobenius norm of the moments |G(t)|"),
            "X_drift": _da(drift, ("t",), "relative drift of the end-to-end matrix |X(t) - X_0| / |X_0|"),
            "X_drift_abs": _da(drift_abs, ("t",), "drift of the end-to-end matrix |X(t) - X_0|"),
            "W_speed": _da(speed, ("t",), "speed of the flow |W'(t)|"),
            "energy_ratio": _da(ratio, ("t",), "ratio (d/dt |G|^2/2) / |w_G|^2 (corrected -4, LM prints -2)"),
            "energy_ratio_valid": _da(
                meaningful.astype(np.int8), ("t",), "1 where |G| > 1e-6 |W|^2, so energy_ratio is accurate"
            ),
            "sv_layers": _da(sv, ("layer", "i"), "singular values of the layers W_k(T), descending"),
            "sv_target": _da(target, ("i",), "sigma_i(X)^(1/N), the singular values of balanced layers"),
            "G_final": _da(float(Gn[-1]), (), "|G(T)|"),
            "X_drift_max": _da(float(drift.max()), (), "max over t of |X(t) - X_0| / |X_0|"),
            "sv_error_max": _da(
                float(np.max(np.abs(sv - target[None, :]))), (), "max |sigma(W_k(T)) - sigma(X)^(1/N)|"
            ),
            "late_decay_rate": _da(-slope, (), "least-squares decay rate of log|G| over t in [T/2, T]"),
            "late_decay_rate_se": _da(se, (), "standard error of the late decay rate"),
            "energy_ratio_err_max": _da(
                float(np.max(np.abs(ratio[meaningful] + 4.0))) if meaningful.any() else 0.0,
                (),
                "max |energy_ratio + 4| where energy_ratio_valid",
            ),
            "n_steps": _da(int(stats["n_steps"]), (), "accepted steps of the RKMK 5(4) integrator"),
        },
        coords={
            "t": t,
            "layer": _da(np.arange(1, N + 1), ("layer",), "layer index k (W_k)"),
            "i": np.arange(d),
        },
    )
    return finalize(
        ds,
        title=f"Kirwan-Ness flow (LM Cor 1): N={N}, d={d}, {p['field']}, {p['start']} start, seed {p['seed']}",
        summary="Convergence of the Kirwan-Ness flow W' = -w_{2G} to a balanced point, conservation of X by the "
        "group integrator, and the corrected energy identity d/dt |G|^2/2 = -4 |w_G|^2.",
        references=["LM"],
        config=p,
        context=f"{FAMILY} {json.dumps(p, sort_keys=True)}",
    )


def aggregate(datasets: list) -> xr.Dataset:
    """Combine jobs along new dimensions N, d, field, seed, start (read from each job's config).

    Jobs with different N or d have different ``layer``/``i`` lengths: ``sv_layers`` and
    ``sv_target`` are then zero-padded to the largest sizes and ``sv_valid`` (1 where
    layer <= N and i < d) marks the entries that exist.
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
    out = combine_padded(parts, ["sv_layers", "sv_target"], ["layer", "i"])
    if len({(int(ds.sizes["layer"]), int(ds.sizes["i"])) for ds in datasets}) > 1:
        valid = (out["layer"] <= out["N"]) & (out["i"] < out["d"])
        out["sv_valid"] = valid.astype(np.int8).assign_attrs(
            long_name="1 where the padded entry of sv_layers / sv_target exists (layer <= N, i < d)", units="1"
        )
    out["start"].attrs.update({"long_name": "initial condition (gaussian or rank_deficient)", "units": "1"})
    return finalize(
        out,
        title="Kirwan-Ness flow (LM Thm 10, eq. 2.31, Cor 1), all jobs",
        summary="|G(t)| decay (exponential from full-rank starts, algebraic from rank-deficient ones), X conserved "
        "to round-off, energy identity ratio -4.",
        references=["LM"],
        config={"jobs": len(datasets)},
        context=f"{FAMILY} aggregate",
    )
