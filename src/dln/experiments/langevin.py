"""Noise-induced balancing (LM section 4.2): ensembles of the Langevin equation (4.4) by Euler-Maruyama.

One job integrates ``n_paths`` trajectories from one unbalanced start W_0 (one vectorized array) and
records ensemble statistics with standard errors: E[G(t)] against G_0 e^{-2 kappa t} (exact for every loss,
THEOREMS.md LM-4.2), E|G(t)| with quantile bands, E|G(t)|^2 and the per-coordinate variance. With
``loss = "none"`` (the OU process, LM eq. 4.2) the exact second moment E|G(t)|^2 (:func:`dln.ou_moment_G`)
and the exact variance of the Euler-Maruyama chain are recorded too; ``kappa = 0`` is noise alone
(E[G] = G_0 and E|G|^2 - |G_0|^2 = (2t/beta) c_2 + (2t/beta)^2 c_4).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._linalg import norm, sqnorm
from .._product import moments
from .._random import random_layers, random_matrix, rng_from_params
from .._stochastic import langevin_em, ou_moment_G
from ._conventions import finalize

FAMILY = "langevin"

DEFAULT_PARAMS: dict = {
    "N": 3,
    "d": 2,
    "field": "real",
    "seed": 0,
    "kappa": 1.0,
    "beta": 10.0,
    "dt": 0.002,
    "n_paths": 10000,
    "T": 1.5,
    "loss": "none",
    "n_save": 31,
}


def _stats(W: np.ndarray, G0: np.ndarray) -> dict:
    """Ensemble statistics of one snapshot W of shape (n_paths, N, d, d); G0 is the start's moment."""
    M = W.shape[0]
    G = moments(W)
    proj = np.real(np.sum(np.conj(G0) * G, axis=(-3, -2, -1))) / np.sum(np.abs(G0) ** 2)
    Gn = norm(G, 3)
    G2 = Gn**2
    Gm = G.mean(axis=0)
    Gse = G.std(axis=0) / np.sqrt(M)
    flat = W.reshape(M, -1)
    parts = np.concatenate([flat.real, flat.imag], axis=1) if np.iscomplexobj(flat) else flat
    var = parts.var(axis=0, ddof=1)  # per real coordinate
    # SE of a Gaussian sample variance: var sqrt(2/(M-1)); averaged over independent coordinates.
    return {
        "proj_mean": proj.mean(),
        "proj_se": proj.std() / np.sqrt(M),
        "G_mean": Gm,
        "G_se": Gse,
        "Gn_mean": Gn.mean(),
        "Gn_se": Gn.std() / np.sqrt(M),
        "Gn_q": np.quantile(Gn, [0.1, 0.5, 0.9]),
        "G2_mean": G2.mean(),
        "G2_se": G2.std() / np.sqrt(M),
        "var_mean": var.mean(),
        "var_se": var.mean() * np.sqrt(2.0 / (M - 1) / var.size),
    }


def em_ou_variance(kappa: float, beta: float, dt: float, n: np.ndarray) -> np.ndarray:
    """Exact per-coordinate variance of the Euler-Maruyama OU chain after n steps (from a fixed start).

    W_{n+1} = (1 - kappa dt) W_n + sqrt(2 dt / beta) Z: var_n = (2 dt / beta) (1 - r^{2n}) / (1 - r^2),
    r = 1 - kappa dt; stationary value 1 / (beta kappa (1 - kappa dt / 2)).
    """
    r = 1.0 - kappa * dt
    n = np.asarray(n, dtype=float)
    if kappa == 0:
        return 2.0 * dt * n / beta
    return (2.0 * dt / beta) * (1.0 - r ** (2 * n)) / (1.0 - r * r)


def setup(p: dict, rng: np.random.Generator):
    """Start W_0 (one Gaussian draw) and the loss gradient (None or X - Y)."""
    W0 = random_layers(rng, int(p["N"]), int(p["d"]), p["field"])
    loss = p.get("loss", "none")
    if loss == "none":
        return W0, None
    if loss == "quadratic":
        Y = random_matrix(rng, (int(p["d"]),) * 2, p["field"])
        return W0, (lambda X: X - Y)
    from .._errors import DLNError

    raise DLNError(f"loss: expected 'none' or 'quadratic', got {loss!r}")


def simulate(params: dict, progress=None) -> xr.Dataset:
    """One ensemble of ``n_paths`` Euler-Maruyama trajectories; statistics at ``n_save`` times.

    ``progress(fraction)``, if given, is called with the fraction of time steps done.
    """
    p = dict(DEFAULT_PARAMS)
    p.update(params)
    rng = rng_from_params(family=FAMILY, **p)
    kappa, beta, dt, T = float(p["kappa"]), float(p["beta"]), float(p["dt"]), float(p["T"])
    n_steps = int(round(T / dt))
    save_every = max(1, n_steps // (int(p["n_save"]) - 1))
    W0, grad = setup(p, rng)
    G0 = moments(W0)
    t, snaps = _run(W0, grad, kappa, beta, dt, n_steps, rng, int(p["n_paths"]), save_every, G0, progress)
    G0n2 = float(sqnorm(G0, 3))
    decay = np.exp(-2.0 * kappa * t)
    Gm = np.stack([s["G_mean"] for s in snaps])  # (n_t, N-1, d, d)
    Gse = np.stack([s["G_se"] for s in snaps])
    pred = decay[:, None, None, None] * G0
    with np.errstate(divide="ignore", invalid="ignore"):
        zG = np.where(Gse > 0, np.abs(Gm - pred) / np.where(Gse > 0, Gse, 1.0), 0.0)
    if np.iscomplexobj(zG):
        zG = np.abs(zG)
    z_entries = zG.reshape(len(t), -1).max(axis=1)
    z_entries[0] = 0.0  # t = 0: all paths equal W_0 (the SE is round-off)
    proj = np.array([s["proj_mean"] for s in snaps])
    proj_se = np.array([s["proj_se"] for s in snaps])
    data = {
        "G_proj": (("t",), proj, {"long_name": "<E[G(t)], G_0> / |G_0|^2 (ensemble mean)", "units": "1"}),
        "G_proj_se": (("t",), proj_se, {"long_name": "standard error of G_proj", "units": "1"}),
        "G_proj_predicted": (("t",), decay, {"long_name": "predicted exp(-2 kappa t)", "units": "1"}),
        "G_mean_z": (
            ("t",),
            z_entries,
            {"long_name": "max over entries of |E[G(t)] - G_0 exp(-2 kappa t)| / SE", "units": "1"},
        ),
        "G_norm_mean": (("t",), np.array([s["Gn_mean"] for s in snaps]), {"long_name": "E|G(t)|", "units": "1"}),
        "G_norm_se": (
            ("t",),
            np.array([s["Gn_se"] for s in snaps]),
            {"long_name": "standard error of E|G(t)|", "units": "1"},
        ),
        "G_norm_q10": (
            ("t",),
            np.array([s["Gn_q"][0] for s in snaps]),
            {"long_name": "10% quantile of |G(t)|", "units": "1"},
        ),
        "G_norm_q50": (
            ("t",),
            np.array([s["Gn_q"][1] for s in snaps]),
            {"long_name": "median of |G(t)|", "units": "1"},
        ),
        "G_norm_q90": (
            ("t",),
            np.array([s["Gn_q"][2] for s in snaps]),
            {"long_name": "90% quantile of |G(t)|", "units": "1"},
        ),
        "G2_mean": (("t",), np.array([s["G2_mean"] for s in snaps]), {"long_name": "E|G(t)|^2", "units": "1"}),
        "G2_se": (
            ("t",),
            np.array([s["G2_se"] for s in snaps]),
            {"long_name": "standard error of E|G(t)|^2", "units": "1"},
        ),
        "coord_var": (
            ("t",),
            np.array([s["var_mean"] for s in snaps]),
            {"long_name": "variance per real coordinate of W(t)", "units": "1"},
        ),
        "coord_var_se": (
            ("t",),
            np.array([s["var_se"] for s in snaps]),
            {"long_name": "standard error of coord_var", "units": "1"},
        ),
        "G0_norm": ((), np.sqrt(G0n2), {"long_name": "|G_0| of the start", "units": "1"}),
        "z_max_mean_G": (
            (),
            float(z_entries[1:].max()),
            {"long_name": "max z-score of E[G(t)] entries vs G_0 exp(-2 kappa t)", "units": "1"},
        ),
        "z_max_proj": (
            (),
            float(np.max(np.abs(proj - decay)[1:] / proj_se[1:])),
            {"long_name": "max z-score of G_proj vs exp(-2 kappa t)", "units": "1"},
        ),
    }
    if grad is None:
        _, G2_exact = ou_moment_G(W0, kappa, beta, t)
        n = np.rint(t / dt)
        var_em = em_ou_variance(kappa, beta, dt, n)
        var_ct = (2.0 * t / beta) if kappa == 0 else -np.expm1(-2.0 * kappa * t) / (beta * kappa)
        G2m, G2se = data["G2_mean"][1], data["G2_se"][1]
        with np.errstate(divide="ignore", invalid="ignore"):
            zG2 = np.where(G2se > 0, np.abs(G2m - G2_exact) / np.where(G2se > 0, G2se, 1.0), 0.0)
        zG2[0] = 0.0  # t = 0: all paths equal W_0 (the SE is round-off)
        data.update(
            {
                "G2_exact": (("t",), G2_exact, {"long_name": "exact E|G(t)|^2 of the OU process", "units": "1"}),
                "G2_z": (("t",), zG2, {"long_name": "|E|G|^2 - exact| / SE (EM bias included)", "units": "1"}),
                "coord_var_exact": (("t",), var_ct, {"long_name": "exact OU variance per coordinate", "units": "1"}),
                "coord_var_em": (
                    ("t",),
                    var_em,
                    {"long_name": "exact variance of the EM chain per coordinate", "units": "1"},
                ),
            }
        )
    ds = xr.Dataset(data, coords={"t": t})
    return finalize(
        ds,
        title="Noise-induced balancing: Langevin ensembles (LM section 4.2)",
        summary="Euler-Maruyama ensembles of dW = -(grad E + kappa W) dt + sqrt(2/beta) dB (LM eqs. 4.2, 4.4); "
        "E[G(t)] = G_0 exp(-2 kappa t) for every loss; stationary variance 1/(beta kappa) per coordinate.",
        references=["LM"],
        config=p,
        context=f"{FAMILY}({p})",
    )


def _run(W0, grad, kappa, beta, dt, n_steps, rng, n_paths, save_every, G0, progress=None):
    snaps = []

    def observe(W):
        snaps.append(_stats(W, G0))
        return np.zeros(())

    t, _ = langevin_em(
        W0,
        grad,
        kappa,
        beta,
        dt,
        n_steps,
        rng,
        n_paths=n_paths,
        save_every=save_every,
        observe=observe,
        progress=progress,
    )
    return t, snaps


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


SWEEP_KEYS = ("kappa", "beta", "loss", "field", "N", "d", "seed", "dt")


def aggregate(datasets: list) -> xr.Dataset:
    """Combine jobs along kappa, beta, loss, field, N, d, seed, dt (jobs must share T and n_save)."""
    parts = []
    for ds in datasets:
        cfg = json.loads(ds.attrs.get("config", "{}"))
        one = ds.copy()
        one.attrs = {}
        for k in SWEEP_KEYS:
            one = one.expand_dims({k: [cfg.get(k, DEFAULT_PARAMS[k])]})
        parts.append(one)
    out = xr.combine_by_coords(parts, combine_attrs="override", join="outer", compat="no_conflicts")
    out = _fill_not_applicable(out, "0 where not applicable (only loss = 'none', the OU process, has exact references)")
    out["loss"].attrs.update({"long_name": "loss function (none = OU process, quadratic)", "units": "1"})
    return finalize(
        out,
        title="Noise-induced balancing: Langevin ensembles (LM section 4.2), all jobs",
        summary="E[G(t)], E|G(t)| with bands and the stationary variance across (kappa, beta, loss, field).",
        references=["LM"],
        config={"jobs": len(datasets)},
        context=f"{FAMILY} aggregate",
    )
