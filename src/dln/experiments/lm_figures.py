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

from ._conventions import finalize

#: Parameters of the figures (all small: the job runs in about a second).
DEFAULT_PARAMS = {
    "N": 2,
    "d": 1,
    "field": "real",
    "T_reg": 3.0,
    "T_learn": 3.0,
    "n_t": 101,
    "x_target": 1.5,
    "fibers": [0.5, 1.0, 2.0, -1.0],
    "u_starts": [-1.1, -0.55, 0.55, 1.1],
    "learn_starts": [[0.5, 0.5], [1.2, 0.3], [0.3, 1.2], [1.6, -0.4], [-0.5, -0.5], [-1.0, 0.2]],
    "rate_N": 4,
    "rate_d": 3,
    "rate_runs": 3,
}


def regularizing_starts(P: dict) -> np.ndarray:
    """Starts (sqrt|x| e^u, sign(x) sqrt|x| e^-u) on the fibers w2 w1 = x, shape (n, 2)."""
    starts = []
    for x in P["fibers"]:
        r = np.sqrt(abs(x))
        for u in P["u_starts"]:
            starts.append([r * np.exp(u), np.sign(x) * r * np.exp(-u)])
    return np.array(starts)  # (n, 2): columns w1, w2


def simulate(params: dict | None = None) -> xr.Dataset:
    """Compute the LM Figure 1.1-1.3 data (see the module docstring); ``params`` update DEFAULT_PARAMS."""
    P = dict(DEFAULT_PARAMS)
    P.update(params or {})
    N, xt = P["N"], P["x_target"]
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
        Wt = dln.regularizing_flow(W, t_reg, solver="dense")
        G = dln.moments(Wt)
        G_rate.append(np.sqrt(np.sum(np.abs(G) ** 2, axis=(-3, -2, -1))))
    G_rate = np.stack(G_rate, axis=1)  # (t, field, run)

    fiber_err = np.abs(reg[..., 0] * reg[..., 1] - reg0[:, 0] * reg0[:, 1]).max()
    G_learn = learn[..., 0] ** 2 - learn[..., 1] ** 2
    G_drift = np.abs(G_learn - G_learn[0]).max()
    x_bal = learn[:, 0, 0] * learn[:, 0, 1]
    x_err = np.abs(x_bal - x_red).max() / np.abs(x_red).max()

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
            "fiber_err": var((), fiber_err, "max |w1 w2 - x| along the regularizing trajectories (X conserved)"),
            "learn_G_drift": var((), G_drift, "max |G(t) - G(0)| along the learning trajectories (LM-Cons)"),
            "x_reduced_err": var(
                (), x_err, "max |x(t) - x_reduced(t)| / max|x_reduced| along the balanced learning trajectory"
            ),
        },
        coords={
            "t_reg": ("t_reg", t_reg, {"long_name": "time of the regularizing flow", "units": "1"}),
            "t_learn": ("t_learn", t_learn, {"long_name": "time of the learning flow", "units": "1"}),
            "reg_traj": ("reg_traj", np.arange(len(reg0)), {"long_name": "regularizing trajectory", "units": "1"}),
            "learn_traj": ("learn_traj", np.arange(len(learn0)), {"long_name": "learning trajectory", "units": "1"}),
            "field": ("field", fields, {"long_name": "scalar field of the matrices (real or complex)", "units": "1"}),
            "run": ("run", np.arange(P["rate_runs"]), {"long_name": "Gaussian start index", "units": "1"}),
        },
    )
    return finalize(
        ds,
        title="Planar trajectories of the DLN for LM Figures 1.1-1.3 (d = 1, N = 2)",
        summary=(
            "Regularizing flows on the fibers w2 w1 = x and learning flows for E = (x - x_target)^2/2 on the "
            "level sets of G = w1^2 - w2^2, computed with dln.regularizing_flow, dln.learning_flow and "
            "dln.end_to_end_flow; the learning trajectory 0 starts balanced. Also |G(t)| along the regularizing "
            "flow for d = 3, N = 4 from Gaussian layers (LM Figure 1.2, right)."
        ),
        references=["LM"],
        config=P,
        context="rule lm_figures",
    )
