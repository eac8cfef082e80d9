"""Experiment family ``free_energy``: the CKM free-energy flow on singular values (CKM Fig. 1, Thm 1.2, 1.3, 1.7).

One job = one (N, p, beta, d, field) panel for the Schatten energy E = (1/p) sum sigma_i^p:

- phase portrait (CKM Fig. 1 for (N, p, beta) = (10, 2, 5), d = 2): the field sigma' = -grad_{g^N} F_beta
  (:func:`dln.free_energy_field`) on an ``n_grid`` x ``n_grid`` grid of (0, sigma_max]^2 in the plane
  (sigma_1, sigma_2) (for d > 2 the other singular values are held at sigma_star), arrays ``u1``, ``u2`` with
  dims (sigma2, sigma1) ready for ``matplotlib.pyplot.streamplot(sigma1, sigma2, u1, u2)``;
- trajectories sigma_i(t) from ``n_starts`` random starts in (0.05, sigma_max)^d (seeded from the parameters)
  and the free energy along them (non-increasing);
- the equilibrium sigma_star = c^{1/p} (CKM-Thm1.2), the equal-singular-value line and the exact solution on it
  (CKM-Thm1.7) from sigma_0 = ``sigma_max`` compared with the ODE;
- relaxation rates: eigenvalues of minus the finite-difference Jacobian at sigma_star against CKM-Thm1.3.

Normalizations: E = (1/p) sum sigma^p, S_N = log vol(O_X) as in :func:`dln.entropy` (additive constant
irrelevant). Rescaling S_N by lambda would replace beta by beta/lambda in every number below.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._errors import DLNError
from .._free_energy import (
    entropic_constant,
    equal_sv_solution,
    equilibrium,
    free_energy,
    free_energy_field,
    free_energy_flow,
    free_energy_jacobian,
    relaxation_rates,
)
from .._random import rng_from_params
from ._conventions import finalize

__all__ = ["DEFAULT_PARAMS", "FAMILY", "simulate", "aggregate"]

FAMILY = "free_energy"

#: Small, fast parameters (CKM Fig. 1 panel; one job in about a second).
DEFAULT_PARAMS: dict = {
    "N": 10,
    "p": 2.0,
    "beta": 5.0,
    "d": 2,
    "field": "real",
    "seed": 0,
    "n_grid": 25,
    "sigma_max": 1.0,
    "n_starts": 6,
    "T": 10.0,
    "n_t": 101,
    "n_exact": 11,
}

_SCALARS = ("N", "p", "beta", "d", "field", "seed")


def _params(params: dict) -> dict:
    P = dict(DEFAULT_PARAMS)
    P.update(params or {})
    unknown = sorted(set(P) - set(DEFAULT_PARAMS))
    if unknown:
        raise DLNError(f"params: unknown key(s) {unknown} for family free_energy; known: {sorted(DEFAULT_PARAMS)}")
    if P["field"] not in ("real", "complex"):
        raise DLNError(f"field: expected 'real' or 'complex', got {P['field']!r}")
    for key in ("N", "d", "seed", "n_grid", "n_starts", "n_t", "n_exact"):
        if isinstance(P[key], bool) or int(P[key]) != P[key]:
            raise DLNError(f"{key}: expected an integer, got {P[key]!r}")
        P[key] = int(P[key])
    for key in ("p", "beta", "sigma_max", "T"):
        P[key] = float(P[key])
        if not (np.isfinite(P[key]) and P[key] > 0):
            raise DLNError(f"{key}: expected a positive number, got {P[key]!r}")
    if P["N"] < 2 or P["d"] < 2 or P["n_grid"] < 2 or P["n_starts"] < 1 or P["n_t"] < 2 or P["n_exact"] < 2:
        raise DLNError(f"params: need N >= 2, d >= 2, n_grid >= 2, n_starts >= 1, n_t >= 2, n_exact >= 2; got {P}")
    return P


def simulate(params: dict) -> xr.Dataset:
    """One panel of the ``free_energy`` family (see the module docstring).

    Parameters
    ----------
    params : dict
        ``N``, ``p``, ``beta``, ``d`` (>= 2), ``field``, ``seed`` (starts), ``n_grid``, ``sigma_max`` (grid and
        starts in (0, sigma_max]), ``n_starts``, ``T``, ``n_t`` (trajectory times), ``n_exact`` (times of the
        exact diagonal solution).

    Returns
    -------
    xarray.Dataset
        Dimensions ``N, p, beta, d, field, seed`` (length 1 each), ``sigma1``, ``sigma2``, ``start``, ``t``,
        ``i`` (singular value index), ``mode`` (relaxation modes, sorted), ``t_exact``.
    """
    P = _params(params)
    N, p, beta, d, field = P["N"], P["p"], P["beta"], P["d"], P["field"]
    rng = rng_from_params(family=FAMILY, **P)
    c = entropic_constant(d, N, beta, field)
    s_star = equilibrium(d, N, beta, p, field)

    # phase portrait on (0, sigma_max]^2
    g = np.linspace(P["sigma_max"] / P["n_grid"], P["sigma_max"], P["n_grid"])
    S1, S2 = np.meshgrid(g, g)  # (sigma2, sigma1) indexing for streamplot
    pts = np.full(S1.shape + (d,), s_star)
    pts[..., 0], pts[..., 1] = S1, S2
    V = free_energy_field(pts, N, beta, p, field)

    # trajectories
    t = np.linspace(0.0, P["T"], P["n_t"])
    s0 = rng.uniform(0.05, P["sigma_max"], (P["n_starts"], d))
    traj = free_energy_flow(s0, t, N, beta, p, field)  # (t, start, i)
    traj = np.moveaxis(traj, 0, 1)  # (start, t, i)
    F = free_energy(traj, N, beta, p, field, constant=False)
    F_increase = float(np.max(np.diff(F, axis=-1)))

    # equal-singular-value line: exact solution vs ODE
    te = np.linspace(0.0, P["T"], P["n_exact"])
    ex = equal_sv_solution(te, P["sigma_max"], d, N, beta, p, field)
    ode = free_energy_flow(np.full(d, P["sigma_max"]), te, N, beta, p, field)
    diag_err = float(np.max(np.abs(ode - ex[:, None])))

    # relaxation rates
    J = free_energy_jacobian(np.full(d, s_star), N, beta, p, field)
    r_num = np.sort(np.linalg.eigvals(-J).real)
    r1, rp = relaxation_rates(d, N, beta, p, field)
    r_form = np.sort(np.array([r1] + [rp] * (d - 1)))

    def var(values, long_name, dims=(), units="1"):
        return xr.DataArray(np.asarray(values), dims=dims, attrs={"long_name": long_name, "units": units})

    ds = xr.Dataset(
        {
            "u1": var(V[..., 0], "sigma_1' of the free-energy flow on the (sigma1, sigma2) grid", ("sigma2", "sigma1")),
            "u2": var(V[..., 1], "sigma_2' of the free-energy flow on the (sigma1, sigma2) grid", ("sigma2", "sigma1")),
            "speed": var(np.hypot(V[..., 0], V[..., 1]), "|(sigma_1', sigma_2')| on the grid", ("sigma2", "sigma1")),
            "trajectory": var(traj, "singular values sigma_i(t) along the free-energy flow", ("start", "t", "i")),
            "free_energy": var(
                F, "free energy F_beta(sigma(t)) - (N-1) log(c_d) / beta along the flow", ("start", "t")
            ),
            "free_energy_max_increase": var(F_increase, "max increase of F_beta between output times (<= 0)"),
            "trajectory_final_err": var(
                float(np.max(np.abs(traj[:, -1, :] - s_star))), "max |sigma_i(T) - sigma_star| over starts"
            ),
            "sigma_star": var(s_star, "equilibrium sigma_star = c^{1/p} (CKM Thm 1.2)"),
            "c": var(c, "entropic constant c = sigma dS_N/dsigma / beta at equal singular values"),
            "diagonal_exact": var(ex, "exact solution on the equal-singular-value set (CKM Thm 1.7)", ("t_exact",)),
            "diagonal_ode": var(ode[:, 0], "sigma_1(t) of the ODE from an equal start", ("t_exact",)),
            "diagonal_err": var(diag_err, "max |ODE - exact| on the equal-singular-value set"),
            "rate_numeric": var(r_num, "eigenvalues of -J at sigma_star (finite-difference Jacobian)", ("mode",)),
            "rate_formula": var(r_form, "relaxation rates r_1, r_perp (x (d-1)) of CKM Thm 1.3", ("mode",)),
            "rate_rel_err": var(float(np.max(np.abs(r_num - r_form) / r_form)), "max relative error of the rates"),
            "r1": var(r1, "uniform relaxation rate r_1 (formula)"),
            "rperp": var(rp, "relative relaxation rate r_perp (formula)"),
        },
        coords={
            "sigma1": ("sigma1", g, {"long_name": "first singular value sigma_1 (grid)", "units": "1"}),
            "sigma2": ("sigma2", g, {"long_name": "second singular value sigma_2 (grid)", "units": "1"}),
            "start": ("start", np.arange(P["n_starts"])),
            "t": ("t", t),
            "i": ("i", np.arange(d)),
            "mode": ("mode", np.arange(d), {"long_name": "relaxation mode index (rates sorted)", "units": "1"}),
            "t_exact": ("t_exact", te, {"long_name": "time of the exact diagonal solution", "units": "1"}),
        },
    )
    ds = ds.expand_dims({key: [P[key]] for key in _SCALARS}).transpose(*_SCALARS, ...)
    return finalize(
        ds,
        title="Free-energy flow of the deep linear network on singular values (CKM)",
        summary=(
            "Phase portrait, trajectories, equilibrium sigma_star, exact diagonal solution and relaxation rates of "
            "sigma' = -N sigma^{2-2/N} (dE/dsigma - beta^{-1} dS_N/dsigma), E = (1/p) sum sigma^p "
            "(CKM Fig. 1, Thm 1.2, 1.3, 1.7)."
        ),
        references=["CKM", "MY"],
        config=P,
        context=f"rule free_energy params {P}",
    )


def aggregate(datasets: list) -> xr.Dataset:
    """Combine panels along ``N, p, beta, d, field, seed`` (equal d, grid sizes and time grids).

    Ragged sweeps (missing panels) are padded with NaN by xarray and refused by :func:`finalize`.
    """
    if not datasets:
        raise DLNError("datasets: nothing to aggregate for family free_energy")
    for key in ("sigma1", "sigma2", "start", "t", "i", "t_exact"):
        sizes = {int(ds.sizes[key]) for ds in datasets}
        if len(sizes) != 1:
            raise DLNError(f"datasets: free_energy panels must share the size of {key!r}, got {sorted(sizes)}")
    parts = []
    for ds in datasets:
        one = ds.copy()
        one.attrs = {}
        parts.append(one)
    out = xr.combine_by_coords(parts, combine_attrs="drop_conflicts")
    for name, var in datasets[0].variables.items():
        if name in out.variables:
            out[name].attrs.update(var.attrs)
    return finalize(
        out,
        title="Free-energy flow of the deep linear network on singular values (CKM), all panels",
        summary=datasets[0].attrs.get("summary", "CKM free-energy flow"),
        references=["CKM", "MY"],
        config={"jobs": len(datasets)},
        context="rule free_energy_aggregate (ragged sweep: every (N, p, beta, d, field, seed) cell must be run)",
    )
