"""Trajectories for LM Figures 1.1-1.3 (d = 1, N = 2, real): Snakemake rule ``lm_figures``.

Computes, with the flows of :mod:`dln`, the planar trajectories that the book draws in the
``(w_1, w_2)`` plane, and writes them to ``results/lm_figures.nc``:

- regularizing flows (LM eq. 1.17) from points ``(sqrt|x| e^u, sign(x) sqrt|x| e^-u)`` of the fibers
  ``w_2 w_1 = x``: each stays on its fiber and converges to the balanced variety ``w_2 = +-w_1``;
- learning flows (LM eq. 1.2) for ``E(x) = (x - x_target)^2 / 2`` from starts with several moments
  ``G = w_1^2 - w_2^2``: each stays on its level set of ``G``;
- the reduced end-to-end flow ``x' = -N |x|^{2-2/N} E'(x)`` (LM Remark 5) from the balanced start,
  to be compared with ``x(t) = w_2 w_1`` along the balanced learning trajectory.

Run by the Snakemake rule ``lm_figures``, or by hand:
``python workflow/scripts/book_lm_figures.py results/lm_figures.nc``.
"""

import sys

import numpy as np
import xarray as xr

import dln
from dln.experiments._conventions import finalize, write_netcdf

#: Parameters of the figures (all small: the rule runs in about a second).
PARAMS = {
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


def _flow(name: str):
    """``dln.<name>`` (re-exported by the package), else from :mod:`dln._flows`."""
    if hasattr(dln, name):
        return getattr(dln, name)
    from dln import _flows

    return getattr(_flows, name)


def regularizing_starts() -> np.ndarray:
    starts = []
    for x in PARAMS["fibers"]:
        r = np.sqrt(abs(x))
        for u in PARAMS["u_starts"]:
            starts.append([r * np.exp(u), np.sign(x) * r * np.exp(-u)])
    return np.array(starts)  # (n, 2): columns w1, w2


def compute() -> xr.Dataset:
    N, xt = PARAMS["N"], PARAMS["x_target"]
    t_reg = np.linspace(0.0, PARAMS["T_reg"], PARAMS["n_t"])
    t_learn = np.linspace(0.0, PARAMS["T_learn"], PARAMS["n_t"])

    reg0 = regularizing_starts()
    W0 = np.zeros((len(reg0), N, 1, 1))
    W0[:, 0, 0, 0] = reg0[:, 0]  # W_1 = w1
    W0[:, 1, 0, 0] = reg0[:, 1]  # W_2 = w2
    reg = _flow("regularizing_flow")(W0, t_reg)[..., 0, 0]  # (t, traj, layer)

    def grad_E(X):
        return X - xt

    learn0 = np.array(PARAMS["learn_starts"], dtype=float)
    L0 = np.zeros((len(learn0), N, 1, 1))
    L0[:, 0, 0, 0] = learn0[:, 0]
    L0[:, 1, 0, 0] = learn0[:, 1]
    learn = _flow("learning_flow")(L0, grad_E, t_learn)[..., 0, 0]

    x0 = learn0[0, 0] * learn0[0, 1]  # the balanced start (w1 = w2)
    x_red = _flow("end_to_end_flow")(np.array([[x0]]), grad_E, N, t_learn)[:, 0, 0]

    # Fig. 1.2 (right): |G(t)| of the regularizing flow for d = 3, N = 4, real and complex Gaussian layers
    fields = ["real", "complex"]
    G_rate = []
    for field in fields:
        rng = dln.rng_from_params(family="lm_figures", field=field, N=PARAMS["rate_N"], d=PARAMS["rate_d"])
        W = dln.random_layers(rng, PARAMS["rate_N"], PARAMS["rate_d"], field, batch=(PARAMS["rate_runs"],))
        Wt = _flow("regularizing_flow")(W, t_reg, solver="dense")
        G = dln.moments(Wt)
        G_rate.append(np.sqrt(np.sum(np.abs(G) ** 2, axis=(-3, -2, -1))))
    G_rate = np.stack(G_rate, axis=1)  # (t, field, run)

    def var(dims, values, long_name):
        return (dims, np.asarray(values), {"long_name": long_name, "units": "1"})

    ds = xr.Dataset(
        {
            "reg_w1": var(("t_reg", "reg_traj"), reg[..., 0], "regularizing flow: layer w_1"),
            "reg_w2": var(("t_reg", "reg_traj"), reg[..., 1], "regularizing flow: layer w_2"),
            "reg_x": var(("reg_traj",), [x for x in PARAMS["fibers"] for _ in PARAMS["u_starts"]], "fiber w_2 w_1"),
            "learn_w1": var(("t_learn", "learn_traj"), learn[..., 0], "learning flow: layer w_1"),
            "learn_w2": var(("t_learn", "learn_traj"), learn[..., 1], "learning flow: layer w_2"),
            "learn_G0": var(("learn_traj",), learn0[:, 0] ** 2 - learn0[:, 1] ** 2, "initial moment w_1^2 - w_2^2"),
            "x_reduced": var(("t_learn",), x_red, "reduced flow x' = -N|x|^(2-2/N) E'(x) from the balanced start"),
            "x_target": var((), xt, "minimizer x_target of E(x) = (x - x_target)^2/2"),
            "G_norm": var(("t_reg", "field", "run"), G_rate, "regularizing flow, d = 3, N = 4: moment norm |G(t)|"),
        },
        coords={
            "t_reg": ("t_reg", t_reg, {"long_name": "time of the regularizing flow", "units": "1"}),
            "t_learn": ("t_learn", t_learn, {"long_name": "time of the learning flow", "units": "1"}),
            "reg_traj": ("reg_traj", np.arange(len(reg0)), {"long_name": "regularizing trajectory", "units": "1"}),
            "learn_traj": ("learn_traj", np.arange(len(learn0)), {"long_name": "learning trajectory", "units": "1"}),
            "field": ("field", fields, {"long_name": "scalar field of the matrices (real or complex)", "units": "1"}),
            "run": ("run", np.arange(PARAMS["rate_runs"]), {"long_name": "Gaussian start index", "units": "1"}),
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
        config=PARAMS,
        context="rule lm_figures",
    )


if "snakemake" in globals():  # run by the Snakemake rule `lm_figures` (script: directive)
    with open(snakemake.log[0], "w") as _log:
        sys.stderr = _log
        write_netcdf(compute(), snakemake.output[0])
        print(f"wrote {snakemake.output[0]}", file=_log)
elif __name__ == "__main__":
    write_netcdf(compute(), sys.argv[1] if len(sys.argv) > 1 else "results/lm_figures.nc")
