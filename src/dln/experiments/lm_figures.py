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

import numpy as np
import xarray as xr

import dln

from .._lm_curves import regularizing_moment_decay
from ._conventions import finalize
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

#: The book's figures drawn from this family.
FIGURES: tuple[str, ...] = ("lm_fig_1_1", "lm_fig_1_2", "lm_fig_1_3")


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
    return finalize(
        ds,
        title=TITLE,
        summary=SUMMARY,
        references=REFERENCES,
        config=P,
        context="rule lm_figures",
    )
