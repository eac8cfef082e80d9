"""The posterior on a fiber (LM section 4.3, eq. 4.5): concentration on the minimizing orbit as beta grows.

One job samples exp(-beta kappa |W|^2 / 2) H^n(dW) on F_X (one beta) with ``n_chains`` vectorized
random-walk Metropolis chains in the group coordinates W = A.C (:func:`dln.sample_fiber_posterior`), and
records E|G|^2 and E|W|^2 with standard errors from the integrated autocorrelation time, the effective
sample size, the acceptance rate, the large-beta Laplace prediction c / (beta kappa)
(:func:`dln.posterior_laplace_G2`) and, for d = 1, N = 2, the quadrature reference. :func:`aggregate`
stacks jobs along beta and fits the rate of log E|G|^2 against log beta (theory -1).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._linalg import sqnorm
from .._posterior import effective_sample_size, posterior_laplace_G2, posterior_quadrature_d1, sample_fiber_posterior
from .._product import _moments
from .._random import random_matrix, rng_from_params
from ._conventions import finalize

FAMILY = "posterior"

DEFAULT_PARAMS: dict = {
    "N": 3,
    "d": 2,
    "field": "real",
    "seed": 0,
    "beta": 10.0,
    "kappa": 1.0,
    "n_chains": 100,
    "n_steps": 1000,
}


def target_matrix(p: dict) -> np.ndarray:
    """The conditioning end-to-end matrix X (depends on N, d, field, seed only; I + Gaussian, full rank)."""
    rng = rng_from_params(family=FAMILY, **{k: p[k] for k in ("N", "d", "field", "seed")})
    d = int(p["d"])
    X = np.eye(d) + random_matrix(rng, (d, d), p["field"]) / np.sqrt(d)
    if d == 1:
        X = X / np.abs(X) * 1.3  # |x| = 1.3 for the d = 1 quadrature reference
    return X


def simulate(params: dict, progress=None) -> xr.Dataset:
    """One beta: MCMC estimates of E|G|^2, E|W|^2 with standard errors and effective sample sizes.

    ``progress(fraction)``, if given, is called with the fraction of MCMC iterations done.
    """
    p = dict(DEFAULT_PARAMS)
    p.update(params)
    N, beta, kappa = int(p["N"]), float(p["beta"]), float(p["kappa"])
    X = target_matrix(p)
    rng = rng_from_params(family=FAMILY, **p)

    def observe(W):
        return np.stack([sqnorm(_moments(W), 3), sqnorm(W, 3)], axis=-1)

    r = sample_fiber_posterior(
        X,
        N,
        beta,
        kappa,
        rng,
        n_chains=int(p["n_chains"]),
        n_steps=int(p["n_steps"]),
        observe=observe,
        progress=progress,
    )
    g_mean, g_se, g_ess = effective_sample_size(r["samples"][..., 0])
    w_mean, w_se, w_ess = effective_sample_size(r["samples"][..., 1])
    c = posterior_laplace_G2(X, N)
    sigma = np.linalg.svd(X, compute_uv=False)
    data = {
        "EG2": ((), g_mean, {"long_name": "posterior mean of |G|^2", "units": "1"}),
        "EG2_se": ((), g_se, {"long_name": "standard error of EG2 (integrated autocorrelation time)", "units": "1"}),
        "EG2_ess": ((), g_ess, {"long_name": "effective sample size of |G|^2", "units": "1"}),
        "EW2": ((), w_mean, {"long_name": "posterior mean of |W|^2", "units": "1"}),
        "EW2_se": ((), w_se, {"long_name": "standard error of EW2", "units": "1"}),
        "EW2_ess": ((), w_ess, {"long_name": "effective sample size of |W|^2", "units": "1"}),
        "W2_min": (
            (),
            float(N * np.sum(sigma ** (2.0 / N))),
            {"long_name": "min of |W|^2 on the fiber, N sum sigma_i^{2/N} (LM Thm 1)", "units": "1"},
        ),
        "accept": ((), r["accept"], {"long_name": "Metropolis acceptance rate", "units": "1"}),
        "laplace_c": ((), c, {"long_name": "Laplace constant c = lim beta kappa E|G|^2", "units": "1"}),
        "EG2_laplace": ((), c / (beta * kappa), {"long_name": "Laplace prediction c / (beta kappa)", "units": "1"}),
    }
    if int(p["d"]) == 1 and N == 2:
        q = posterior_quadrature_d1(abs(X[0, 0]), beta, kappa, p["field"])
        data["EG2_quadrature"] = ((), q["EG2"], {"long_name": "E[G^2] by quadrature (d = 1, N = 2)", "units": "1"})
        data["EW2_quadrature"] = ((), q["EW2"], {"long_name": "E|W|^2 by quadrature (d = 1, N = 2)", "units": "1"})
    ds = xr.Dataset(data)
    return finalize(
        ds,
        title="Posterior on a fiber (LM section 4.3)",
        summary="Gaussian prior exp(-beta kappa |W|^2/2) restricted to F_X with its Hausdorff measure, sampled by "
        "random-walk Metropolis on GL(d)^{N-1}; E|G|^2 -> 0 like c/(beta kappa).",
        references=["LM"],
        config=p,
        context=f"{FAMILY}({p})",
    )


def _fill_not_applicable(ds: xr.Dataset, note: str) -> xr.Dataset:
    """Replace the NaN left by the outer join (variables only some jobs have) by 0, with a mask variable."""
    for name in list(ds.data_vars):
        missing = ds[name].isnull()
        if bool(missing.any()):
            attrs = dict(ds[name].attrs)
            ds[name + "_available"] = (~missing).astype(np.int8)
            ds[name + "_available"].attrs.update({"long_name": f"1 where {name} is defined", "units": "1"})
            ds[name] = ds[name].fillna(0.0)
            ds[name].attrs.update(attrs)
            ds[name].attrs["comment"] = note
    return ds


SWEEP_KEYS = ("beta", "kappa", "field", "N", "d", "seed")


def aggregate(datasets: list) -> xr.Dataset:
    """Stack jobs along beta (and kappa, field, N, d, seed); add the fitted slope of log EG2 vs log beta."""
    parts = []
    for ds in datasets:
        cfg = json.loads(ds.attrs.get("config", "{}"))
        one = ds.copy()
        one.attrs = {}
        for k in SWEEP_KEYS:
            one = one.expand_dims({k: [cfg.get(k, DEFAULT_PARAMS[k])]})
        parts.append(one)
    out = xr.combine_by_coords(parts, combine_attrs="override", join="outer", compat="no_conflicts")
    out = _fill_not_applicable(out, "0 where not applicable (quadrature only for d = 1, N = 2)")
    logb = np.log(out["beta"].values)
    if logb.size >= 2:
        y = np.log(np.maximum(out["EG2"].values, 1e-300))
        yb = np.moveaxis(y, out["EG2"].dims.index("beta"), -1)
        slope = np.apply_along_axis(lambda v: np.polyfit(logb, v, 1)[0], -1, yb)
        dims = tuple(dim for dim in out["EG2"].dims if dim != "beta")
        out["EG2_slope"] = (
            dims,
            slope,
            {"long_name": "fitted slope of log E|G|^2 against log beta (theory -1)", "units": "1"},
        )
    return finalize(
        out,
        title="Posterior on a fiber (LM section 4.3), all jobs",
        summary="Posterior concentration on the minimizing orbit: E|G|^2 against beta with standard errors and ESS.",
        references=["LM"],
        config={"jobs": len(datasets)},
        context=f"{FAMILY} aggregate",
    )
