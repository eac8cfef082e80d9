"""The posterior on a fiber (LM §4.3, eq. 4.5): concentration on the minimizing orbit as beta grows.

One job samples exp(-beta kappa |W|^2 / 2) H^n(dW) on F_X (one beta) with ``n_chains`` random-walk Metropolis
chains in the group coordinates W = A.C (:func:`dln.sample_fiber_posterior`) and records E|G|^2 with its
standard error (integrated autocorrelation time), the Laplace prediction c(X)/(beta kappa)
(:func:`dln.posterior_laplace_G2`) and, for d = 1, N = 2, the quadrature reference (:func:`dln.posterior_quadrature_d1`)
with z-scores. Deterministic checks of the same job: the final states lie on F_X and reproduce the last
recorded observable; the log density against -beta kappa |W|^2/2 + (m/2) log det H (H from the block formulas
of LM Def. 8); the quadrature against an independent trapezoid rule; the autocorrelation time against a direct
sum; the Laplace constant for d = 1 against 4|x|.

The quadrature part (d = 1, N = 2, |x| = 1.3, both fields, beta_q in ``BETAS_QUADRATURE``) measures
beta kappa E[G^2] / x = 4 (1 + (m+1) / (2 beta kappa x)) + O(beta^-2), m = 1 (real) or 2 (complex): the
Hausdorff factor (2 x cosh 2u)^{m/2} of the density shifts the limit 4 at order 1/beta.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .. import _reference as ref
from .._linalg import sqnorm
from .._product import _moments
from .._random import random_matrix, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("N", 2, sweep=True),
    param("d", 2, sweep=True),
    param("field", "real", sweep=True),
    param("seed", 0, sweep=True),
    param("beta", 10.0, sweep=True),
    param("kappa", 1.0, sweep=True),
    param("n_chains", 100, kind="integer", minimum=1, maximum=1000000, description="number of Markov chains"),
    param("n_steps", 1000, kind="integer", minimum=1, maximum=100000000, description="number of MCMC steps per chain"),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Posterior on a fiber (LM section 4.3), all jobs"
SUMMARY = "Posterior concentration on the minimizing orbit: E|G|^2 against beta with standard errors."
REFERENCES = ["LM"]


#: The sweep of ``dln check``.
LEDGER: dict = {
    "sweep": {"beta": [10.0, 100.0, 1000.0], "field": ["real", "complex"], "d": [1, 2]},
    "fixed": {"N": 2, "n_chains": 100, "n_steps": 1000},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"field": ["real", "complex"], "d": [1, 2]},
    "fixed": {"N": 2, "beta": 10.0, "n_chains": 20, "n_steps": 100},
}

#: Relative cost of the LEDGER sweep.
COST = 6.0


#: |x| of the d = 1 problems, and the inverse temperatures of the quadrature part.
X_D1 = 1.3
BETAS_QUADRATURE = (1e2, 1e3, 1e4)


def target_matrix(p: dict) -> np.ndarray:
    """The conditioning end-to-end matrix X (depends on N, d, field, seed only; I + Gaussian, full rank)."""
    rng = rng_from_params(family=FAMILY, **{k: p[k] for k in ("N", "d", "field", "seed")})
    d = int(p["d"])
    X = np.eye(d) + random_matrix(rng, (d, d), p["field"]) / np.sqrt(d)
    if d == 1:
        X = X / np.abs(X) * X_D1
    return X


def quadrature_trapezoid(x: float, beta: float, kappa: float, field: str, n: int = 20001) -> float:
    """E[G^2] for d = 1, N = 2 by the trapezoid rule in u (exponentially accurate for this smooth, fast-decaying
    integrand): density exp(-beta kappa x cosh 2u) (2 x cosh 2u)^{m/2}, G = 2 x sinh 2u."""
    m = 1.0 if field == "real" else 2.0
    a = beta * kappa * x
    U = 0.5 * np.arccosh(1.0 + 60.0 / a)  # the density is below e^-60 of its peak beyond
    u = np.linspace(-U, U, n)
    w = np.exp(-a * (np.cosh(2 * u) - 1.0)) * np.cosh(2 * u) ** (m / 2)
    return float(np.sum(w * (2 * x * np.sinh(2 * u)) ** 2) / np.sum(w))


def autocorr_time_direct(y: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time by the direct sum of the chain-averaged autocovariance (Sokal's window)."""
    n = y.shape[0]
    z = y - y.mean()
    acov = np.array([np.mean(np.sum(z[: n - k] * z[k:], axis=0)) / n for k in range(n)])
    rho = acov / acov[0]
    tau = 1.0
    for M in range(n):
        tau = 2.0 * np.sum(rho[: M + 1]) - 1.0
        if M >= c * tau:
            break
    return float(max(tau, 1.0))


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One beta: MCMC estimate of E|G|^2 with its standard error, predictions and deterministic checks."""
    import dln

    p = SPEC.resolve(params, FAMILY)
    N, d, field, beta, kappa = p["N"], p["d"], p["field"], float(p["beta"]), float(p["kappa"])
    X = target_matrix(p)
    rng = rng_from_params(family=FAMILY, **p)

    def observe(W):
        return np.stack([sqnorm(_moments(W), 3), sqnorm(W, 3)], axis=-1)

    r = dln.sample_fiber_posterior(
        X, N, beta, kappa, rng, n_chains=p["n_chains"], n_steps=p["n_steps"], observe=observe, progress=progress
    )
    g = r["samples"][..., 0]
    g_mean, g_se, g_ess = dln.effective_sample_size(g)
    tau_lib = dln.integrated_autocorr_time(g)
    tau_ref = autocorr_time_direct(np.asarray(g, dtype=float))
    ess_ref = g.size / tau_ref
    ess_err = max(
        abs(g_ess - ess_ref) / ess_ref,
        abs(g_se - np.std(g) / np.sqrt(ess_ref)) * np.sqrt(ess_ref) / np.std(g),
        abs(g_mean - np.mean(g)) / abs(np.mean(g)),
    )
    c = float(dln.posterior_laplace_G2(X, N))
    W = r["W"]
    fiber = max(float(np.linalg.norm(ref.product(Wc) - X) / np.linalg.norm(X)) for Wc in W)
    last = float(np.max(np.abs(observe(W) - r["samples"][-1]) / np.abs(r["samples"][-1])))
    m = 1 if field == "real" else 2
    Wc = W[0]
    H = ref.H_matrix(Wc)
    logdet = np.linalg.slogdet(0.5 * (H + H.conj().T))[1]
    logp_ref = -beta * kappa * ref.inner(Wc, Wc) / 2.0 + 0.5 * m * logdet
    logp_lib = float(dln.fiber_log_density(Wc[None], beta, kappa)[0])
    data = {
        "EG2": _da(g_mean, (), "posterior mean of |G|^2 (MCMC)"),
        "EG2_se": _da(g_se, (), "standard error of EG2 (integrated autocorrelation time)"),
        "EG2_ess": _da(g_ess, (), "effective sample size of |G|^2"),
        "accept": _da(r["accept"], (), "Metropolis acceptance rate"),
        "laplace_c": _da(c, (), "Laplace constant c(X) = lim beta kappa E|G|^2 (dln.posterior_laplace_G2)"),
        "EG2_laplace": _da(c / (beta * kappa), (), "Laplace prediction c / (beta kappa)"),
        "z_laplace": _da(
            abs(beta * kappa * g_mean - c) / (beta * kappa * g_se), (), "|beta kappa EG2 - c(X)| / (beta kappa SE)"
        ),
        "fiber_err": _da(fiber, (), "max over chains of |phi(W) - X| / |X| at the final states"),
        "last_sample_err": _da(
            last, (), "max relative difference between the observable of the final states and the last recorded sample"
        ),
        "log_density_err": _da(
            abs(logp_lib - logp_ref) / abs(logp_ref),
            (),
            "|dln.fiber_log_density - (-beta kappa |W|^2/2 + (m/2) log det H)| / |reference|",
        ),
        "autocorr_err": _da(
            abs(tau_lib - tau_ref) / tau_ref, (), "|dln.integrated_autocorr_time - direct sum| / direct sum"
        ),
        "ess_err": _da(
            ess_err,
            (),
            "max relative error of dln.effective_sample_size (mean, SE, ESS) against "
            "n / tau and std / sqrt(ESS) with tau by the direct sum",
        ),
    }
    if d == 1 and N == 2:
        q = dln.posterior_quadrature_d1(X_D1, beta, kappa, field)
        data["EG2_quadrature"] = _da(q["EG2"], (), "E[G^2] by quadrature (dln.posterior_quadrature_d1)")
        data["z_quadrature"] = _da(abs(g_mean - q["EG2"]) / g_se, (), "|EG2 - quadrature| / SE")
        data["quadrature_err"] = _da(
            abs(q["EG2"] - quadrature_trapezoid(X_D1, beta, kappa, field)) / q["EG2"],
            (),
            "|dln.posterior_quadrature_d1 - trapezoid rule| / trapezoid",
        )
        data["laplace_d1_err"] = _da(abs(c - 4 * X_D1) / (4 * X_D1), (), "|c(x) - 4|x|| / 4|x| for d = 1, N = 2")
    # the quadrature part: the limit 4 and its 1/beta correction
    rows = []
    for fq in ("real", "complex"):
        rows.append([dln.posterior_quadrature_d1(X_D1, b, kappa, fq)["ratio"] for b in BETAS_QUADRATURE])
    data["quadrature_ratio"] = _da(
        np.array(rows),
        ("quad_field", "beta_q"),
        "beta kappa E[G^2] / |x| by quadrature, d = 1, N = 2, |x| = quadrature_x, this job's kappa",
    )
    data["quadrature_x"] = _da(X_D1, (), "|x| of the d = 1, N = 2 problems (quadrature part and d = 1 jobs)")
    ds = xr.Dataset(
        data,
        coords={
            "quad_field": (
                "quad_field",
                ["real", "complex"],
                {"long_name": "field of the quadrature part", "units": "1"},
            ),
            "beta_q": (
                "beta_q",
                np.array(BETAS_QUADRATURE),
                {"long_name": "inverse temperature of the quadrature part", "units": "1"},
            ),
        },
    )
    return finalize_job(
        ds,
        p,
        __name__,
        title="Posterior on a fiber (LM section 4.3)",
        summary="Gaussian prior exp(-beta kappa |W|^2/2) restricted to F_X with its Hausdorff measure, sampled by "
        "random-walk Metropolis on GL(d)^{N-1}; E|G|^2 -> 0 like c/(beta kappa).",
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def fig_posterior(ds: xr.Dataset) -> Figure:
    """LM §4.3: posterior mean E|G|^2 on the fiber against beta, with the Laplace prediction c/(beta kappa).

    ``ds`` is ``results/posterior.nc`` (dims beta, kappa, field, N, d, seed; ``quad_field``, ``beta_q`` for
    ``quadrature_ratio``). Left: ``EG2`` with +-2 standard errors (integrated autocorrelation time), the Laplace
    prediction ``EG2_laplace`` = c/(beta kappa) (dashed) and, where defined (d = 1, N = 2; mask
    ``EG2_quadrature_available``), the quadrature value (crosses). Middle: beta kappa E|G|^2 -> c (dashed
    ``laplace_c``). Right: the quadrature part, |beta kappa E[G^2]/|x| - 4| against beta (d = 1, N = 2) with a
    1/beta guide. Colour: (d, N); marker and line style: field.
    """
    from matplotlib.ticker import NullFormatter

    pl = drawing_toolkit()
    has_q = "quadrature_ratio" in ds
    fig, axes = pl.figure(3 if has_q else 2, height=3.0)
    ax1, ax2 = axes[:2]
    configs = pl.cases(ds, ["d", "N"]) or [{}]
    colors = pl.colors(len(configs))
    fields = pl.coords(ds, "field")
    offsets = pl.jitter(fields, 0.03)
    quad_drawn = False
    for config, color in zip(configs, colors, strict=True):
        for field in fields:
            for case in pl.cases(ds, ["kappa", "seed"]) or [{}]:
                one = pl.one(ds, {**config, **case, "field": field}, keep=("beta",))
                beta = np.atleast_1d(np.asarray(one["beta"].values, dtype=float))
                kappa = pl.scalar(one["kappa"]) if "kappa" in one.coords else 1.0
                eg2 = np.atleast_1d(np.asarray(one["EG2"].values, dtype=float))
                se = np.atleast_1d(np.asarray(one["EG2_se"].values, dtype=float))
                ok = np.atleast_1d(pl.available(one, "EG2"))
                if not ok.any():
                    continue
                st = {"color": color, "marker": pl.FIELD_MARKER.get(str(field), "o"), "ms": 4.5}
                if str(field) == "complex":
                    st["mfc"] = "none"
                xb = beta * np.exp(offsets[field])
                ax1.errorbar(xb[ok], eg2[ok], yerr=2 * se[ok], ls="none", capsize=2, elinewidth=1.0, **st)
                ls = pl.FIELD_LS.get(str(field), "-")
                ax1.plot(
                    beta[ok],
                    np.atleast_1d(one["EG2_laplace"].values)[ok],
                    color=color,
                    ls=ls,
                    lw=0.9,
                    alpha=0.8,
                    marker="_",
                    ms=9,
                )
                if "EG2_quadrature" in one:
                    okq = ok & np.atleast_1d(pl.available(one, "EG2_quadrature"))
                    if okq.any():
                        ax1.plot(beta[okq], np.atleast_1d(one["EG2_quadrature"].values)[okq], "x", color="k", ms=6)
                        quad_drawn = True
                ax2.errorbar(
                    xb[ok],
                    beta[ok] * kappa * eg2[ok],
                    yerr=2 * beta[ok] * kappa * se[ok],
                    ls="none",
                    capsize=2,
                    elinewidth=1.0,
                    **st,
                )
                ax2.plot(beta[ok], beta[ok] * kappa * eg2[ok], color=color, lw=0.6, alpha=0.6, ls=ls)
                ax2.axhline(pl.scalar(one["laplace_c"]), color=color, ls=ls, lw=0.9, alpha=0.8)
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel=r"inverse temperature $\beta$",
        ylabel=r"posterior $\mathbb{E}\Vert\mathbf{G}\Vert^2$",
    )
    ax1.set_title(r"(a) $\mathbb{E}\Vert\mathbf{G}\Vert^2 \to 0$ like $c/(\beta\kappa)$")
    ax2.set(
        xscale="log", xlabel=r"inverse temperature $\beta$", ylabel=r"$\beta\kappa\,\mathbb{E}\Vert\mathbf{G}\Vert^2$"
    )
    ax2.set_title(r"(b) limit $c$ (Laplace)")
    handles = [
        pl.line(pl.case_label(c) or "posterior", color=col, lw=1.2) for c, col in zip(configs, colors, strict=True)
    ]
    handles += [
        pl.line(
            str(f),
            color="k",
            ls=pl.FIELD_LS.get(str(f), "-"),
            lw=0.9,
            marker=pl.FIELD_MARKER.get(str(f), "o"),
            mfc="none" if str(f) == "complex" else "k",
        )
        for f in fields
        if f is not None
    ]
    handles.append(pl.line(r"MCMC $\pm 2$ SE", ls="none", marker="|", ms=8))
    handles.append(pl.line(r"Laplace $c/(\beta\kappa)$, $c$", color="k", ls="--", lw=0.9, marker="_", ms=9))
    if quad_drawn:
        handles.append(pl.line("quadrature ($d = 1$, $N = 2$)", ls="none", marker="x", ms=6))
    if has_q:
        ax3 = axes[2]
        q = ds["quadrature_ratio"]
        keep = ("quad_field", "beta_q")
        kappas = pl.coords(ds, "kappa")
        for j, kappa in enumerate(kappas):
            one = pl.one(q, {"kappa": kappa}, keep=keep)
            bq = np.asarray(one["beta_q"].values, dtype=float)
            for qf in pl.coords(one, "quad_field"):
                r = np.asarray(pl.sel(one, {"quad_field": qf}).values, dtype=float)
                st = pl.FIELD_STYLE.get(str(qf), {"color": f"C{j}", "marker": "o"})
                ax3.loglog(bq, pl.pos(np.abs(r - 4.0)), "-", lw=1.0, ms=5, **st)
        b = np.asarray(q["beta_q"].values, dtype=float)
        r_all = pl.pos(np.abs(np.asarray(pl.one(q, {}, keep=keep).values, dtype=float) - 4.0))
        if np.isfinite(r_all).any():
            a = np.nanmax(r_all * b[None, :] if r_all.ndim == 2 else r_all * b)
            ax3.loglog(b, 1.5 * a / b, color="k", ls=":", lw=1.0)
        ax3.set(xlabel=r"inverse temperature $\beta$", ylabel=r"$|\beta\kappa\,\mathbb{E}[G^2]/|x| - 4|$")
        ax3.set_title("(c) quadrature, $d = 1$, $N = 2$")
        ax3.xaxis.set_minor_formatter(NullFormatter())
        handles += [
            pl.line(f"quadrature, {f}", lw=1.0, **pl.FIELD_STYLE.get(str(f), {}))
            for f in pl.coords(q, "quad_field")
            if f is not None
        ]
        handles.append(pl.line(r"$\propto 1/\beta$", ls=":", lw=1.0))
    for ax in axes:
        pl.grid(ax)
    ax1.xaxis.set_minor_formatter(NullFormatter())
    ax2.xaxis.set_minor_formatter(NullFormatter())
    pl.legend_below(fig, handles, ncols=4)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "posterior": fig_posterior,
}
