"""Experiment family ``schatten``: Schatten-p minimization on fibers (LM Thm 1, Thm 20, the open case p = 1).

One job = one (p, N, d, field, seed): a Gaussian end-to-end matrix X (seeded from the parameters), the sum of
Schatten-p norms minimized over F_X from ``n_restarts`` random starting points (:func:`dln.schatten_minimize`),
compared with the closed form N (sum_i sigma_i^{p/N})^{1/p}; the balancedness defect |G|/|W|^2 at every
restart's minimizer; and the Hessian of the objective at the best minimizer in group coordinates, whose
nullity is compared with the dimension of the unitary orbit O_X ((N-1) d(d-1)/2 real, (N-1) d^2 complex).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._errors import DLNError
from .._random import random_matrix, rng_from_params
from .._schatten import schatten_hessian, schatten_minimize
from ._conventions import finalize

__all__ = ["DEFAULT_PARAMS", "FAMILY", "simulate", "aggregate", "orbit_dimension", "hessian_nullity"]

FAMILY = "schatten"

#: Small, fast parameters (one job in well under a second).
DEFAULT_PARAMS: dict = {"p": 1.0, "N": 3, "d": 3, "field": "real", "seed": 0, "n_restarts": 3}

#: Relative threshold below which a Hessian eigenvalue counts as zero (FD noise ~1e-10, spectral gap >= 1e-3).
NULL_RTOL = 1e-6

_SCALARS = ("p", "N", "d", "field", "seed")


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


def _params(params: dict) -> dict:
    p = dict(DEFAULT_PARAMS)
    p.update(params or {})
    unknown = sorted(set(p) - set(DEFAULT_PARAMS))
    if unknown:
        raise DLNError(f"params: unknown key(s) {unknown} for family schatten; known: {sorted(DEFAULT_PARAMS)}")
    if p["field"] not in ("real", "complex"):
        raise DLNError(f"field: expected 'real' or 'complex', got {p['field']!r}")
    for key in ("N", "d", "seed", "n_restarts"):
        if isinstance(p[key], bool) or int(p[key]) != p[key]:
            raise DLNError(f"{key}: expected an integer, got {p[key]!r}")
        p[key] = int(p[key])
    if p["N"] < 2 or p["d"] < 1 or p["n_restarts"] < 1 or p["seed"] < 0:
        raise DLNError(f"params: need N >= 2, d >= 1, n_restarts >= 1, seed >= 0; got {p}")
    p["p"] = float(p["p"])
    if not (np.isfinite(p["p"]) and p["p"] > 0):
        raise DLNError(f"p: the Schatten exponent must be finite and > 0, got {params.get('p')!r}")
    return p


def simulate(params: dict) -> xr.Dataset:
    """One job of the ``schatten`` family.

    Parameters
    ----------
    params : dict
        ``p`` (Schatten exponent), ``N``, ``d``, ``field`` ("real" or "complex"), ``seed``, ``n_restarts``.

    Returns
    -------
    xarray.Dataset
        Dimensions ``p, N, d, field, seed`` (length 1 each, for :func:`aggregate`) and ``restart``.
    """
    P = _params(params)
    rng = rng_from_params(family=FAMILY, **P)
    X = random_matrix(rng, (P["d"], P["d"]), P["field"])
    res = schatten_minimize(X, P["N"], P["p"], rng=rng, n_restarts=P["n_restarts"])
    Hm = schatten_hessian(res.W, P["p"])
    null, zmax, nzmin, emin = hessian_nullity(Hm)
    sigma = np.linalg.svd(X, compute_uv=False)
    R = P["n_restarts"]

    def var(values, long_name, units="1", per_restart=False, **attrs):
        dims = ("restart",) if per_restart else ()
        return xr.DataArray(np.asarray(values), dims=dims, attrs={"long_name": long_name, "units": units, **attrs})

    ds = xr.Dataset(
        {
            "value": var(res.restart_values, "minimum of sum_k |W_k|_{S_p} found from this restart", per_restart=True),
            "rel_gap": var(
                res.restart_gaps, "relative gap (value - closed form) / closed form of this restart", per_restart=True
            ),
            "G_rel": var(
                res.restart_G_rel, "balancedness defect |G| / |W|^2 at this restart's minimizer", per_restart=True
            ),
            "closed_form": var(res.closed_form, "closed-form minimum N (sum_i sigma_i^{p/N})^{1/p}"),
            "best_value": var(res.value, "best minimum over restarts"),
            "best_rel_gap": var(res.rel_gap, "relative gap of the best restart"),
            "best_G_rel": var(res.G_rel, "|G| / |W|^2 at the best minimizer"),
            "grad_rel": var(res.grad_rel, "|Lie gradient| / value at the best minimizer"),
            "X_err": var(res.X_err, "relative drift |phi(W) - X| / |X| of the best minimizer"),
            "spread": var(
                float(np.ptp(res.restart_values) / res.closed_form),
                "spread (max - min) of the minima over restarts relative to the closed form",
            ),
            "iterations": var(res.iterations, "L-BFGS iterations of the best restart"),
            "hessian_nullity": var(null, "number of zero eigenvalues of the Hessian at the best minimizer"),
            "orbit_dimension": var(
                orbit_dimension(P["N"], P["d"], P["field"]),
                "real dimension of the unitary orbit O_X ((N-1)d(d-1)/2 real, (N-1)d^2 complex)",
            ),
            "hessian_zero_max": var(zmax, "largest |eigenvalue| / max |eigenvalue| counted as zero"),
            "hessian_nonzero_min": var(nzmin, "smallest nonzero |eigenvalue| / max |eigenvalue| (spectral gap)"),
            "hessian_min_eig": var(emin, "smallest Hessian eigenvalue / max |eigenvalue|"),
            "sigma_min": var(float(sigma[-1]), "smallest singular value of X"),
            "sigma_max": var(float(sigma[0]), "largest singular value of X"),
        },
        coords={"restart": ("restart", np.arange(R))},
    )
    ds = ds.expand_dims({k: [P[k]] for k in _SCALARS})
    # per-restart variables keep restart last
    ds = ds.transpose(*_SCALARS, ...)
    return finalize(
        ds,
        title="Schatten-p minimization on fibers of the deep linear network",
        summary=(
            "Minimum of sum_k |W_k|_{S_p} over the fiber F_X found by L-BFGS in group coordinates with Newton "
            "polish, against the closed form N (sum sigma_i^{p/N})^{1/p} (LM Thm 1, Thm 20; p = 1 is open in LM); "
            "balancedness |G|/|W|^2 at the minimizers and the Hessian nullity at the best minimizer."
        ),
        references=["LM"],
        config=P,
        context=f"rule schatten params {P}",
    )


def aggregate(datasets: list) -> xr.Dataset:
    """Combine jobs along ``p, N, d, field, seed`` (all jobs must use the same ``n_restarts``)."""
    if not datasets:
        raise DLNError("datasets: nothing to aggregate for family schatten")
    sizes = {int(ds.sizes["restart"]) for ds in datasets}
    if len(sizes) != 1:
        raise DLNError(f"datasets: schatten jobs must share n_restarts to be aggregated, got {sorted(sizes)}")
    stripped = []
    for ds in datasets:
        ds = ds.copy()
        ds.attrs = {}
        stripped.append(ds)
    combined = xr.combine_by_coords(stripped, combine_attrs="drop_conflicts")
    for name, var in datasets[0].variables.items():
        if name in combined.variables:
            combined[name].attrs.update(var.attrs)
    # cells of the sweep that were not run (ragged sweeps) are NaN: refuse rather than write them
    for name, var in combined.data_vars.items():
        if var.dtype.kind == "f" and not np.all(np.isfinite(var.values)):
            raise DLNError(
                f"datasets: aggregated variable {name!r} has holes; the schatten sweep must be a full grid over "
                "p, N, d, field, seed"
            )
    for name in ("iterations", "hessian_nullity", "orbit_dimension"):
        combined[name] = combined[name].astype(np.int64)
    return finalize(
        combined,
        title="Schatten-p minimization on fibers of the deep linear network (sweep)",
        summary=datasets[0].attrs.get("summary", "Schatten-p minimization on fibers"),
        references=["LM"],
        config={"jobs": len(datasets)},
        context="rule schatten_aggregate",
    )
