"""Background noise (LM §4.2): Euler-Maruyama ensembles of the Langevin equation (4.4) and the OU process (4.2).

One job integrates ``n_paths`` trajectories from one Gaussian start W_0 (one vectorized array) with
:func:`dln.langevin_em` at step h = ``dt`` and records ensemble means with standard errors at ``n_save`` times.
The predictions it compares them with are exact for the simulated chain, so that a z-score measures Monte
Carlo error only:

- ``loss = "none"`` (the OU process): Euler-Maruyama is W_{n+1} = r W_n + sqrt(2h/beta) Z_n, r = 1 - kappa h,
  so W_n = r^n W_0 + s_n Z with s_n^2 = (2h/beta)(1 - r^{2n})/(1 - r^2) per real coordinate, and, because the
  layers are square, E[G_n] = r^{2n} G_0 and E|G_n|^2 = r^{4n}|G_0|^2 + r^{2n} s_n^2 c_2(W_0) + s_n^4 c_4
  (c_2 = E|dG_{W_0}(Z)|^2, c_4 = E|G(Z)|^2); as h -> 0 these are the OU moments, and at stationarity
  s^2 = 1/(beta kappa (1 - kappa h/2)): the density exp(-beta kappa |W|^2/2), not exp(-beta kappa |W|^2) as
  printed in (4.3) (variance 1/(2 beta kappa));
- ``loss = "quadratic"`` (E = |X - Y|^2/2): E[G(t)] = G_0 e^{-2 kappa t} for the SDE; the ensemble is run
  again at h/2 (independent noise) and the Richardson combination 2 E_{h/2} - E_h, whose bias is O(h^2),
  is compared with it. The same jobs measure the strong and weak orders of Euler-Maruyama on a ladder of
  steps driven by one Brownian path (:func:`dln.langevin_em_ladder`).

Every comparison is stored as a z-score |estimate - prediction| / SE together with SE / |prediction|.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .. import _reference as ref
from .._linalg import norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_layers, random_matrix, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("N", 3, sweep=True),
    param("d", 2, sweep=True),
    param("field", "real", sweep=True),
    param("seed", 0, sweep=True),
    param("kappa", 1.0, sweep=True),
    param("beta", 10.0, sweep=True),
    param("dt", 0.002, sweep=True),
    param("n_paths", 10000, kind="integer", minimum=1, maximum=10000000, description="number of sample paths"),
    param("T", 6.0),
    param(
        "loss",
        "none",
        sweep=True,
        kind="string",
        choices=("none", "quadratic"),
        description="loss: none (the OU process, LM eq. 4.2) or quadratic E = |X - Y|^2/2",
    ),
    param("n_save", 13, kind="integer", minimum=3, maximum=100000, description="number of saved times in [0, T]"),
    rules=(
        "dt < T",
        "round(T / dt) >= 2 * (n_save - 1)",
        "round(T / dt) % (n_save - 1) == 0",
    ),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Background noise: Langevin ensembles (LM section 4.2), all jobs"
SUMMARY = (
    "E[G(t)], E|G(t)|^2 and the coordinate variance against exact or extrapolated predictions, with "
    "z-scores; the orders of Euler-Maruyama."
)
REFERENCES = ["LM"]


#: The sweep of ``dln check``: noise alone (kappa = 0) and two regularizations, both losses, both fields.
LEDGER: dict = {
    "sweep": {"kappa": [0.0, 1.0, 2.0], "loss": ["none", "quadratic"], "field": ["real", "complex"]},
    "fixed": {"beta": 4.0, "n_paths": 4000, "T": 3.0, "dt": 0.005, "n_save": 7},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"loss": ["none", "quadratic"], "field": ["real", "complex"]},
    "fixed": {"kappa": 1.0, "beta": 4.0, "n_paths": 1000, "T": 1.0, "dt": 0.01, "n_save": 3},
}

#: Relative cost of the LEDGER sweep.
COST = 12.0


#: Steps of the Euler-Maruyama order ladder (fine step T_ORDER / N_FINE times these ratios).
ORDER_RATIOS = (1, 2, 4, 8)
N_FINE = 512
T_ORDER = 1.0

#: Scale of the order ladder's start (the coarsest step, 1/64, is stable from 0.8 W_0 with a quadratic loss).
ORDER_START_SCALE = 0.8


def em_ou_variance(kappa: float, beta: float, dt: float, n: np.ndarray) -> np.ndarray:
    """Per-coordinate variance s_n^2 of the Euler-Maruyama OU chain after n steps from a fixed start."""
    r = 1.0 - kappa * dt
    n = np.asarray(n, dtype=float)
    if kappa == 0:
        return 2.0 * dt * n / beta
    return (2.0 * dt / beta) * (1.0 - r ** (2 * n)) / (1.0 - r * r)


def quartic_coefficient(N: int, d: int, field: str) -> float:
    """c_4 = E|G(Z)|^2 for Z standard per real coordinate: (N-1) 2 d^2 (d+1) (real), (N-1) 8 d^3 (complex)."""
    return (N - 1) * (2.0 * d * d * (d + 1) if field == "real" else 8.0 * d**3)


def noise_coefficient(W0: np.ndarray) -> float:
    """c_2 = E|dG_{W_0}(Z)|^2 = |dG_{W_0}|_HS^2, the squared Frobenius norm of the real matrix of dG at W_0."""
    M = ref.real_matrix(lambda V: ref.dG(W0, V), W0.shape, W0.dtype)
    return float(np.sum(M**2))


def _entries(G: np.ndarray) -> np.ndarray:
    """Real coordinates of the last three axes (complex: real and imaginary parts), shape (..., m)."""
    flat = G.reshape(G.shape[:-3] + (-1,))
    return np.concatenate([flat.real, flat.imag], axis=-1) if np.iscomplexobj(flat) else flat


def _ensemble(p: dict, W0, grad, dt: float, rng, progress=None):
    """Ensemble statistics at the save times: mean and SE of G entries, projection, |G|^2, coordinate variance."""
    import dln

    kappa, beta, T = float(p["kappa"]), float(p["beta"]), float(p["T"])
    n_steps = int(round(T / dt))
    every = n_steps // (p["n_save"] - 1)
    G0 = moments(W0)
    M = p["n_paths"]

    def observe(W):
        G = moments(W)
        g = _entries(G)
        proj = np.real(np.sum(np.conj(G0) * G, axis=(-3, -2, -1))) / sqnorm(G0, 3)
        G2 = sqnorm(G, 3)
        Gn = np.sqrt(G2)
        flat = _entries(W)
        var = flat.var(axis=0, ddof=1)
        return np.concatenate(
            [
                g.mean(axis=0),
                g.std(axis=0, ddof=1) / np.sqrt(M),
                [proj.mean(), proj.std(ddof=1) / np.sqrt(M), G2.mean(), G2.std(ddof=1) / np.sqrt(M)],
                np.quantile(Gn, [0.1, 0.5, 0.9]),
                [var.mean(), var.mean() * np.sqrt(2.0 / (M - 1) / var.size)],
            ]
        )

    t, out = dln.langevin_em(
        W0, grad, kappa, beta, dt, n_steps, rng, n_paths=M, save_every=every, observe=observe, progress=progress
    )
    m = _entries(G0).size
    return {
        "t": t,
        "g_mean": out[:, :m],
        "g_se": out[:, m : 2 * m],
        "proj": out[:, 2 * m],
        "proj_se": out[:, 2 * m + 1],
        "G2": out[:, 2 * m + 2],
        "G2_se": out[:, 2 * m + 3],
        "q": out[:, 2 * m + 4 : 2 * m + 7],
        "var": out[:, 2 * m + 7],
        "var_se": out[:, 2 * m + 8],
        "n": np.rint(t / dt),
    }


#: A standard error below this fraction of the prediction's scale is round-off: the estimate is deterministic
#: there (a coordinate the noise does not reach), and its z-score compares it with the prediction at that scale.
SE_ROUNDOFF = 1e-12


def _z(est, se, pred):
    """|est - pred| / se and se / |pred| (0 where se = 0: the deterministic t = 0).

    For ``(n_t, n_coords)`` arrays the scale at each time is the largest |prediction| over the coordinates; a
    standard error below ``SE_ROUNDOFF`` times that scale is replaced by it (round-off over round-off is no
    z-score), and such an entry detects no relative deviation (``se / |pred|`` is 0 there, as at t = 0)."""
    est, se, pred = np.asarray(est, float), np.asarray(se, float), np.asarray(pred, float)
    scale = np.max(np.abs(pred), axis=-1, keepdims=True) if pred.ndim == 2 else np.abs(pred)
    floor = SE_ROUNDOFF * np.broadcast_to(scale, np.broadcast_shapes(se.shape, np.shape(scale)))
    roundoff = (se > 0) & (se < floor)
    se_eff = np.where(roundoff, floor, se)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se_eff > 0, np.abs(est - pred) / np.where(se_eff > 0, se_eff, 1.0), 0.0)
        sop = np.where(np.abs(pred) > 0, se / np.abs(pred), 0.0)
        sop = np.where(roundoff, 0.0, sop)
    return z, sop


def em_orders(p: dict, W0, grad, rng) -> dict:
    """Strong and weak orders of Euler-Maruyama on the ladder h = T_ORDER / N_FINE x ORDER_RATIOS (one path per
    trajectory for all levels): slopes of log RMS|W_h - W_{h/2}| and log |E f(W_h) - E f(W_{h/2})|, f = |X|^2,
    against log h, with standard errors from the Monte Carlo errors of the points (delta method)."""
    import dln

    M = p["n_paths"]
    S = dln.langevin_em_ladder(
        ORDER_START_SCALE * W0, grad, float(p["kappa"]), float(p["beta"]), T_ORDER, N_FINE, ORDER_RATIOS, rng, n_paths=M
    )
    hs, strong, strong_se, weak, weak_se = [], [], [], [], []
    for i in range(1, len(ORDER_RATIOS)):
        hs.append(ORDER_RATIOS[i] * T_ORDER / N_FINE)
        e2 = sqnorm(S[i] - S[i - 1], 3)
        strong.append(np.sqrt(e2.mean()))
        strong_se.append(e2.std(ddof=1) / np.sqrt(M) / (2 * np.sqrt(e2.mean())))
        f = sqnorm(end_to_end(S[i])) - sqnorm(end_to_end(S[i - 1]))
        weak.append(abs(f.mean()))
        weak_se.append(f.std(ddof=1) / np.sqrt(M))
    x = np.log(hs)
    out = {}
    for name, y, se in (("strong", strong, strong_se), ("weak", weak, weak_se)):
        y, se = np.asarray(y), np.asarray(se)
        coef = np.polyfit(x, np.log(y), 1)
        # d slope / d log y_i = (x_i - mean x) / sum (x - mean x)^2; var(log y_i) = (se_i / y_i)^2
        w = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
        out[f"{name}_order"] = float(coef[0])
        out[f"{name}_order_se"] = float(np.sqrt(np.sum((w * se / y) ** 2)))
    return out


def replay_errors(p: dict, W0: np.ndarray, grad, rng: np.random.Generator) -> dict:
    """Deterministic checks of the samplers: each run on a few paths and steps with a recording generator and
    compared with the printed recursion driven by the same normals (:mod:`dln.experiments._replay`)."""
    import dln

    from ._replay import RecordingGenerator, replay_ladder, replay_langevin

    kappa, beta, dt = float(p["kappa"]), float(p["beta"]), float(p["dt"])
    rec = RecordingGenerator(rng)
    _, Wt = dln.langevin_em(W0, grad, kappa, beta, dt, 4, rec, n_paths=3)
    Wr = replay_langevin(W0, grad, kappa, beta, dt, rec.normals, 3)
    out = {"em_replay_err": float(norm(Wt[-1] - Wr, 4) / norm(Wr, 4))}
    rec = RecordingGenerator(rng)
    T_ex = 0.3
    Wx = dln.ou_exact(W0, max(kappa, 0.5), beta, T_ex, rec, n_paths=3)
    m = np.exp(-max(kappa, 0.5) * T_ex)
    s = np.sqrt(-np.expm1(-2 * max(kappa, 0.5) * T_ex) / (beta * max(kappa, 0.5)))
    Z = rec.normals[0].view(np.complex128) if np.iscomplexobj(W0) else rec.normals[0]
    out["ou_exact_err"] = float(norm(Wx - (m * W0 + s * Z.reshape(Wx.shape)), 4) / norm(Wx, 4))
    if grad is not None:
        rec = RecordingGenerator(rng)
        S = dln.langevin_em_ladder(W0, grad, kappa, beta, 0.02, 8, (1, 2, 4), rec, n_paths=3)
        Sr = replay_ladder(W0, grad, kappa, beta, 0.02, 8, (1, 2, 4), rec.normals, 3)
        out["ladder_replay_err"] = float(np.linalg.norm((S - Sr).ravel()) / np.linalg.norm(Sr.ravel()))
    return out


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One ensemble (see the module docstring); ``progress(fraction)`` is called with the fraction of steps done."""
    import dln

    p = SPEC.resolve(params, FAMILY)
    N, d, field = p["N"], p["d"], p["field"]
    kappa, beta, dt, T = float(p["kappa"]), float(p["beta"]), float(p["dt"]), float(p["T"])
    rng = rng_from_params(family=FAMILY, **p)
    W0 = random_layers(rng, N, d, field)
    G0 = moments(W0)
    g0 = _entries(G0)
    grad = None
    if p["loss"] == "quadratic":
        Y = random_matrix(rng, (d, d), field)

        def grad(X, Y=Y):
            return X - Y

    e = _ensemble(p, W0, grad, dt, rng, progress)
    t, n = e["t"], e["n"]
    rep = replay_errors(p, W0, grad, rng)
    data = {
        "em_replay_err": _da(
            rep["em_replay_err"],
            (),
            "|dln.langevin_em - the recursion (4.4) on the same normals| / |recursion| (3 paths, 4 steps)",
        ),
        "ou_exact_err": _da(
            rep["ou_exact_err"], (), "|dln.ou_exact - (e^(-kappa t) W_0 + s Z) on the same normals| / |dln.ou_exact|"
        ),
    }
    if "ladder_replay_err" in rep:
        data["ladder_replay_err"] = _da(
            rep["ladder_replay_err"],
            (),
            "|dln.langevin_em_ladder - the levels of the recursion on the same fine increments| / |levels|",
        )
    if grad is None:  # exact moments of the Euler-Maruyama chain
        r = 1.0 - kappa * dt
        s2 = em_ou_variance(kappa, beta, dt, n)
        c2, c4 = noise_coefficient(W0), quartic_coefficient(N, d, field)
        g_pred = (r ** (2 * n))[:, None] * g0[None, :]
        G2_pred = r ** (4 * n) * sqnorm(G0, 3) + r ** (2 * n) * s2 * c2 + s2**2 * c4
        z_g, sop_g = _z(e["g_mean"], e["g_se"], g_pred)
        z_v, sop_v = _z(e["var"], e["var_se"], s2)
        z_G2, sop_G2 = _z(e["G2"], e["G2_se"], G2_pred)
        z_v[0] = z_G2[0] = 0.0  # t = 0: every path is W_0
        stationary = kappa * T >= 5.0
        var_printed = 1.0 / (2.0 * beta * kappa) if kappa > 0 else np.inf
        z_printed = float(_z(e["var"][-1], e["var_se"][-1], var_printed)[0]) if stationary else 0.0
        # the library's exact OU moments (continuous time) against the EM chain's as h -> 0 (same formula)
        m_lib, G2_lib = dln.ou_moment_G(W0, kappa, beta, t)
        s2_ct = 2.0 * t / beta if kappa == 0 else -np.expm1(-2.0 * kappa * t) / (beta * kappa)
        m_ct = np.exp(-kappa * t)
        G2_ct = m_ct**4 * sqnorm(G0, 3) + m_ct**2 * s2_ct * c2 + s2_ct**2 * c4
        lib_err = max(
            float(np.max(np.abs(G2_lib - G2_ct) / G2_ct)),
            float(np.max(norm(m_lib - (m_ct**2)[:, None, None, None] * G0, 3) / norm(G0, 3))),
            abs(float(dln.noise_growth_coefficient(W0)) - c2) / c2,
            abs(float(dln.ou_stationary_G2(N, d, beta, max(kappa, 1.0), field)) - c4 / (beta * max(kappa, 1.0)) ** 2)
            / (c4 / (beta * max(kappa, 1.0)) ** 2),
        )
        data.update(
            {
                "coord_var_em": _da(s2, ("t",), "exact variance per coordinate of the Euler-Maruyama OU chain"),
                "coord_var_exact": _da(s2_ct, ("t",), "exact variance per coordinate of the OU process"),
                "G2_exact": _da(G2_pred, ("t",), "exact E|G_n|^2 of the Euler-Maruyama OU chain"),
                "z_var": _da(z_v, ("t",), "|coordinate variance - exact EM value| / SE"),
                "sop_var": _da(sop_v, ("t",), "SE / exact EM value of the coordinate variance"),
                "z_G2": _da(z_G2, ("t",), "|E|G|^2 - exact EM value| / SE"),
                "sop_G2": _da(sop_G2, ("t",), "SE / exact EM value of E|G|^2"),
                "stationary": _da(np.int8(stationary), (), "1 if kappa T >= 5 (the chain is stationary to e^(-10))"),
                "z_printed_var": _da(
                    z_printed, (), "|coordinate variance at T - 1/(2 beta kappa)| / SE (the law printed in (4.3))"
                ),
                "var_ratio_T": _da(
                    e["var"][-1] * beta * kappa if kappa > 0 else 0.0,
                    (),
                    "beta kappa x coordinate variance at T (1 - kappa dt/2 -> 1 stationary; printed (4.3): 1/2)",
                ),
                "ou_formula_err": _da(
                    lib_err,
                    (),
                    "relative error of dln.ou_moment_G, noise_growth_coefficient and "
                    "ou_stationary_G2 against the moment formulas",
                ),
            }
        )
        pred_label = "exact EM mean r^(2n) G_0"
    else:  # Richardson: a second ensemble at h/2
        rng2 = rng_from_params(family=FAMILY, half_step=True, **p)
        e2 = _ensemble({**p}, W0, grad, dt / 2.0, rng2)
        g_R = 2.0 * e2["g_mean"] - e["g_mean"]
        se_R = np.sqrt(4.0 * e2["g_se"] ** 2 + e["g_se"] ** 2)
        g_pred = np.exp(-2.0 * kappa * t)[:, None] * g0[None, :]
        z_g, sop_g = _z(g_R, se_R, g_pred)
        order = em_orders(p, W0, grad, rng)
        data.update(
            {
                "strong_order": _da(order["strong_order"], (), "fitted strong order of Euler-Maruyama (1)"),
                "strong_order_se": _da(order["strong_order_se"], (), "Monte Carlo standard error of strong_order"),
                "weak_order": _da(order["weak_order"], (), "fitted weak order of Euler-Maruyama, f = |X|^2 (1)"),
                "weak_order_se": _da(order["weak_order_se"], (), "Monte Carlo standard error of weak_order"),
            }
        )
        pred_label = "G_0 exp(-2 kappa t)"
    z_g[0] = 0.0  # t = 0: every path is W_0
    detects = sop_g > 0  # entries with a statistical error (not t = 0, not round-off)
    sop_g_min = np.where(detects.any(axis=1), np.min(np.where(detects, sop_g, np.inf), axis=1), 0.0)
    sop_g_max = np.max(np.where(detects, sop_g, 0.0), axis=1)
    data.update(
        {
            "z_G": _da(
                z_g.max(axis=1),
                ("t",),
                f"max over the real coordinates of the entries of G of |E[G(t)] - {pred_label}| / SE",
            ),
            "z_G_count": _da(np.int64(z_g.shape[1]), (), "number of z-scores behind each z_G (real coordinates of G)"),
            "sop_G_min": _da(sop_g_min, ("t",), "min over coordinates of SE / |prediction|"),
            "sop_G_max": _da(sop_g_max, ("t",), "max over coordinates of SE / |prediction|"),
            "G_proj": _da(e["proj"], ("t",), "<E[G(t)], G_0> / |G_0|^2 (ensemble mean)"),
            "G_proj_se": _da(e["proj_se"], ("t",), "standard error of G_proj"),
            "G_proj_predicted": _da(np.exp(-2.0 * kappa * t), ("t",), "exp(-2 kappa t)"),
            "G2_mean": _da(e["G2"], ("t",), "E|G(t)|^2"),
            "G2_se": _da(e["G2_se"], ("t",), "standard error of G2_mean"),
            "G_norm_q10": _da(e["q"][:, 0], ("t",), "10% quantile of |G(t)|"),
            "G_norm_q50": _da(e["q"][:, 1], ("t",), "median of |G(t)|"),
            "G_norm_q90": _da(e["q"][:, 2], ("t",), "90% quantile of |G(t)|"),
            "coord_var": _da(e["var"], ("t",), "variance per real coordinate of W(t)"),
            "coord_var_se": _da(e["var_se"], ("t",), "standard error of coord_var"),
            "G0_norm": _da(float(norm(G0, 3)), (), "|G_0| of the start"),
        }
    )
    ds = xr.Dataset(data, coords={"t": t})
    return finalize_job(
        ds,
        p,
        __name__,
        title="Background noise: Langevin ensembles (LM section 4.2)",
        summary="Euler-Maruyama ensembles of dW = -(grad E + kappa W) dt + sqrt(2/beta) dB (LM eqs. 4.2, 4.4) against "
        "exact moments of the chain (OU) or a Richardson-extrapolated mean (with a loss): E[G(t)] = G_0 "
        "exp(-2 kappa t) "
        "for every loss; stationary variance 1/(beta kappa) per coordinate.",
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def _noise_cases(ds) -> list[dict]:
    """(kappa, beta) cases: the key of the colours of the Langevin figures."""
    pl = drawing_toolkit()
    return pl.cases(ds, ["kappa", "beta"]) or [{}]


def fig_noise_mean_G(ds: xr.Dataset) -> Figure:
    """LM §4.2: the projection <E[G(t)], G_0>/|G_0|^2 with +-3 standard errors against exp(-2 kappa t).

    ``ds`` is ``results/langevin.nc`` (dims kappa, beta, loss, field, N, d, seed, dt, t; variables ``G_proj``,
    ``G_proj_se``, ``G_proj_predicted``). One column per loss; top: the ensemble mean with its +-3 SE band
    (filled, edges drawn) and exp(-2 kappa t) (dotted); bottom: the standardized residual (mean -
    exp(-2 kappa t)) / SE, with the band |residual| <= 3 shaded, which shows the uncertainty at any ensemble
    size (t = 0, where every path starts at G_0 and SE = 0, is left out). Colour: (kappa, beta); line style:
    field. The first value of N, d, seed and dt is used.
    """
    pl = drawing_toolkit()
    losses = pl.coords(ds, "loss")
    fig, axes = pl.figure(len(losses), nrows=2, width=pl.WIDTH if len(losses) > 1 else 3.8, height=4.9, sharex="col")
    cases = _noise_cases(ds)
    colors = pl.colors(len(cases))
    fields = pl.coords(ds, "field")
    for col, loss in enumerate(losses):
        top, bot = axes[col], axes[len(losses) + col]
        for case, color in zip(cases, colors, strict=True):
            for field in fields:
                one = pl.one(ds, {**case, "loss": loss, "field": field}, keep=("t",))
                ok = pl.available(one, "G_proj")
                if not ok.any():
                    continue
                t = np.asarray(one["t"].values, dtype=float)[ok]
                m = np.asarray(one["G_proj"].values, dtype=float)[ok]
                se = np.asarray(one["G_proj_se"].values, dtype=float)[ok]
                pred = np.asarray(one["G_proj_predicted"].values, dtype=float)[ok]
                ls = pl.FIELD_LS.get(str(field), "-")
                pl.band(top, t, m, se, color, ls=ls)
                top.plot(t, pred, color="k", ls=":", lw=1.0)
                pl.zscore(bot, t, m, se, pred, color, ls=ls)
        title = f"loss = {loss}" if loss is not None else ""
        top.set_title(f"({chr(97 + col)}) {title}")
        bot.set_title(f"({chr(97 + len(losses) + col)}) residual, {title}" if title else "residual")
        top.set(ylabel=r"$\langle \mathbb{E}[\mathbf{G}(t)], \mathbf{G}_0\rangle / \Vert\mathbf{G}_0\Vert^2$")
        bot.set(xlabel="$t$")
        pl.zscore_axis(bot, r"(mean $-\ e^{-2\kappa t}$) / SE")
        for ax in (top, bot):
            pl.grid(ax)
    handles = [pl.line(pl.case_label(c) or "ensemble", color=col, lw=1.4) for c, col in zip(cases, colors, strict=True)]
    if len(fields) > 1 or fields[0] is not None:
        handles += [
            pl.line(str(f), color="k", ls=pl.FIELD_LS.get(str(f), "-"), lw=1.4) for f in fields if f is not None
        ]
    handles += _se_handles()
    handles.append(pl.line(r"$e^{-2\kappa t}$ (top), 0 (bottom)", ls=":", lw=1.0))
    pl.legend_below(fig, handles, ncols=3)
    return fig


def _se_handles() -> list:
    """Legend entries of the +-3 SE band (top panels) and of the band of the standardized residuals (bottom)."""
    from matplotlib.patches import Patch

    return [
        Patch(facecolor="0.5", alpha=0.35, edgecolor="k", lw=0.6, label=r"top: mean $\pm 3$ standard errors (SE)"),
        Patch(facecolor="0.86", edgecolor="0.45", lw=0.8, label=r"bottom: $|$residual$|/$SE $\leq 3$"),
    ]


def fig_noise_stationary(ds: xr.Dataset) -> Figure:
    """LM §4.2: variance per coordinate and E|G(t)|^2 of the OU ensembles (loss = none) against the exact values.

    ``ds`` is ``results/langevin.nc``; ``coord_var_exact``, ``coord_var_em`` and ``G2_exact`` are defined for
    loss = none only (``<name>_available`` masks in a sweep with both losses). Top left: the variance per real
    coordinate (``coord_var``, log scale; 0 at t = 0, left out) with its +-3 SE band against the exact OU variance
    (dashed); for kappa > 0 the corrected stationary value 1/(beta kappa) (thin solid) and the printed (4.3)
    value 1/(2 beta kappa) (dotted); no stationary line for kappa = 0. Top right: ``G2_mean`` = E|G(t)|^2 with
    its band against ``G2_exact``, the exact value for the Euler-Maruyama chain. Bottom: the standardized
    residuals from the exact values of the Euler-Maruyama chain, (estimate - ``coord_var_em``) /
    ``coord_var_se`` and (estimate - ``G2_exact``) / ``G2_se``, with the band |residual| <= 3 shaded (t = 0,
    where the SE is zero or round-off, left out). Colour: (kappa, beta); line style: field; first N, d, seed
    and dt.
    """
    pl = drawing_toolkit()
    if "loss" in ds.dims:
        if "none" not in [str(v) for v in ds["loss"].values]:
            return pl.message("no OU ensembles (loss = none) in this dataset")
        ou = ds.sel(loss="none")
    else:
        ou = ds
    cases = _noise_cases(ou)
    colors = pl.colors(len(cases))
    fields = pl.coords(ou, "field")
    fig, axes = pl.figure(2, nrows=2, height=4.9, sharex="col")
    (a_var, a_g2, d_var, d_g2) = axes
    for case, color in zip(cases, colors, strict=True):
        for field in fields:
            one = pl.one(ou, {**case, "field": field}, keep=("t",))
            ls = pl.FIELD_LS.get(str(field), "-")
            t_all = np.asarray(one["t"].values, dtype=float)
            kappa = pl.scalar(one["kappa"]) if "kappa" in one.coords else 0.0
            beta = pl.scalar(one["beta"]) if "beta" in one.coords else np.nan
            ok = pl.available(one, "coord_var") & (np.asarray(one["coord_var"].values, dtype=float) > 0)
            ok &= t_all > t_all[0]  # every path starts at W_0: no variance at t = 0
            if ok.any():
                t, v, vse = t_all[ok], one["coord_var"].values[ok], one["coord_var_se"].values[ok]
                pl.band(a_var, t, v, vse, color, ls=ls)
                if "coord_var_exact" in one:
                    okx = ok & pl.available(one, "coord_var_exact")
                    a_var.plot(t_all[okx], one["coord_var_exact"].values[okx], color="k", ls="--", lw=0.9)
                if "coord_var_em" in one:
                    oke = ok & pl.available(one, "coord_var_em")
                    pl.zscore(
                        d_var,
                        t_all[oke],
                        one["coord_var"].values[oke],
                        one["coord_var_se"].values[oke],
                        one["coord_var_em"].values[oke],
                        color,
                        ls,
                    )
                if kappa > 0 and np.isfinite(beta):
                    a_var.axhline(1 / (beta * kappa), color=color, ls="-", lw=0.7, alpha=0.8)
                    a_var.axhline(1 / (2 * beta * kappa), color=color, ls=":", lw=1.2)
            if "G2_exact" in one:
                ok = pl.available(one, "G2_mean") & pl.available(one, "G2_exact")
                if ok.any():
                    t, g2, g2se = t_all[ok], one["G2_mean"].values[ok], one["G2_se"].values[ok]
                    pl.band(a_g2, t, g2, g2se, color, ls=ls)
                    a_g2.plot(t, one["G2_exact"].values[ok], color="k", ls="--", lw=0.9)
                    pl.zscore(d_g2, t, g2, g2se, one["G2_exact"].values[ok], color, ls)
    a_var.set(ylabel="variance per real coordinate", yscale="log")
    a_var.set_title(r"(a) coordinates of $\mathbf{W}(t)$")
    a_g2.set(ylabel=r"$\mathbb{E}\Vert\mathbf{G}(t)\Vert^2$", yscale="log")
    a_g2.set_title(r"(b) moments $\mathbf{G}(t)$")
    d_var.set(xlabel="$t$")
    d_g2.set(xlabel="$t$")
    pl.zscore_axis(d_var, "(variance $-$ exact EM) / SE")
    pl.zscore_axis(d_g2, r"($\mathbb{E}\Vert\mathbf{G}\Vert^2$ $-$ exact EM) / SE")
    d_var.set_title("(c) residual from the exact EM chain")
    d_g2.set_title("(d) residual from the exact EM chain")
    for ax in axes:
        pl.grid(ax)
    handles = [pl.line(pl.case_label(c) or "ensemble", color=col, lw=1.4) for c, col in zip(cases, colors, strict=True)]
    handles += [pl.line(str(f), color="k", ls=pl.FIELD_LS.get(str(f), "-"), lw=1.4) for f in fields if f is not None]
    handles += _se_handles()
    handles.append(pl.line("exact OU / EM chain", ls="--", lw=0.9))
    handles.append(pl.line(r"stationary $1/(\beta\kappa)$", color="k", lw=0.7))
    handles.append(pl.line(r"printed (4.3): $1/(2\beta\kappa)$", color="k", ls=":", lw=1.2))
    pl.legend_below(fig, handles, ncols=4)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "noise_mean_G": fig_noise_mean_G,
    "noise_stationary": fig_noise_stationary,
}
