"""The free-energy flow of CKM on singular values (CKM Fig. 1, Theorems 1.2, 1.3, 1.7, Remark 1.4).

One job = one (N, p, beta, d, field) for the Schatten energy E = (1/p) sum sigma_i^p and F_beta = E - S_N/beta:

- the field sigma' = -N sigma^{2-2/N} (dE/dsigma - beta^{-1} dS_N/dsigma) on a grid of (0, sigma_max]^2 (the
  phase portrait of CKM Fig. 1; for d > 2 the other singular values are held at sigma_star);
- trajectories from ``n_starts`` random starts (:func:`dln.free_energy_flow`) and the free energy along them,
  evaluated with the printed formulas;
- the equilibrium and the relaxation rates from the formulas (real: CKM Thms 1.2, 1.3; complex: derived here),
  against the library and against the eigenvalues of minus the Jacobian of the field at sigma_star computed by
  central differences of the reference field (entropy gradient by complex steps of the closed form);
- the flow on the equal-singular-value set: the library's exact solution against the integrated ODE, and the
  residual of the ODE v' = -2 (v^{pN/2} - c), v = sigma^{2/N}, along it (CKM Thm 1.7);
- the matrix flow X' = -A_{N,X}(grad_X F_beta) (:func:`dln.matrix_free_energy_flow`) against the flow of its
  singular values;
- the limits N -> infinity (CKM Remark 1.4) of the entropy, of c and of the rates divided by N.

Normalizations: E = (1/p) sum sigma^p, S_N = log vol(O_X) as in :func:`dln.entropy` (the additive constant
is irrelevant); rescaling S_N by lambda replaces beta by beta/lambda.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from scipy.integrate import solve_ivp

from .. import _reference as ref
from .._random import haar_unitary, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

__all__ = ["FAMILY", "SPEC", "simulate", "fig_ckm_1", "fig_free_energy_panels"]

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("N", 10, sweep=True),
    param("p", 2.0, sweep=True, description="exponent p of the Schatten energy E = (1/p) sum sigma_i^p"),
    param("beta", 5.0, sweep=True),
    param("d", 2, sweep=True, minimum=2),
    param("field", "real", sweep=True),
    param("seed", 0, sweep=True),
    param(
        "n_grid", 25, kind="integer", minimum=2, maximum=2000, description="grid points per axis of the phase portrait"
    ),
    param(
        "sigma_max",
        1.0,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=1000,
        description="largest singular value of the phase-portrait grid and of the random starts",
    ),
    param("n_starts", 6),
    param("T", 10.0),
    param("n_t", 101),
    param(
        "n_exact",
        11,
        kind="integer",
        minimum=3,
        maximum=100000,
        description="number of times at which the exact equal-singular-value solution is compared",
    ),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Free-energy flow of the deep linear network on singular values (CKM), all panels"
SUMMARY = "CKM Fig. 1, Thms 1.2, 1.3, 1.7, Rmk 1.4: equilibria, rates, exact diagonal solution, limits."
REFERENCES = ["CKM", "MY"]


#: The sweep of ``dln check``.
LEDGER: dict = {
    "sweep": {"N": [3, 10], "p": [2.0, 3.0], "d": [2, 3], "field": ["real", "complex"]},
    "fixed": {"beta": 5.0, "n_grid": 9, "n_starts": 3, "T": 40.0, "n_t": 41, "n_exact": 7},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"field": ["real", "complex"]},
    "fixed": {"N": 3, "p": 2.0, "beta": 5.0, "d": 2, "n_grid": 3, "n_starts": 1, "T": 20.0, "n_t": 5, "n_exact": 3},
}

#: Relative cost of the LEDGER sweep.
COST = 4.0


#: Depths of the N -> infinity limits.
DEPTHS = (100, 1000, 10000)


def c_formula(d: int, N: int, beta: float, field: str) -> float:
    """c = sigma dS_N/dsigma / beta at equal singular values: (d-1)(N-1)/(2N beta) (real), d(N-1)/(N beta) (complex)."""
    return (d - 1) * (N - 1) / (2 * N * beta) if field == "real" else d * (N - 1) / (N * beta)


def rates_formula(d: int, N: int, beta: float, p: float, field: str) -> tuple[float, float]:
    """(r_1, r_perp) at sigma_star = c^{1/p}: r_1 = p N c s^{-2/N};
    real: r_perp = N s^{-2/N} (N-1)/beta [(p-1)(d-1)/(2N) + ((d-1)(2N-1) - (N+1))/(6N^2)] (CKM Thm 1.3);
    complex: r_perp = N s^{-2/N} (p c - d (N^2-1)/(3 N^2 beta))."""
    c = c_formula(d, N, beta, field)
    s = c ** (1.0 / p)
    r1 = p * N * c * s ** (-2.0 / N)
    if field == "real":
        rp = (
            N
            * s ** (-2.0 / N)
            * (N - 1)
            / beta
            * ((p - 1) * (d - 1) / (2 * N) + ((d - 1) * (2 * N - 1) - (N + 1)) / (6 * N**2))
        )
    else:
        rp = N * s ** (-2.0 / N) * (p * c - d * (N**2 - 1) / (3 * N**2 * beta))
    return float(r1), float(rp)


def limits_formula(d: int, p: float, beta: float, field: str) -> dict:
    """N -> infinity: c -> (d-1)/(2 beta) (real), d/beta (complex); r_1/N -> p c; r_perp/N -> p c - m d/(6 beta)."""
    m = 1 if field == "real" else 2
    c = (d - 1) / (2 * beta) if field == "real" else d / beta
    return {"c": c, "r1_over_N": p * c, "rperp_over_N": p * c - m * d / (6 * beta)}


def ref_field(s: np.ndarray, N: int, beta: float, p: float, field: str) -> np.ndarray:
    """-N s^{2-2/N} (s^{p-1} - beta^{-1} dS_N/ds): the field of the flow, with the complex-step gradient of S_N."""
    s = np.asarray(s, dtype=float)
    return -N * s ** (2.0 - 2.0 / N) * (s ** (p - 1.0) - ref.entropy_gradient_cs(s, N, field) / beta)


def ref_free_energy(s: np.ndarray, N: int, beta: float, p: float, field: str) -> np.ndarray:
    """(1/p) sum s^p - S_N / beta without the constant (N-1) log c_d / beta."""
    s = np.asarray(s, dtype=float)
    return np.sum(s**p, axis=-1) / p - np.real(ref.entropy_polynomial(s, N, field)) / beta


def ref_jacobian(s: np.ndarray, N: int, beta: float, p: float, field: str, rel: float = 1e-6) -> np.ndarray:
    """Jacobian of :func:`ref_field` by central differences (step rel * s_j)."""
    d = s.size
    J = np.empty((d, d))
    for j in range(d):
        h = np.zeros(d)
        h[j] = rel * s[j]
        J[:, j] = (ref_field(s + h, N, beta, p, field) - ref_field(s - h, N, beta, p, field)) / (2 * h[j])
    return J


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One (N, p, beta, d, field); see the module docstring."""
    import dln

    P = SPEC.resolve(params, FAMILY)
    N, p, beta, d, field = P["N"], P["p"], P["beta"], P["d"], P["field"]
    rng = rng_from_params(family=FAMILY, **P)
    c = c_formula(d, N, beta, field)
    s_star = c ** (1.0 / p)
    out: dict = {}

    # phase portrait on (0, sigma_max]^2
    g = np.linspace(P["sigma_max"] / P["n_grid"], P["sigma_max"], P["n_grid"])
    S1, S2 = np.meshgrid(g, g)  # (sigma2, sigma1) indexing for streamplot
    pts = np.full(S1.shape + (d,), s_star)
    pts[..., 0], pts[..., 1] = S1, S2
    V = dln.free_energy_field(pts, N, beta, p, field)

    # trajectories, and the free energy along them by the printed formulas
    t = np.linspace(0.0, P["T"], P["n_t"])
    # starts in the chamber sigma_1 > ... > sigma_d, which the flow preserves
    s0 = -np.sort(-rng.uniform(0.05, P["sigma_max"], (P["n_starts"], d)), axis=-1)
    traj = np.moveaxis(dln.free_energy_flow(s0, t, N, beta, p, field), 0, 1)  # (start, t, i)
    F = ref_free_energy(traj, N, beta, p, field)
    out["free_energy_max_increase"] = float(np.max(np.diff(F, axis=-1)) / np.max(np.abs(F)))
    out["trajectory_final_err"] = float(np.max(np.abs(traj[:, -1, :] - s_star)) / s_star)

    # equilibrium and rates
    out["c_err"] = abs(dln.entropic_constant(d, N, beta, field) - c) / c
    out["sigma_star_err"] = abs(dln.equilibrium(d, N, beta, p, field) - s_star) / s_star
    r1, rp = rates_formula(d, N, beta, p, field)
    J = ref_jacobian(np.full(d, s_star), N, beta, p, field)
    r_fd = np.sort(np.linalg.eigvals(-J).real)
    r_form = np.sort(np.array([r1] + [rp] * (d - 1)))
    out["rate_fd_err"] = float(np.max(np.abs(r_fd - r_form) / r_form))
    l1, lp = dln.relaxation_rates(d, N, beta, p, field)
    out["rate_lib_err"] = max(abs(l1 - r1) / r1, abs(lp - rp) / abs(rp))
    J_lib = dln.free_energy_jacobian(np.full(d, s_star), N, beta, p, field)
    out["jacobian_err"] = float(np.max(np.abs(J_lib - J)) / np.max(np.abs(J)))

    # the library's field, gradient, free energy and metric against the printed formulas at random points
    sr = rng.uniform(0.1, 2.0, (4, d))
    fr = np.array([ref_field(x, N, beta, p, field) for x in sr])
    out["field_err"] = float(np.max(np.abs(dln.free_energy_field(sr, N, beta, p, field) - fr)) / np.max(np.abs(fr)))
    gr = sr ** (p - 1.0) - ref.entropy_gradient_cs(sr, N, field) / beta
    out["gradient_err"] = float(
        np.max(np.abs(dln.free_energy_gradient(sr, N, beta, p, field) - gr)) / np.max(np.abs(gr))
    )
    Fr = ref_free_energy(sr, N, beta, p, field)
    out["free_energy_err"] = float(
        np.max(np.abs(dln.free_energy(sr, N, beta, p, field, constant=False) - Fr)) / np.max(np.abs(Fr))
    )
    X = np.diag(sr[0]).astype(complex if field == "complex" else float)
    inv_metric = []
    for i in range(d):
        E = np.zeros((d, d), dtype=X.dtype)
        E[i, i] = 1.0
        Am = ref.A_matrix(X, N)
        AinvE = ref._from_real(np.linalg.solve(Am, ref._to_real(E)), E.shape, E.dtype)
        inv_metric.append(1.0 / ref.inner(E, AinvE))  # 1 / g^N(E_ii, E_ii)
    out["chamber_metric_err"] = float(
        np.max(np.abs(dln.chamber_metric(sr[0], N) - np.array(inv_metric)) / np.array(inv_metric))
    )

    # the matrix flow and its singular values
    U = haar_unitary(rng, (), d, complex_=(field == "complex"))
    Vq = haar_unitary(rng, (), d, complex_=(field == "complex"))
    X0 = (U * s0[0]) @ Vq
    fm = dln.matrix_free_energy_field(X0, N, beta, p, field)
    fm_ref = (U * ref_field(s0[0], N, beta, p, field)) @ Vq
    out["matrix_field_err"] = float(np.linalg.norm(fm - fm_ref) / np.linalg.norm(fm_ref))
    gsp = dln.spectral_gradient(X0, lambda s: s**2)
    out["spectral_gradient_err"] = float(np.linalg.norm(gsp - (U * s0[0] ** 2) @ Vq) / np.linalg.norm(gsp))
    tm = np.linspace(0.0, 1.0, 5)
    Xt = dln.matrix_free_energy_flow(X0, tm, N, beta, p, field)
    # the singular vectors stay fixed and the singular values follow the reference field (LSODA, rtol 1e-12)
    st = solve_ivp(
        lambda _t, y: ref_field(y, N, beta, p, field),
        (0.0, tm[-1]),
        s0[0],
        t_eval=tm,
        method="LSODA",
        rtol=1e-12,
        atol=1e-14,
    ).y.T
    X_pred = (U[None] * st[:, None, :]) @ Vq
    out["matrix_vs_sigma"] = float(np.max(np.linalg.norm(Xt - X_pred, axis=(-2, -1))) / np.linalg.norm(X0))

    # the equal-singular-value set: exact solution against the ODE, and the residual of v' = -2(v^{pN/2} - c)
    te = np.linspace(0.0, P["T"], P["n_exact"])
    ex = dln.equal_sv_solution(te, P["sigma_max"], d, N, beta, p, field)
    ode = dln.free_energy_flow(np.full(d, P["sigma_max"]), te, N, beta, p, field)
    out["diagonal_err"] = float(np.max(np.abs(ode - ex[:, None])) / P["sigma_max"])
    out["diagonal_spread"] = float(np.max(np.ptp(ode, axis=-1)) / P["sigma_max"])
    h = 1e-4
    tt = te[1:-1]
    vp = dln.equal_sv_solution(tt + h, P["sigma_max"], d, N, beta, p, field) ** (2.0 / N)
    vm = dln.equal_sv_solution(tt - h, P["sigma_max"], d, N, beta, p, field) ** (2.0 / N)
    v = dln.equal_sv_solution(tt, P["sigma_max"], d, N, beta, p, field) ** (2.0 / N)
    resid = (vp - vm) / (2 * h) + 2.0 * (v ** (p * N / 2.0) - c)
    out["diagonal_ode_residual"] = float(np.max(np.abs(resid)) / max(np.max(np.abs(v ** (p * N / 2.0) - c)), c))

    # N -> infinity (CKM Remark 1.4): errors at N = 1e2, 1e3, 1e4 and their fitted order
    lim = limits_formula(d, p, beta, field)
    lib_lim = dln.infinite_depth_limits(d, p, beta, field)
    s_test = np.array([0.3, 1.1, 2.5, 0.7])[:d]
    S_inf = float(ref.entropy_limit(s_test, field))
    out["limits_err"] = max(
        max(abs(lib_lim[k] - lim[k]) / abs(lim[k]) for k in ("c", "r1_over_N", "rperp_over_N")),
        abs(float(dln.entropy_infinite_depth(s_test, field)) - S_inf) / max(abs(S_inf), 1.0),
    )
    k_d = d * (d - 1) / 4 if field == "real" else d * d / 2
    errs = []
    for Nn in DEPTHS:
        a1, ap = rates_formula(d, Nn, beta, p, field)
        errs.append(
            [
                abs(float(np.real(ref.entropy_polynomial(s_test, Nn, field))) - k_d * np.log(Nn) - S_inf),
                abs(c_formula(d, Nn, beta, field) - lim["c"]),
                abs(a1 / Nn - lim["r1_over_N"]),
                abs(ap / Nn - lim["rperp_over_N"]),
            ]
        )
    errs = np.array(errs)
    orders = -np.polyfit(np.log(np.array(DEPTHS, dtype=float)), np.log(errs), 1)[0]

    def v(values, long_name, dims=()):
        return _da(values, dims, long_name)

    ds = xr.Dataset(
        {
            "u1": v(V[..., 0], "sigma_1' of the free-energy flow on the (sigma1, sigma2) grid", ("sigma2", "sigma1")),
            "u2": v(V[..., 1], "sigma_2' of the free-energy flow on the (sigma1, sigma2) grid", ("sigma2", "sigma1")),
            "speed": v(np.hypot(V[..., 0], V[..., 1]), "|(sigma_1', sigma_2')| on the grid", ("sigma2", "sigma1")),
            "trajectory": v(
                traj[..., [0, -1]], "largest and smallest singular value sigma(t) along the flow", ("start", "t", "sv")
            ),
            "free_energy": v(
                F, "F_beta(sigma(t)) - (N-1) log(c_d)/beta along the flow (printed formulas)", ("start", "t")
            ),
            "sigma_star": v(s_star, "equilibrium sigma_star = c^(1/p) (formula)"),
            "c": v(c, "entropic constant c (formula)"),
            "r1": v(r1, "uniform relaxation rate r_1 (formula)"),
            "rperp": v(rp, "relative relaxation rate r_perp (formula)"),
            "rate_fd": v(
                r_fd, "eigenvalues of -J at sigma_star, J by central differences of the reference field", ("mode",)
            ),
            "diagonal_exact": v(
                ex, "exact solution on the equal-singular-value set (dln.equal_sv_solution)", ("t_exact",)
            ),
            "diagonal_ode": v(ode[:, 0], "sigma_1(t) of the ODE from an equal start", ("t_exact",)),
            "limit_order": v(orders, "fitted order of the errors at N = 1e2, 1e3, 1e4 (1: O(1/N))", ("limit",)),
            "limit_err_maxN": v(errs[-1], "error at N = 1e4", ("limit",)),
            **{k: v(val, _LONG[k]) for k, val in out.items()},
        },
        coords={
            "sigma1": ("sigma1", g, {"long_name": "first singular value sigma_1 (grid)", "units": "1"}),
            "sigma2": ("sigma2", g, {"long_name": "second singular value sigma_2 (grid)", "units": "1"}),
            "start": ("start", np.arange(P["n_starts"]), {"long_name": "random start index", "units": "1"}),
            "t": ("t", t),
            "sv": ("sv", ["largest", "smallest"], {"long_name": "which singular value", "units": "1"}),
            "mode": ("mode", np.arange(d), {"long_name": "relaxation mode index (rates sorted)", "units": "1"}),
            "t_exact": ("t_exact", te, {"long_name": "time of the exact diagonal solution", "units": "1"}),
            "limit": (
                "limit",
                ["entropy", "c", "r1_over_N", "rperp_over_N"],
                {"long_name": "quantity whose N -> infinity limit is tested", "units": "1"},
            ),
        },
    )
    return finalize_job(
        ds,
        P,
        __name__,
        title=f"Free-energy flow on singular values (CKM): N={N}, p={p:g}, beta={beta:g}, d={d}, {field}",
        summary=(
            "Phase portrait, trajectories, equilibrium, relaxation rates, exact diagonal solution, matrix flow and "
            "N -> infinity limits of sigma' = -N sigma^{2-2/N} (dE/dsigma - beta^{-1} dS_N/dsigma), "
            "E = (1/p) sum sigma^p (CKM Fig. 1, Thms 1.2, 1.3, 1.7, Rmk 1.4)."
        ),
    )


_LONG = {
    "free_energy_max_increase": "max increase of F_beta between output times / max |F| (<= 0 for a gradient flow)",
    "trajectory_final_err": "max |sigma_i(T) - sigma_star| / sigma_star over starts",
    "c_err": "|dln.entropic_constant - formula| / formula",
    "sigma_star_err": "|dln.equilibrium - c^(1/p)| / c^(1/p)",
    "rate_fd_err": "max |eigenvalue of -J - formula| / formula (r_1 once, r_perp d-1 times)",
    "rate_lib_err": "max |dln.relaxation_rates - formula| / formula",
    "jacobian_err": "max |dln.free_energy_jacobian - reference| / max |reference|",
    "field_err": "max |dln.free_energy_field - reference field| / max at random points",
    "gradient_err": "max |dln.free_energy_gradient - (s^(p-1) - dS/beta)| / max at random points",
    "free_energy_err": "max |dln.free_energy - (1/p) sum s^p + S_N/beta| / max at random points",
    "chamber_metric_err": "max |dln.chamber_metric - 1/g^N(E_ii, E_ii)| / (1/g), g^N by a dense solve with A_{N,X}",
    "matrix_field_err": "|dln.matrix_free_energy_field - U diag(sigma-field) V^*| / |.|",
    "spectral_gradient_err": "|dln.spectral_gradient(X, s^2) - U diag(s^2) V^*| / |.|",
    "matrix_vs_sigma": "max over t in [0, 1] |X(t) - U diag(sigma(t)) V^*| / |X(0)|, X(0) = U diag(sigma_0) V^*, "
    "sigma(t) integrated from the reference field (the matrix flow keeps its singular vectors)",
    "diagonal_err": "max |ODE - exact solution| / sigma_0 on the equal-singular-value set",
    "diagonal_spread": "max (max_i sigma_i - min_i sigma_i) / sigma_0 along the ODE from an equal start",
    "diagonal_ode_residual": "max |v' + 2(v^(pN/2) - c)| / max |v^(pN/2) - c| along the exact solution, "
    "v = sigma^(2/N)",
    "limits_err": "max |dln.infinite_depth_limits - formula| / |formula| (c, r_1/N, r_perp/N) and "
    "|dln.entropy_infinite_depth - formula| / max(|formula|, 1) at sigma = (0.3, 1.1, 2.5, 0.7)[:d]",
}


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


_PORTRAIT_DIMS = ("sigma1", "sigma2", "start", "t", "sv")


def _portraits(ds) -> list[dict]:
    """The (N, p, beta, field) panels with d = 2 (the only ones with a planar phase portrait)."""
    pl = drawing_toolkit()
    if "d" in ds.dims:
        if 2 not in [int(v) for v in ds["d"].values]:
            return []
        ds = ds.sel(d=2)
    elif "d" in ds and pl.scalar(ds["d"]) != 2:
        return []
    out = []
    for case in pl.cases(ds, ["N", "p", "beta", "field"]) or [{}]:
        one = pl.one(ds, case)
        if np.isfinite(np.asarray(one["u1"].values, dtype=float)).any():
            out.append({**case, "d": 2} if "d" in ds.coords else case)
    return out


def _speed_range(ds, cases) -> tuple[float, float, bool]:
    """Colour range of log10 speed over the panels ``cases``: (low, high, whether lower values are clipped).

    The range runs from the 1st percentile of the grid values of all panels to their maximum: the speed
    vanishes at an equilibrium, and a grid point next to one would otherwise stretch the scale over many
    decades and leave every streamline the same colour. Lower values get the lowest colour.
    """
    pl = drawing_toolkit()
    values = []
    for case in cases:
        sp = np.log10(pl.pos(pl.one(ds, case, keep=("sigma1", "sigma2"))["speed"].values)).ravel()
        values.append(sp[np.isfinite(sp)])
    v = np.concatenate(values) if values else np.array([])
    if not v.size:
        return -1.0, 1.0, False
    lo, hi = float(np.percentile(v, 1.0)), float(v.max())
    if hi <= lo:
        lo, hi = float(v.min()), float(v.min()) + 1.0
    return lo, hi, bool(v.min() < lo)


def _speed_colorbar(fig, mappable, axes, clipped: bool, note: str = "", **kw):
    """The labelled colour bar of the streamline colour (log10 of the Euclidean speed of the flow)."""
    cb = fig.colorbar(mappable, ax=axes, extend="min" if clipped else "neither", **kw)
    speed = r"$\log_{10}\Vert(\dot\sigma_1, \dot\sigma_2)\Vert$"
    cb.set_label(f"streamline colour: {speed}\n(speed per unit time $t${note})")
    return cb


def _phase_portrait(ax, one, norm, density: float = 1.1, title: str | None = None):
    """Streamlines of (u1, u2) coloured by log10 speed, the trajectories, the diagonal and the equilibrium."""
    pl = drawing_toolkit()
    s1, s2 = np.asarray(one["sigma1"].values, dtype=float), np.asarray(one["sigma2"].values, dtype=float)
    u1 = one["u1"].transpose("sigma2", "sigma1").values
    u2 = one["u2"].transpose("sigma2", "sigma1").values
    speed = one["speed"].transpose("sigma2", "sigma1").values
    sp = ax.streamplot(
        s1,
        s2,
        u1,
        u2,
        color=np.log10(pl.pos(speed)),
        cmap="viridis",
        norm=norm,
        density=density,
        linewidth=0.8,
        arrowsize=0.7,
    )
    traj = one["trajectory"].transpose("start", "t", "sv").values  # columns: sigma_1, sigma_2 (d = 2)
    for k in range(traj.shape[0]):
        ok = np.isfinite(traj[k]).all(axis=1)
        ax.plot(traj[k, ok, 0], traj[k, ok, 1], color="C3", lw=1.4)
        ax.plot(traj[k, 0, 0], traj[k, 0, 1], "o", color="C3", ms=3.5, mfc="white")
    top = float(max(s1.max(), s2.max()))
    ax.plot([0, top], [0, top], "k--", lw=0.9)
    ss = pl.scalar(one["sigma_star"])
    ax.plot([ss], [ss], "*", color="gold", mec="k", ms=11, zorder=6, clip_on=True)
    if ss > top:
        ax.annotate(
            rf"$\sigma_\star = {ss:.2g}$ $\nearrow$",
            xy=(0.97, 0.97),
            xycoords="axes fraction",
            ha="right",
            va="top",
            fontsize=pl.SMALL,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.9},
        )
    ax.set(xlim=(0, top), ylim=(0, top), aspect="equal")
    if title:
        ax.set_title(title)
    return sp


def _portrait_handles() -> list:
    pl = drawing_toolkit()
    return [
        pl.line("trajectories (start: open circle)", color="C3", lw=1.4),
        pl.line(r"diagonal $\sigma_1 = \sigma_2$", ls="--", lw=0.9),
        pl.line(r"equilibrium $\sigma_\star$", ls="none", marker="*", color="gold", mec="k", ms=11),
    ]


def fig_ckm_1(ds: xr.Dataset, N: int = 10, p: float = 2.0, beta: float = 5.0) -> Figure:
    """CKM Figure 1: phase portrait of sigma' = -grad_{g^N} F_beta for d = 2, E = (1/p) sum sigma_i^p.

    ``ds`` is ``results/free_energy.nc`` (dims N, p, beta, d, field, seed, sigma2, sigma1, start, t, sv). The
    panel d = 2, real, (N, p, beta) = (10, 2, 5) of CKM is used when present, else the first d = 2 panel
    (real where present). Left: streamlines coloured by log10 speed (colour bar), the computed trajectories
    (red), the diagonal (dashed) and the equilibrium sigma_star (star). Right: the two singular values along
    the trajectories (``trajectory`` on ``sv``), with sigma_star.
    """
    from matplotlib.colors import Normalize

    pl = drawing_toolkit()
    panels = _portraits(ds)
    if not panels:
        return pl.message("no d = 2 panel (phase portrait) in this dataset")
    want = {"N": N, "p": p, "beta": beta, "field": "real"}

    def score(case):
        return sum(
            1
            for k, v in want.items()
            if k in case and (str(case[k]) == str(v) or (not isinstance(v, str) and float(case[k]) == float(v)))
        )

    case = max(panels, key=score)
    one = pl.one(ds, case, keep=_PORTRAIT_DIMS)
    fig, (ax1, ax2) = pl.figure(2, height=3.7)
    lo, hi, clipped = _speed_range(ds, [case])
    sp = _phase_portrait(ax1, one, Normalize(lo, hi))
    ax1.set(xlabel=r"$\sigma_1$", ylabel=r"$\sigma_2$")
    ax1.set_title("(a) phase portrait")
    _speed_colorbar(fig, sp.lines, ax1, clipped, shrink=0.9, pad=0.02)
    t = np.asarray(one["t"].values, dtype=float)
    traj = one["trajectory"].transpose("start", "t", "sv").values
    ss = pl.scalar(one["sigma_star"])
    for k in range(traj.shape[0]):
        for i in range(traj.shape[2]):
            ax2.plot(t, traj[k, :, i], color=f"C{i}", lw=1.0, alpha=0.85, marker="o", ms=2.2)
    ax2.axhline(ss, color="k", ls="--", lw=1.0)
    # the relaxation: up to 1.5 x the time all trajectories are within 1% of their initial distance to sigma_star
    dist = np.nanmax(np.abs(traj - ss), axis=(0, 2))
    near = np.nonzero(dist <= 0.01 * dist[0])[0] if dist.size and dist[0] > 0 else np.array([], dtype=int)
    t_end = min(t[-1], max(1.5 * t[near[0]], t[min(5, t.size - 1)])) if near.size else t[-1]
    ax2.set(xlabel="$t$", ylabel="singular values", xlim=(t[0], t_end))
    ax2.set_title(r"(b) relaxation to $\sigma_\star$")
    pl.grid(ax2)
    fig.suptitle(pl.case_label({k: case.get(k) for k in ("N", "p", "beta", "d", "field")}), fontsize=pl.MEDIUM)
    handles = _portrait_handles()
    handles += [pl.line(rf"$\sigma_{i + 1}(t)$", color=f"C{i}", lw=1.0) for i in range(traj.shape[2])]
    handles.append(pl.line(r"$\sigma_\star = c^{1/p}$", ls="--", lw=1.0))
    pl.legend_below(fig, handles, ncols=3)
    return fig


def fig_free_energy_panels(ds: xr.Dataset) -> Figure:
    """Phase portraits of the free-energy flow for every d = 2 panel (N, p, beta, field) of ``results/free_energy.nc``.

    Panels with d != 2 are skipped (their streamlines would be a slice with the other singular values frozen).
    One colour scale of log10 speed for all panels (colour bar); trajectories red, diagonal dashed, equilibrium
    star; first seed.
    """
    from matplotlib.colors import Normalize

    pl = drawing_toolkit()
    cases = _portraits(ds)
    if not cases:
        return pl.message("no d = 2 panel (phase portrait) in this dataset")
    ncols = min(4, len(cases))
    nrows = int(np.ceil(len(cases) / ncols))
    width = pl.WIDTH if ncols > 1 else 4.2
    size = (width - 0.9) / ncols if ncols > 1 else width - 1.6  # one panel: room for the colour bar's labels
    fig, axes = pl.figure(
        ncols,
        nrows=nrows,
        width=width,
        height=(size + 0.5) * nrows + 0.75,
        sharex=True,
        sharey=True,
    )
    lo, hi, clipped = _speed_range(ds, cases)
    norm = Normalize(lo, hi)
    vary = [k for k in ("N", "p", "beta", "field") if k in ds.dims and ds.sizes[k] > 1] or ["N", "p", "beta"]
    sp = None
    for ax, case in zip(axes, cases, strict=False):
        one = pl.one(ds, case, keep=_PORTRAIT_DIMS)
        parts = {k: case.get(k, one[k].values if k in one.coords else None) for k in vary}
        first = pl.case_label({k: v for k, v in parts.items() if k in ("N", "p")})
        second = pl.case_label({k: v for k, v in parts.items() if k in ("beta", "field")})
        sp = _phase_portrait(
            ax, one, norm, density=0.7 if ncols > 2 else 1.0, title="\n".join(s for s in (first, second) if s)
        )
    for ax in axes[len(cases) :]:
        ax.set_visible(False)
    for ax in axes[: len(cases)]:
        ax.label_outer()
    for ax in axes[::ncols]:
        ax.set_ylabel(r"$\sigma_2$")
    for ax in axes[(nrows - 1) * ncols : len(cases)]:
        ax.set_xlabel(r"$\sigma_1$")
    note = "; one scale for all panels" if len(cases) > 1 else ""
    _speed_colorbar(fig, sp.lines, axes, clipped, note, shrink=0.6 if nrows > 1 else 0.9, pad=0.02)
    fixed = {k: ds[k].values[0] for k in ("N", "p", "beta", "field") if k in ds.dims and ds.sizes[k] == 1}
    fig.suptitle(
        pl.case_label({**fixed, "d": 2}) + r": $\dot\sigma = -\mathrm{grad}_{g^N} F_\beta$", fontsize=pl.MEDIUM
    )
    pl.legend_below(fig, _portrait_handles(), ncols=3)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "ckm_fig_1": fig_ckm_1,
    "free_energy_panels": fig_free_energy_panels,
}
