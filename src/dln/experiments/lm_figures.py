"""Trajectories for LM Figures 1.1-1.3 (d = 1, N = 2, real) and the decay of Fig. 1.2 (right).

Computed with the flows of :mod:`dln` (the book draws them in the ``(w_1, w_2)`` plane):

- regularizing flows (LM eq. 1.17) from points ``(sqrt|x| e^u, sign(x) sqrt|x| e^-u)`` of the fibers
  ``w_2 w_1 = x``: each stays on its fiber and converges to the balanced variety ``w_2 = +-w_1``;
- learning flows (LM eq. 1.2) for ``E(x) = (x - x_target)^2 / 2`` from starts with several moments
  ``G = w_1^2 - w_2^2``: each stays on its level set of ``G``;
- the reduced end-to-end flow ``x' = -N |x|^{2-2/N} E'(x)`` (LM Remark 5) from the balanced start,
  compared with ``x(t) = w_2 w_1`` along the balanced learning trajectory;
- ``|G(t)|`` of the regularizing flow for d = 3, N = 4 from real and complex Gaussian layers.

The Snakemake rule ``lm_figures`` writes it to ``results/lm_figures.nc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

import dln

from .._lm_curves import regularizing_moment_decay
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param(
        "T_reg",
        3.0,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        description="final time of the regularizing flows",
    ),
    param(
        "T_learn", 3.0, kind="number", minimum=0, exclusive_minimum=True, description="final time of the learning flows"
    ),
    param("n_t", 101),
    param("x_target", 1.5, kind="number", description="target x of the loss E(x) = (x - x_target)^2 / 2"),
    param(
        "fibers", [0.5, 1.0, 2.0, -1.0], kind="array", description="the fibers w_2 w_1 = x of the regularizing starts"
    ),
    param("u_starts", [-1.1, -0.55, 0.55, 1.1], kind="array", description="positions u of the starts on each fiber"),
    param(
        "learn_starts",
        [[0.5, 0.5], [1.2, 0.3], [0.3, 1.2], [1.6, -0.4], [-0.5, -0.5], [-1.0, 0.2]],
        kind="array",
        description="starts (w_1, w_2) of the learning flows",
    ),
    param("rate_N", 4, kind="integer", minimum=2, maximum=64, description="depth of the |G(t)| decay runs"),
    param("rate_d", 3, kind="integer", minimum=1, maximum=16, description="width of the |G(t)| decay runs"),
    param("rate_runs", 3, kind="integer", minimum=1, maximum=100, description="number of |G(t)| decay runs per field"),
)

#: Title, summary and references of the family's dataset.
TITLE = "Planar trajectories of the DLN for LM Figures 1.1-1.3 (d = 1, N = 2)"
SUMMARY = (
    "Regularizing flows on the fibers w2 w1 = x and learning flows for E = (x - x_target)^2/2 on the "
    "level sets of G = w1^2 - w2^2, computed with dln.regularizing_flow, dln.learning_flow and "
    "dln.end_to_end_flow; the learning trajectory 0 starts balanced. Also |G(t)| along the regularizing "
    "flow for d = 3, N = 4 from Gaussian layers (LM Figure 1.2, right)."
)
REFERENCES = ["LM"]


def regularizing_starts(P: dict) -> np.ndarray:
    """Starts (sqrt|x| e^u, sign(x) sqrt|x| e^-u) on the fibers w2 w1 = x, shape (n, 2)."""
    starts = []
    for x in P["fibers"]:
        r = np.sqrt(abs(x))
        for u in P["u_starts"]:
            starts.append([r * np.exp(u), np.sign(x) * r * np.exp(-u)])
    return np.array(starts)  # (n, 2): columns w1, w2


#: The sweep of ``dln check`` (one job: the figures' parameters).
LEDGER: dict = {"sweep": {}, "fixed": {}}

#: The mutation tests' sweep.
MUTATION: dict = {"sweep": {}, "fixed": {"n_t": 31, "rate_runs": 1}}

#: Relative cost of the LEDGER sweep.
COST = 2.0


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """Compute the LM Figure 1.1-1.3 data (see the module docstring); ``params`` update the defaults of :data:`SPEC`."""
    P = SPEC.resolve(params, FAMILY)
    N, xt = 2, P["x_target"]  # the figures' network: d = 1, N = 2, real
    t_reg = np.linspace(0.0, P["T_reg"], P["n_t"])
    t_learn = np.linspace(0.0, P["T_learn"], P["n_t"])

    reg0 = regularizing_starts(P)
    W0 = np.zeros((len(reg0), N, 1, 1))
    W0[:, 0, 0, 0] = reg0[:, 0]  # W_1 = w1
    W0[:, 1, 0, 0] = reg0[:, 1]  # W_2 = w2
    reg = dln.regularizing_flow(W0, t_reg)[..., 0, 0]  # (t, traj, layer)

    def grad_E(X):
        return X - xt

    learn0 = np.array(P["learn_starts"], dtype=float)
    L0 = np.zeros((len(learn0), N, 1, 1))
    L0[:, 0, 0, 0] = learn0[:, 0]
    L0[:, 1, 0, 0] = learn0[:, 1]
    learn = dln.learning_flow(L0, grad_E, t_learn)[..., 0, 0]

    x0 = learn0[0, 0] * learn0[0, 1]  # the balanced start (w1 = w2)
    x_red = dln.end_to_end_flow(np.array([[x0]]), grad_E, N, t_learn)[:, 0, 0]

    # Fig. 1.2 (right): |G(t)| of the regularizing flow for d = 3, N = 4, real and complex Gaussian layers
    fields = ["real", "complex"]
    G_rate = []
    for field in fields:
        rng = dln.rng_from_params(family="lm_figures", field=field, N=P["rate_N"], d=P["rate_d"])
        W = dln.random_layers(rng, P["rate_N"], P["rate_d"], field, batch=(P["rate_runs"],))
        G_rate.append(regularizing_moment_decay(W, t_reg))
    G_rate = np.stack(G_rate, axis=1)  # (t, field, run)

    x_start = reg0[:, 0] * reg0[:, 1]
    fiber_err = np.abs(reg[..., 0] * reg[..., 1] - x_start).max() / np.abs(x_start).max()
    G_reg = reg[..., 0] ** 2 - reg[..., 1] ** 2
    G_reg0 = reg0[:, 0] ** 2 - reg0[:, 1] ** 2
    reg_G_err = np.abs(G_reg - G_reg0 * np.exp(-2 * t_reg)[:, None]).max() / np.abs(G_reg0).max()
    G_learn = learn[..., 0] ** 2 - learn[..., 1] ** 2
    G_learn0 = learn0[:, 0] ** 2 - learn0[:, 1] ** 2
    G_drift = np.abs(G_learn - G_learn0).max() / np.abs(G_learn0).max()
    x_bal = learn[:, 0, 0] * learn[:, 0, 1]

    # the reduced ODE x' = -N |x|^{2-2/N} E'(x), integrated independently of dln (LSODA)
    from scipy.integrate import solve_ivp

    sol = solve_ivp(
        lambda tt, y: -N * np.abs(y) ** (2 - 2 / N) * (y - xt),
        (0.0, P["T_learn"]),
        [x0],
        t_eval=t_learn,
        method="LSODA",
        rtol=1e-12,
        atol=1e-14,
    )
    x_ode = sol.y[0]
    x_err = np.abs(x_bal - x_ode).max() / np.abs(x_ode).max()
    x_lib_err = np.abs(x_red - x_ode).max() / np.abs(x_ode).max()

    # Fig. 1.2 (right): fitted slope of log|G(t)| against t, with G_0 from the starts
    G0_rate = []
    for field in fields:
        rng = dln.rng_from_params(family="lm_figures", field=field, N=P["rate_N"], d=P["rate_d"])
        W = dln.random_layers(rng, P["rate_N"], P["rate_d"], field, batch=(P["rate_runs"],))
        G0_rate.append(np.sqrt(np.sum(np.abs(dln.moments(W)) ** 2, axis=(-3, -2, -1))))
    G0_rate = np.stack(G0_rate, axis=0)  # (field, run)
    logG = np.log(G_rate / G0_rate[None])
    slopes = np.polyfit(t_reg, logG.reshape(t_reg.size, -1), 1)[0].reshape(G0_rate.shape)

    # Fig. 1.1: the minimizers of |w|^2 on the fibers w2 w1 = x > 0, by a dense scan of the hyperbola
    xs = np.array([x for x in P["fibers"] if x > 0])
    u = np.linspace(-3.0, 3.0, 60001)  # w1 = sqrt(x) e^u, w2 = sqrt(x) e^-u: |w|^2 = 2 x cosh 2u
    scan_min = np.array([np.min(x * (np.exp(2 * u) + np.exp(-2 * u))) for x in xs])
    scan_arg = np.array([u[np.argmin(x * (np.exp(2 * u) + np.exp(-2 * u)))] for x in xs])
    mixed_residual = np.array([abs(np.sqrt(x) * (-np.sqrt(x)) - x) / x for x in xs])  # (sqrt x, -sqrt x)

    def var(dims, values, long_name):
        return (dims, np.asarray(values), {"long_name": long_name, "units": "1"})

    ds = xr.Dataset(
        {
            "reg_w1": var(("t_reg", "reg_traj"), reg[..., 0], "regularizing flow: layer w_1"),
            "reg_w2": var(("t_reg", "reg_traj"), reg[..., 1], "regularizing flow: layer w_2"),
            "reg_x": var(("reg_traj",), [x for x in P["fibers"] for _ in P["u_starts"]], "fiber w_2 w_1"),
            "learn_w1": var(("t_learn", "learn_traj"), learn[..., 0], "learning flow: layer w_1"),
            "learn_w2": var(("t_learn", "learn_traj"), learn[..., 1], "learning flow: layer w_2"),
            "learn_G0": var(("learn_traj",), learn0[:, 0] ** 2 - learn0[:, 1] ** 2, "initial moment w_1^2 - w_2^2"),
            "x_reduced": var(("t_learn",), x_red, "reduced flow x' = -N|x|^(2-2/N) E'(x) from the balanced start"),
            "x_target": var((), xt, "minimizer x_target of E(x) = (x - x_target)^2/2"),
            "G_norm": var(("t_reg", "field", "run"), G_rate, "regularizing flow, d = 3, N = 4: moment norm |G(t)|"),
            "fiber_err": var((), fiber_err, "max |w1 w2 - x_0| / max |x_0| along the regularizing trajectories"),
            "reg_G_err": var((), reg_G_err, "max |G(t) - G_0 e^(-2t)| / max |G_0| along the regularizing trajectories"),
            "learn_G_drift": var((), G_drift, "max |G(t) - G_0| / max |G_0| along the learning trajectories"),
            "x_ode": var(("t_learn",), x_ode, "x(t) of x' = -N |x|^(2-2/N) E'(x) integrated by LSODA (rtol 1e-12)"),
            "x_reduced_err": var(
                (), x_err, "max |x(t) - x_ode(t)| / max |x_ode| along the balanced learning trajectory"
            ),
            "x_end_to_end_err": var((), x_lib_err, "max |dln.end_to_end_flow - x_ode| / max |x_ode|"),
            "G_slope": var(("field", "run"), slopes, "fitted slope of log(|G(t)| / |G_0|) against t (Thm 2: -2)"),
            "min_norm_scan": var(("fiber_x",), scan_min, "min of |w|^2 on w2 w1 = x by a dense scan"),
            "min_norm_argmin": var(("fiber_x",), scan_arg, "u at the minimum, w = (sqrt x e^u, sqrt x e^-u)"),
            "mixed_sign_residual": var(
                ("fiber_x",), mixed_residual, "|w2 w1 - x| / x at the mixed-sign point (sqrt x, -sqrt x)"
            ),
        },
        coords={
            "t_reg": ("t_reg", t_reg, {"long_name": "time of the regularizing flow", "units": "1"}),
            "t_learn": ("t_learn", t_learn, {"long_name": "time of the learning flow", "units": "1"}),
            "reg_traj": ("reg_traj", np.arange(len(reg0)), {"long_name": "regularizing trajectory", "units": "1"}),
            "learn_traj": ("learn_traj", np.arange(len(learn0)), {"long_name": "learning trajectory", "units": "1"}),
            "field": ("field", fields, {"long_name": "scalar field of the matrices (real or complex)", "units": "1"}),
            "run": ("run", np.arange(P["rate_runs"]), {"long_name": "Gaussian start index", "units": "1"}),
            "fiber_x": ("fiber_x", xs, {"long_name": "fiber w2 w1 = x (x > 0) of LM Fig. 1.1", "units": "1"}),
        },
    )
    return finalize_job(
        ds,
        P,
        __name__,
        title=TITLE,
        summary=SUMMARY,
    )


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def _foliation(ax, lim: float = 2.6, fibers=(0.25, 0.5, 1.0, 2.0, 3.0), moments=(0.5, 1.0, 2.0, 3.5), fiber_kw=None):
    """Level sets of w2 w1 (fibers) and w1^2 - w2^2 (moments), the balanced variety and the minimizers."""
    w = np.linspace(-lim, lim, 401)
    W1, W2 = np.meshgrid(w, w)
    x_levels = sorted({-x for x in fibers} | set(fibers))
    g_levels = sorted({-g for g in moments} | set(moments))
    ax.contour(
        W1, W2, W1 * W2, levels=x_levels, colors="0.55", linewidths=0.9, negative_linestyles="solid", **(fiber_kw or {})
    )
    if g_levels:
        ax.contour(
            W1, W2, W1**2 - W2**2, levels=g_levels, colors="#9ecae1", linewidths=0.9, negative_linestyles="solid"
        )
    ax.plot([-lim, lim], [-lim, lim], color="k", ls="--", lw=1.0)
    ax.plot([-lim, lim], [lim, -lim], color="k", ls="--", lw=1.0)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="$w_1$", ylabel="$w_2$", aspect="equal")


def _minimizers(ax, xs) -> None:
    """The minimizers (+-sqrt|x|, +-sign(x) sqrt|x|) of |w|^2 on the fibers w2 w1 = x."""
    for x in xs:
        r, sg = np.sqrt(abs(x)), np.sign(x)
        ax.plot([r, -r], [sg * r, -sg * r], "o", color="k", ms=4, zorder=5)


def _trajectories(ax, w1, w2, color, label) -> None:
    """Plot trajectories given as (t, traj) arrays, with an arrow head at the end."""
    w1, w2 = np.asarray(w1, dtype=float), np.asarray(w2, dtype=float)
    back = min(3, w1.shape[0] - 1)
    for j in range(w1.shape[1]):
        ax.plot(w1[:, j], w2[:, j], color=color, lw=1.6, label=label if j == 0 else None)
        ax.plot(w1[0, j], w2[0, j], "o", color=color, ms=3.5, mfc="white")
        if back > 0:
            ax.annotate(
                "",
                xy=(w1[-1, j], w2[-1, j]),
                xytext=(w1[-1 - back, j], w2[-1 - back, j]),
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2},
            )


_FOLIATION_HANDLES = (
    ("fibers $w_2w_1 = x$", {"color": "0.55", "lw": 0.9}),
    ("level sets $w_1^2 - w_2^2 = G$", {"color": "#9ecae1", "lw": 0.9}),
    (r"$\mathcal{M}_0$: $w_2 = \pm w_1$", {"color": "k", "ls": "--", "lw": 1.0}),
    ("minimizers of $|w|^2$ on the fibers", {"color": "k", "ls": "none", "marker": "o", "ms": 4}),
)


def fig_1_1(lm: xr.Dataset) -> Figure:
    """LM Figure 1.1 (d = 1, N = 2, real): fibers, moment level sets, M_0, minimizers and computed flows.

    ``lm`` is ``results/lm_figures.nc`` (variables ``reg_w1, reg_w2`` on ``(t_reg, reg_traj)`` with the fiber
    ``reg_x`` of each trajectory, ``learn_w1, learn_w2`` on ``(t_learn, learn_traj)``); the regularizing
    trajectories on fibers x > 0 are drawn.
    """
    pl = drawing_toolkit()
    fig, (ax,) = pl.figure(1, width=4.8, height=5.6)
    _foliation(ax)
    sel = np.asarray(lm["reg_x"].values) > 0
    _trajectories(ax, lm["reg_w1"].values[:, sel], lm["reg_w2"].values[:, sel], "C1", "regularizing flow")
    _trajectories(ax, lm["learn_w1"].values, lm["learn_w2"].values, "C2", "learning flow")
    _minimizers(ax, (0.25, 0.5, 1.0, 2.0, 3.0))
    handles = [pl.line("regularizing flow", color="C1", lw=1.6), pl.line("learning flow", color="C2", lw=1.6)]
    handles += [pl.line(lab, **kw) for lab, kw in _FOLIATION_HANDLES]
    pl.legend_below(fig, handles, ncols=2)
    return fig


def fig_1_2(lm: xr.Dataset) -> Figure:
    """LM Figure 1.2: the regularizing flow on fibers.

    Left: d = 1, N = 2 trajectories in the (w1, w2) plane, on their fibers, into the balanced variety.
    Right: |G(t)|/|G_0| for d = 3, N = 4 (``G_norm`` on ``(t_reg, field, run)``: real and complex Gaussian
    starts) against e^{-2t} (LM Thm 2); the curves coincide.
    ``lm`` is ``results/lm_figures.nc``.
    """
    pl = drawing_toolkit()
    fig, (ax1, ax2) = pl.figure(2, height=3.6)
    _foliation(ax1, moments=())
    _trajectories(ax1, lm["reg_w1"].values, lm["reg_w2"].values, "C1", "regularizing flow")
    _minimizers(ax1, sorted({float(x) for x in lm["reg_x"].values}))
    t = np.asarray(lm["t_reg"].values, dtype=float)
    Gn = lm["G_norm"]
    style = {"real": {"lw": 3.0, "alpha": 0.45}, "complex": {"lw": 1.3, "ls": "--"}}
    handles = [pl.line("regularizing flow", color="C1", lw=1.6)]
    handles += [pl.line(lab, **kw) for lab, kw in _FOLIATION_HANDLES if "level sets" not in lab]
    for field in pl.coords(Gn, "field"):
        g = pl.runs(pl.sel(Gn, {"field": field}), "t_reg")
        st = {"color": pl.FIELD_STYLE.get(str(field), {}).get("color", "C0"), **style.get(str(field), {})}
        ax2.semilogy(t, pl.pos(g / g[:1]), **st)
        handles.append(pl.line(f"{field} Gaussian starts ($d=3$, $N=4$)", **st))
    ax2.semilogy(t, np.exp(-2 * t), color="k", ls=":", lw=1.2)
    handles.append(pl.line("$e^{-2t}$ (LM Thm 2)", ls=":", lw=1.2))
    ax2.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert / \Vert\mathbf{G}_0\Vert$")
    ax1.set_title("(a) $d = 1$, $N = 2$: trajectories on fibers")
    ax2.set_title(r"(b) $d = 3$, $N = 4$: $\Vert\mathbf{G}(t)\Vert$")
    pl.grid(ax2)
    pl.legend_below(fig, handles, ncols=3)
    return fig


def fig_1_3(lm: xr.Dataset) -> Figure:
    """LM Figure 1.3: learning flows for d = 1, N = 2 and the reduced end-to-end flow.

    ``lm`` is ``results/lm_figures.nc``; learning trajectory 0 starts balanced. Left: the learning flows for
    E = (x - x_target)^2/2 on the level sets of G and the minimizers w2 w1 = x_target (both branches). Right:
    x = w2 w1 along the balanced trajectory against the reduced flow ``x_reduced``.
    """
    pl = drawing_toolkit()
    fig, (ax1, ax2) = pl.figure(2, height=3.6)
    _foliation(ax1)
    _trajectories(ax1, lm["learn_w1"].values, lm["learn_w2"].values, "C2", "learning flow")
    xt = float(lm["x_target"])
    for sign in (1.0, -1.0):
        w = sign * np.linspace(abs(xt) / 2.6, 2.6, 200)
        ax1.plot(w, xt / w, color="C3", lw=1.3, ls=":")
    t = np.asarray(lm["t_learn"].values, dtype=float)
    x_full = lm["learn_w1"].values[:, 0] * lm["learn_w2"].values[:, 0]
    every = max(1, t.size // 20)
    ax2.plot(t, lm["x_reduced"].values, color="k", lw=1.4)
    ax2.plot(t[::every], x_full[::every], "o", color="C2", ms=4)
    ax2.axhline(xt, color="C3", ls=":", lw=1.3)
    ax2.set(xlabel="$t$", ylabel="$x(t)$")
    ax1.set_title("(a) learning flows, $d = 1$, $N = 2$")
    ax2.set_title(r"(b) $x = w_2w_1$ vs the reduced flow")
    pl.grid(ax2)
    handles = [
        pl.line("learning flow", color="C2", lw=1.6),
        pl.line(f"minimizers $w_2w_1 = {xt:g}$", color="C3", ls=":", lw=1.3),
        pl.line(r"reduced flow $\dot x = -N|x|^{2-2/N}E'(x)$", lw=1.4),
        pl.line("$x = w_2w_1$ along the balanced learning flow", color="C2", ls="none", marker="o", ms=4),
    ]
    handles += [pl.line(lab, **kw) for lab, kw in _FOLIATION_HANDLES[:3]]
    pl.legend_below(fig, handles, ncols=2)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "lm_fig_1_1": fig_1_1,
    "lm_fig_1_2": fig_1_2,
    "lm_fig_1_3": fig_1_3,
}
