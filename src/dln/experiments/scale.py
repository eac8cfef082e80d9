"""LM Theorem 2 and Corollary 1 at network scale: the regularizing and Kirwan-Ness flows at widths d >= 32.

One job integrates, from ``n_seeds`` starts W_0 of one kind (one batch), the regularizing flow W' = -grad_{F_X}
|W|^2/2 (LM eq. 1.17, Theorem 2) with :func:`dln.regularizing_flow` over [0, T_reg], and the Kirwan-Ness flow
W'_k = 2 (W_k G_{k-1} - G_k W_k) (LM eq. 1.22, Corollary 1) with :func:`dln.kirwan_ness_flow`. Both integrators
step on GL(d)^{N-1}, so X is conserved to round-off. The starts (:func:`dln._fiber_inputs.fiber_test_layers`):

- ``gaussian``: W_k = Z_k / sqrt(d), iid Gaussian Z_k (the usual initialization of a deep network; cond(X)
  grows exponentially with N, and at d = 32, N = 16 X is numerically singular);
- ``near_identity``: W_k = I + 0.5 Z_k / sqrt(d);
- ``far_from_balanced``: X = U diag(sigma) V^* with sigma log-spaced from 1 to 1/``cond``, moved along its
  orbit by A_k = Q_k diag(10^e) R_k with e evenly spaced over [-spread/2, spread/2] (Haar Q_k, R_k; ensemble
  ``"unbalanced"``): every A_k has condition number 10^spread, the layers' singular values spread over several
  decades, and |W_0|^2 is several times its minimum on the fiber. The regularizing flow's steps need the solves
  of H(b) = G to be accurate to about ``rtol_reg``: with layers of condition number beyond about 1e3
  (cond^{1/N} 10^{2 spread}) they are not, and its step sizes collapse (seen at N = 3, cond = 1e8; hence the
  smaller ``cond`` of the LEDGER and MUTATION sweeps, whose N is small).

Recorded against the starts W_0 (G_0 = G(W_0), X_0 = phi(W_0)), never against the integrators' first output:

- regularizing flow (LM Thm 2): |G(t) - G_0 e^{-2t}| / |G_0 e^{-2t}| and |X(t) - X_0| / |X_0| at the saved
  times, the decay rate of |G(t)| fitted over [0, T_reg] (2), the excess (|W(T)|^2 - m) / m over the minimum
  m = N sum_i sigma_i(X_0)^{2/N} (LM Thm 1). A start with cond(X_0) > ``reg_max_cond`` (default
  :data:`REG_MAX_COND`) is not integrated (its fiber is numerically singular: the flow's solves of H(b) = G would
  lose more digits than the check allows); ``reg_run`` says which were;
- Kirwan-Ness flow (LM Cor 1, eq. 2.31): |G(t)| and the drift of X at the saved times, the largest increase of
  |G| between saved times (|G| decreases along the flow, eq. 2.31), |G(T)| / |G_0| and the distance of the
  layers' singular values at T to sigma_i(X_0)^{1/N} (their values at the balanced limit). The flow runs to
  T = 10 + efolds / r*, r* = 16 sigma_min(X_0)^{2/N} sin^2(pi / 2N) the slowest rate of the flow linearized at
  the limit (:func:`dln.experiments.kirwan_ness.slowest_rate`), capped at ``T_kn_max``; ``kn_full_horizon``
  says whether the cap was not needed, i.e. whether the slowest mode decayed by e^{-efolds};
- the starts: cond(X_0), the condition numbers of the layers, |G_0| / |W_0|^2 and |W_0|^2 / m - 1;
- the cost: accepted steps and right-hand-side evaluations of each flow, and its wall time ``seconds``
  (information only: like the ledger's run times it is left out of data hashes and comparisons, see
  :data:`dln.repro.HASH_IGNORE_VARS`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .._fiber_inputs import fiber_test_layers
from .._linalg import norm, sqnorm
from .._product import end_to_end, moments
from .._random import rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job, flow_progress
from ._conventions import flag_variable as _flag
from ._spec import COMMON, Spec, param
from .kirwan_ness import slowest_rate
from .regularizing_flow import fit_rate

FAMILY = __name__.rsplit(".", 1)[-1]

#: The kinds of start, and the ensemble of :func:`dln._fiber_inputs.fiber_test_layers` each is drawn from.
STARTS: dict[str, str] = {"gaussian": "gaussian", "near_identity": "near_identity", "far_from_balanced": "unbalanced"}

#: The flows of a job (the dimension ``flow`` of the cost variables).
FLOWS: tuple[str, ...] = ("regularizing", "kirwan_ness")

#: The default of ``reg_max_cond``: starts with cond(X_0) above it are not integrated by the regularizing flow. The
#: solves of H(b) = G lose about log10 cond(X_0) of the 16 digits, and above 1e12 fewer remain than the 1e-8
#: accuracy of G(t) checked (the library itself refuses cond(X_0) > 1e14).
REG_MAX_COND = 1e12

SPEC = Spec(
    param("N", 8, sweep=True, maximum=64),
    param("d", 32, sweep=True, maximum=256),
    param("field", "real", sweep=True),
    param(
        "start",
        "near_identity",
        sweep=True,
        kind="string",
        choices=tuple(STARTS),
        description="initial layers: gaussian (Z/sqrt(d)), near_identity (I + 0.5 Z/sqrt(d)), or far_from_balanced "
        "(X with log-spaced singular values moved along its orbit by A_k of condition number 10^spread)",
    ),
    param("n_seeds", 1, maximum=64),
    param(
        "T_reg",
        2.0,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=5,
        description="final time of the regularizing flow (|G| decays like exp(-2t))",
    ),
    param("efolds", 20.0, description=COMMON["efolds"]["description"] + " (capped at T_kn_max)"),
    param(
        "T_kn_max",
        100.0,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=100000,
        description="largest final time of the Kirwan-Ness flow",
    ),
    param("n_t", 11, minimum=5, maximum=1001, description="number of saved times of each flow"),
    param(
        "rtol_reg",
        1e-10,
        kind="number",
        minimum=1e-13,
        maximum=1e-6,
        description="relative tolerance of the regularizing flow's integrator (local error of the group increment)",
    ),
    param(
        "rtol_kn",
        1e-9,
        kind="number",
        minimum=1e-13,
        maximum=1e-6,
        description="relative tolerance of the Kirwan-Ness flow's integrator (local error of the group increment)",
    ),
    param(
        "reg_max_cond",
        REG_MAX_COND,
        kind="number",
        minimum=1,
        maximum=1e14,
        description="starts with cond(X_0) above this are not integrated by the regularizing flow (numerically "
        "singular fiber); the Kirwan-Ness flow runs from every start",
    ),
    param(
        "cond",
        1e8,
        kind="number",
        minimum=1,
        maximum=1e12,
        description="condition number of X for far_from_balanced starts (singular values log-spaced from 1 to 1/cond)",
    ),
    param(
        "spread",
        1.0,
        kind="number",
        minimum=0,
        maximum=3,
        description="decades of singular values of each A_k moving a far_from_balanced start along its orbit "
        "(cond(A_k) = 10^spread)",
    ),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Regularizing and Kirwan-Ness flows at network scale (LM Thm 2, Cor 1), all jobs"
SUMMARY = (
    "G(t) = G_0 exp(-2t) and X(t) = X_0 along the regularizing flow, and the decrease and convergence of |G| along "
    "the Kirwan-Ness flow, from Gaussian, near-identity and far-from-balanced starts at widths d >= 32; steps and "
    "wall times of the integrators."
)
REFERENCES = ["LM"]

#: The sweep of ``dln check``: every start, both fields, 2 sizes, 3 seeds each (small widths: the workflow's
#: configurations run the network sizes).
LEDGER: dict = {
    "sweep": {"d": [6, 10], "field": ["real", "complex"], "start": list(STARTS)},
    "fixed": {"N": 4, "n_seeds": 3, "T_reg": 1.0, "efolds": 20.0, "T_kn_max": 50.0, "n_t": 6, "cond": 1e6},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"field": ["real", "complex"], "start": ["near_identity", "far_from_balanced"]},
    "fixed": {"N": 3, "d": 4, "n_seeds": 1, "T_reg": 1.0, "efolds": 20.0, "T_kn_max": 50.0, "n_t": 6, "cond": 1e4},
}

#: Relative cost of the LEDGER sweep.
COST = 30.0


def _layer_conds(W: np.ndarray) -> np.ndarray:
    """cond(W_k) of every layer, shape (..., N)."""
    s = np.linalg.svd(W, compute_uv=False)
    return s[..., 0] / s[..., -1]


def initial_layers(p: dict, rng: np.random.Generator) -> np.ndarray:
    """Starts of shape (n_seeds, N, d, d) of the kind ``p["start"]`` (see the module docstring)."""
    return fiber_test_layers(
        rng,
        int(p["N"]),
        int(p["d"]),
        STARTS[p["start"]],
        cond=float(p["cond"]),
        field=p["field"],
        batch=(int(p["n_seeds"]),),
        spread=float(p["spread"]),
    )


def _part(progress, lo: float, hi: float):
    """``progress`` of a job whose fraction [lo, hi] is one flow (None stays None)."""
    if progress is None:
        return None
    return flow_progress(lambda f: progress(lo + (hi - lo) * f))


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One job: both flows from ``n_seeds`` starts of one kind (see the module docstring).

    Returns
    -------
    xarray.Dataset with dims ``seed``, ``t`` (saved times of the regularizing flow), ``step`` (saved times of the
    Kirwan-Ness flow, ``kn_t``), ``flow`` (the cost variables).
    """
    import dln

    p = SPEC.resolve(params, FAMILY)
    N, d, S, n_t = p["N"], p["d"], p["n_seeds"], p["n_t"]
    rng = rng_from_params(family=FAMILY, N=N, d=d, field=p["field"], start=p["start"])
    W0 = initial_layers(p, rng)
    X0 = end_to_end(W0)
    G0 = moments(W0)
    sigma = np.linalg.svd(X0, compute_uv=False)
    cond_X = sigma[:, 0] / sigma[:, -1]
    minimum = N * np.sum(sigma ** (2.0 / N), axis=-1)
    steps, evals, seconds = np.zeros(2, int), np.zeros(2, int), np.zeros(2)

    # the regularizing flow (LM Thm 2), from the starts whose fiber is numerically smooth
    t = np.linspace(0.0, float(p["T_reg"]), n_t)
    run = cond_X <= float(p["reg_max_cond"])
    G_rel = np.zeros((S, n_t))
    X_drift = np.zeros((S, n_t))
    G_norm = np.zeros((S, n_t))
    rate = np.zeros(S)
    excess = np.zeros(S)
    if run.any():
        stats: dict = {}
        t0 = time.perf_counter()
        Wt = dln.regularizing_flow(
            W0[run], t, rtol=float(p["rtol_reg"]), stats=stats, progress=_part(progress, 0.0, 0.5)
        )
        seconds[0] = time.perf_counter() - t0
        steps[0], evals[0] = int(stats["n_steps"]), int(stats["n_evals"])
        Wt = np.moveaxis(np.asarray(Wt), 0, 1)  # (seed, t, N, d, d)
        G = moments(Wt)
        pred = G0[run][:, None] * np.exp(-2.0 * t)[None, :, None, None, None]
        G_rel[run] = norm(G - pred, 3) / norm(pred, 3)
        X_drift[run] = norm(end_to_end(Wt) - X0[run][:, None]) / norm(X0[run][:, None])
        G_norm[run] = norm(G, 3)
        rate[run] = [-fit_rate(t, g)[0] for g in G_norm[run]]
        excess[run] = (sqnorm(Wt[:, -1], 3) - minimum[run]) / minimum[run]

    # the Kirwan-Ness flow (LM Cor 1), from every start (it is defined on all of M_d^N)
    r_star = slowest_rate(sigma, N)
    horizon = 10.0 + float(p["efolds"]) / max(float(np.min(r_star)), 1e-300)
    T_kn = min(horizon, float(p["T_kn_max"]))
    tk = np.linspace(0.0, T_kn, n_t)
    stats = {}
    t0 = time.perf_counter()
    Wk = dln.kirwan_ness_flow(W0, tk, rtol=float(p["rtol_kn"]), stats=stats, progress=_part(progress, 0.5, 1.0))
    seconds[1] = time.perf_counter() - t0
    steps[1], evals[1] = int(stats["n_steps"]), int(stats["n_evals"])
    Wk = np.moveaxis(np.asarray(Wk), 0, 1)  # (seed, step, N, d, d)
    Gk = norm(moments(Wk), 3)
    G0n = norm(G0, 3)
    kn_drift = norm(end_to_end(Wk) - X0[:, None]) / norm(X0[:, None])
    increase = np.max(np.maximum(np.diff(Gk, axis=1), 0.0), axis=1) / G0n
    sv = np.linalg.svd(Wk[:, -1], compute_uv=False)  # (seed, N, d)
    target = sigma ** (1.0 / N)
    sv_error = np.max(np.abs(sv - target[:, None, :]), axis=(-2, -1)) / np.max(target, axis=-1)

    lc = _layer_conds(W0)
    data = {
        "X_cond": _da(cond_X, ("seed",), "condition number of X_0 = phi(W_0)"),
        "layer_cond_max": _da(np.max(lc, axis=-1), ("seed",), "largest condition number of a layer W_k of the start"),
        "layer_cond_min": _da(np.min(lc, axis=-1), ("seed",), "smallest condition number of a layer W_k of the start"),
        "G_initial_rel": _da(G0n / sqnorm(W0, 3), ("seed",), "|G(W_0)| / |W_0|^2 of the start"),
        "W_excess_initial": _da(
            (sqnorm(W0, 3) - minimum) / minimum,
            ("seed",),
            "(|W_0|^2 - m) / m, m = N sum_i sigma_i(X_0)^(2/N) the minimum of |W|^2 on the fiber (LM Thm 1)",
        ),
        "reg_run": _flag(
            _da(
                run.astype(np.int8),
                ("seed",),
                f"1 where the regularizing flow was integrated (cond(X_0) <= {float(p['reg_max_cond']):g}), else 0 "
                "and its variables (those naming reg_run in ancillary_variables) are 0, not data",
            ),
            "not_integrated integrated",
        ),
        "reg_G_rel_err": _da(
            G_rel, ("seed", "t"), "|G(t) - G_0 exp(-2t)| / |G_0 exp(-2t)| along the regularizing flow, G_0 = G(W_0)"
        ),
        "reg_X_drift": _da(X_drift, ("seed", "t"), "|X(t) - X_0| / |X_0| along the regularizing flow, X_0 = phi(W_0)"),
        "reg_G_norm": _da(G_norm, ("seed", "t"), "|G(t)| along the regularizing flow"),
        "reg_decay_rate": _da(rate, ("seed",), "least-squares decay rate of log|G(t)| over [0, T_reg] (LM Thm 2: 2)"),
        "reg_W_excess_final": _da(excess, ("seed",), "(|W(T_reg)|^2 - m) / m at the end of the regularizing flow"),
        "kn_t": _da(tk, ("step",), "flow time of the saved states of the Kirwan-Ness flow"),
        "T_kn": _da(T_kn, (), "final time of the Kirwan-Ness flow: 10 + efolds / min r*, capped at T_kn_max"),
        "kn_full_horizon": _da(
            np.int8(horizon <= float(p["T_kn_max"])),
            (),
            "1 if the Kirwan-Ness flow ran to 10 + efolds / min r* (the cap T_kn_max was not needed)",
        ),
        "kn_G_norm": _da(Gk, ("seed", "step"), "|G(t)| along the Kirwan-Ness flow"),
        "kn_X_drift": _da(kn_drift, ("seed", "step"), "|X(t) - X_0| / |X_0| along the Kirwan-Ness flow"),
        "kn_G_increase_max": _da(
            increase, ("seed",), "largest increase of |G| between saved times of the Kirwan-Ness flow, over |G(W_0)|"
        ),
        "kn_G_final_rel": _da(Gk[:, -1] / G0n, ("seed",), "|G(T)| / |G(W_0)| at the end of the Kirwan-Ness flow"),
        "kn_sv_error": _da(
            sv_error,
            ("seed",),
            "max |sigma(W_k(T)) - sigma(X_0)^(1/N)| / max sigma(X_0)^(1/N) at the end of the Kirwan-Ness flow",
        ),
        "r_star": _da(r_star, ("seed",), "predicted slowest decay rate 16 sigma_min(X_0)^(2/N) sin^2(pi/2N)"),
        "n_steps": _da(steps, ("flow",), "accepted steps of the flow's integrator (0: not run)"),
        "n_evals": _da(evals, ("flow",), "right-hand-side evaluations of the flow's integrator"),
        "seconds": _da(seconds, ("flow",), "wall time of the flow's integration (information only, not compared)", "s"),
    }
    for name in ("reg_G_rel_err", "reg_X_drift", "reg_G_norm", "reg_decay_rate", "reg_W_excess_final"):
        data[name].attrs["ancillary_variables"] = "reg_run"  # CF: the status flag that says where it is data
    ds = xr.Dataset(
        data,
        coords={
            "t": t,
            "seed": np.arange(S),
            "step": (
                "step",
                np.arange(n_t),
                {"long_name": "index of the saved time of the Kirwan-Ness flow", "units": "1"},
            ),
            "flow": ("flow", list(FLOWS), {"long_name": "flow: regularizing or kirwan_ness", "units": "1"}),
        },
    )
    return finalize_job(
        ds,
        p,
        __name__,
        title=f"Regularizing and Kirwan-Ness flows at scale: N={N}, d={d}, {p['field']}, {p['start']} starts",
        summary="G(t) = G_0 exp(-2t) and X(t) = X_0 along the regularizing flow (LM Thm 2); the decrease and "
        "convergence of |G| along the Kirwan-Ness flow (LM Cor 1); steps and wall times of both integrators.",
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function gets the toolkit dln.plotting from drawing_toolkit() when it runs, so importing this module loads
# no Matplotlib.

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


_START_COLORS = {"gaussian": "C0", "near_identity": "C2", "far_from_balanced": "C3"}
_FLOW_MARKERS = {"regularizing": "o", "kirwan_ness": "^"}


def fig_scale_flows(ds: xr.Dataset) -> Figure:
    """LM Theorem 2 and Corollary 1 at network scale, and what the integrations cost.

    ``ds`` is ``results/scale.nc`` (dims N, d, field, start, seed, t, step, flow). (a) ``reg_G_rel_err`` =
    |G(t) - G_0 e^{-2t}| / |G_0 e^{-2t}| of every integrated run (``reg_run``) of the regularizing flow; (b)
    ``kn_G_norm`` / |G_0| along the Kirwan-Ness flow against ``kn_t``, every run; (c) accepted steps ``n_steps``
    and (d) wall time ``seconds`` of each job and flow (circles: regularizing, triangles: Kirwan-Ness; filled:
    real, open: complex), grouped by (d, N). Colour: the kind of start; line style: field.
    """
    pl = drawing_toolkit()
    fig, axes = pl.figure(2, 2, width=pl.WIDTH, height=5.2)
    ax1, ax2, ax3, ax4 = axes
    t = np.asarray(ds["t"].values, dtype=float)
    sizes = pl.cases(ds, ("d", "N")) or [{}]
    starts = pl.coords(ds, "start")
    fields = pl.coords(ds, "field")
    seeds = pl.coords(ds, "seed")
    width = 0.8 / max(len(starts) * len(fields), 1)
    for g, size in enumerate(sizes):
        for j, start in enumerate(starts):
            color = _START_COLORS.get(str(start), "k")
            for f, field in enumerate(fields):
                at = {**size, "start": start, "field": field}
                ls = pl.FIELD_LS.get(str(field), "-")
                for seed in seeds:
                    one = pl.one(ds, {**at, "seed": seed}, keep=("t", "step", "flow"))
                    if pl.scalar(one["reg_run"]) > 0:
                        ax1.semilogy(t, pl.pos(one["reg_G_rel_err"].values), color=color, ls=ls, lw=0.9, alpha=0.85)
                    tk = np.asarray(one["kn_t"].values, dtype=float)
                    Gk = np.asarray(one["kn_G_norm"].values, dtype=float)
                    if Gk[0] > 0:
                        ax2.semilogy(tk, pl.pos(Gk / Gk[0]), color=color, ls=ls, lw=0.9, alpha=0.85)
                x = g - 0.4 + width * (j * len(fields) + f + 0.5)
                job = pl.one(ds, at, keep=("flow",))
                for flow in pl.coords(job, "flow"):
                    steps = pl.scalar(pl.sel(job["n_steps"], {"flow": flow}))
                    secs = pl.scalar(pl.sel(job["seconds"], {"flow": flow}))
                    if steps <= 0:
                        continue
                    kw = {
                        "marker": _FLOW_MARKERS.get(str(flow), "s"),
                        "color": color,
                        "mfc": color if str(field) != "complex" else "none",
                        "ms": 5,
                        "ls": "none",
                    }
                    ax3.semilogy([x], [steps], **kw)
                    ax4.semilogy([x], [secs], **kw)
    ax1.set(xlabel="$t$", ylabel="relative error")
    ax1.set_title(r"(a) regularizing: $\mathbf{G}(t)$ vs $\mathbf{G}_0e^{-2t}$")
    ax2.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert / \Vert\mathbf{G}_0\Vert$")
    ax2.set_title(r"(b) Kirwan-Ness: decay of $\Vert\mathbf{G}\Vert$")
    labels = [pl.case_label(size) or "all" for size in sizes]
    for ax, title, ylabel in ((ax3, "(c) accepted steps per job", "steps"), (ax4, "(d) wall time per job", "s")):
        ax.set_xticks(range(len(sizes)), labels)
        ax.set_xlim(-0.5, len(sizes) - 0.5)
        ax.set(xlabel="job (width, depth)", ylabel=ylabel)
        ax.set_title(title)
    ax1.set_xlim(t[0], t[-1])
    for ax in axes:
        pl.grid(ax)
    handles = [pl.line(str(s).replace("_", "-"), color=_START_COLORS.get(str(s), "k"), lw=1.2) for s in starts]
    handles += [pl.line(str(f), ls=pl.FIELD_LS.get(str(f), "-"), lw=1.2) for f in fields if f is not None]
    handles += [
        pl.line("regularizing flow", marker="o", ls="none"),
        pl.line("Kirwan-Ness flow", marker="^", ls="none"),
        pl.line("complex (open)", marker="o", mfc="none", ls="none"),
    ]
    pl.legend_below(fig, handles, ncols=4)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "scale_flows": fig_scale_flows,
}
