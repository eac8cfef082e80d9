"""Experiment family ``entropy``: the Menon-Yu entropy formula (MY-Thm4, MY-complex, CKM-Rmk1.4).

One job = one (d, N, field, seed): ``n_samples`` Gaussian end-to-end matrices X (seeded from the parameters);
for each, the numerical log-volume density 1/2 log det Gram of the orbit tangent vectors at a random point
Q.C of the minimizing orbit (:func:`dln.orbit_volume_gram`) against the closed form
(:func:`dln.entropy` with ``constant=False``); the distance of S_N - k_d log N to its infinite-depth limit;
and, for plots, S_N along the curve sigma = (s, 1, ..., 1), s in [1e-2, 1e1], with its infinite-depth limit.

Normalization: S_N = (N-1) log c_d + 1/2 log det Gram, c_d = vol(O_d) (vol(U_d) over C) in the Frobenius
metric (:func:`dln.group_volume`); the comparison with the Gram determinant does not involve c_d.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._entropy import (
    _log_group_volume,
    entropy,
    entropy_infinite_depth,
    entropy_log_depth_coefficient,
    orbit_volume_gram,
)
from .._errors import DLNError
from .._random import random_matrix, rng_from_params
from ._conventions import finalize

__all__ = ["DEFAULT_PARAMS", "FAMILY", "simulate", "aggregate"]

FAMILY = "entropy"

#: Small, fast parameters (one job in well under a second).
DEFAULT_PARAMS: dict = {"d": 3, "N": 4, "field": "real", "seed": 0, "n_samples": 8, "n_curve": 121}

_SCALARS = ("d", "N", "field", "seed")


def _params(params: dict) -> dict:
    p = dict(DEFAULT_PARAMS)
    p.update(params or {})
    unknown = sorted(set(p) - set(DEFAULT_PARAMS))
    if unknown:
        raise DLNError(f"params: unknown key(s) {unknown} for family entropy; known: {sorted(DEFAULT_PARAMS)}")
    if p["field"] not in ("real", "complex"):
        raise DLNError(f"field: expected 'real' or 'complex', got {p['field']!r}")
    for key in ("d", "N", "seed", "n_samples", "n_curve"):
        if isinstance(p[key], bool) or int(p[key]) != p[key]:
            raise DLNError(f"{key}: expected an integer, got {p[key]!r}")
        p[key] = int(p[key])
    if p["N"] < 2 or p["d"] < 1 or p["n_samples"] < 1 or p["n_curve"] < 2 or p["seed"] < 0:
        raise DLNError(f"params: need N >= 2, d >= 1, n_samples >= 1, n_curve >= 2, seed >= 0; got {p}")
    return p


def simulate(params: dict) -> xr.Dataset:
    """One job of the ``entropy`` family.

    Parameters
    ----------
    params : dict
        ``d``, ``N``, ``field`` ("real" or "complex"), ``seed``, ``n_samples`` (Gaussian X per job),
        ``n_curve`` (points of the plotting curve).

    Returns
    -------
    xarray.Dataset
        Dimensions ``d, N, field, seed`` (length 1 each, for :func:`aggregate`), ``sample`` and ``s``.
    """
    P = _params(params)
    d, N, field = P["d"], P["N"], P["field"]
    rng = rng_from_params(family=FAMILY, **P)
    X = random_matrix(rng, (P["n_samples"], d, d), field)
    sigma = np.linalg.svd(X, compute_uv=False)
    S_gram = orbit_volume_gram(X, N, field=field, rng=rng)
    S_closed = entropy(sigma, N, field, constant=False)
    err = np.abs(S_gram - S_closed)
    k = entropy_log_depth_coefficient(d, field)
    inf_dev = S_closed - k * np.log(N) - entropy_infinite_depth(sigma, field)

    s = np.logspace(-2.0, 1.0, P["n_curve"])
    curve = np.ones((s.size, d))
    curve[:, 0] = s
    S_curve = entropy(curve, N, field, constant=False)
    S_curve_inf = entropy_infinite_depth(curve, field)

    def var(values, long_name, dims=(), units="1"):
        return xr.DataArray(np.asarray(values), dims=dims, attrs={"long_name": long_name, "units": units})

    ds = xr.Dataset(
        {
            "S_gram": var(S_gram, "1/2 log det Gram of the orbit tangent vectors at Q.C (numerical)", ("sample",)),
            "S_closed": var(S_closed, "closed-form S_N - (N-1) log c_d (MY-Thm4 / MY-complex)", ("sample",)),
            "abs_err": var(err, "|numerical - closed form| log-volume density", ("sample",)),
            "max_abs_err": var(float(np.max(err)), "max over samples of |numerical - closed form|"),
            "sigma_min": var(sigma[:, -1], "smallest singular value of X", ("sample",)),
            "sigma_max": var(sigma[:, 0], "largest singular value of X", ("sample",)),
            "inf_depth_dev": var(
                inf_dev, "S_N - (N-1) log c_d - k_d log N minus its N -> infinity limit (CKM Rmk 1.4)", ("sample",)
            ),
            "log_group_volume": var((N - 1) * _log_group_volume(d, field), "(N-1) log c_d (normalization)"),
            "log_depth_coefficient": var(k, "k_d in S_N ~ k_d log N: d(d-1)/4 real, d^2/2 complex"),
            "S_curve": var(S_curve, "S_N - (N-1) log c_d along sigma = (s, 1, ..., 1)", ("s",)),
            "S_curve_rescaled": var(
                S_curve - k * np.log(N), "S_N - (N-1) log c_d - k_d log N along sigma = (s, 1, ..., 1)", ("s",)
            ),
            "S_curve_inf": var(
                S_curve_inf, "infinite-depth limit of S_N - (N-1) log c_d - k_d log N along (s, 1, ..., 1)", ("s",)
            ),
        },
        coords={
            "sample": ("sample", np.arange(P["n_samples"])),
            "s": ("s", s, {"long_name": "first singular value s of the curve sigma = (s, 1, ..., 1)", "units": "1"}),
        },
    )
    ds = ds.expand_dims({key: [P[key]] for key in _SCALARS}).transpose(*_SCALARS, ...)
    return finalize(
        ds,
        title="Entropy of minimizing orbits of the deep linear network: closed form vs Gram determinant",
        summary=(
            "Log-volume density 1/2 log det Gram of the orbit tangent vectors w_a (a in so(d)^{N-1} or "
            "u(d)^{N-1}, orthonormal basis) at a random balanced point Q.C, against the closed form of MY Thm 4 "
            "(real) and its complex analogue; S_N curves and the infinite-depth limit (CKM Rmk 1.4)."
        ),
        references=["MY", "CKM"],
        config=P,
        context=f"rule entropy params {P}",
    )


def aggregate(datasets: list) -> xr.Dataset:
    """Combine jobs along ``d, N, field, seed`` (a full grid with equal ``n_samples`` and ``n_curve``)."""
    if not datasets:
        raise DLNError("datasets: nothing to aggregate for family entropy")
    for key in ("sample", "s"):
        sizes = {int(ds.sizes[key]) for ds in datasets}
        if len(sizes) != 1:
            raise DLNError(f"datasets: entropy jobs must share the size of {key!r} to be aggregated, got {sizes}")
    parts = []
    for ds in datasets:
        one = ds.copy()
        one.attrs = {}
        parts.append(one)
    out = xr.combine_by_coords(parts, combine_attrs="drop_conflicts")
    for name, var in datasets[0].variables.items():
        if name in out.variables:
            out[name].attrs.update(var.attrs)
    for name, var in out.data_vars.items():
        if var.dtype.kind == "f" and not np.all(np.isfinite(var.values)):
            raise DLNError(f"datasets: aggregated variable {name!r} has holes; the entropy sweep must be a full grid")
    return finalize(
        out,
        title="Entropy of minimizing orbits of the deep linear network (sweep)",
        summary=datasets[0].attrs.get("summary", "Entropy formula vs Gram determinant"),
        references=["MY", "CKM"],
        config={"jobs": len(datasets)},
        context="rule entropy_aggregate",
    )
