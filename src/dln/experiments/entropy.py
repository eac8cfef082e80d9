"""The entropy of minimizing orbits (Menon-Yu: the entropy formula, the Jacobi matrices, the constant c_d) and
the concavity of S_N on the chamber (CKM).

One job = one (d, N, field, seed): ``n_samples`` Gaussian end-to-end matrices X. For each, with the printed
formulas of :mod:`dln._reference`: the log-volume density 1/2 log det Gram of the orbit tangent vectors (2.3)
over an orthonormal basis of so(d)^{N-1} / u(d)^{N-1} at a random point Q.C of O_X, against the closed form
(MY Thm 4 as quoted: 1/2 log(van(Sigma^2)/van(Sigma^{2/N})); over C the derived analogue); the Gram matrix at
the centre C against its block-diagonal Jacobi form and the Jacobi determinants; the library's entropy, its
derivatives and the orbit volume against these. Per job, at ``n_points`` random points of the chamber, the
Euclidean Hessian of S_N (complex-step gradient, central differences) and its Riemannian (tau-coordinate)
Hessian; and the volume c_d of O_d / U_d by numerical quadrature of a parametrization (d <= 3 real, d <= 2
complex) against :func:`dln.group_volume`.

Normalization: S_N = (N-1) log c_d + 1/2 log det Gram, c_d = vol(O_d) (vol(U_d) over C) in the Frobenius metric.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .. import _reference as ref
from .._random import haar_unitary, random_matrix, rng_from_params
from ._conventions import data_array as _da
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

__all__ = ["FAMILY", "SPEC", "simulate", "group_volume_quadrature", "fig_entropy"]

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("d", 3, sweep=True, minimum=2),
    param("N", 4, sweep=True),
    param("field", "real", sweep=True),
    param("seed", 0, sweep=True),
    param("n_samples", 3),
    param(
        "n_points", 50, kind="integer", minimum=1, maximum=100000, description="number of random points of the chamber"
    ),
    param(
        "n_curve", 121, kind="integer", minimum=2, maximum=100000, description="number of points on the plotted curve"
    ),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Entropy of minimizing orbits of the deep linear network (sweep)"
SUMMARY = "Entropy formula vs Gram determinant, Jacobi form, c_d, concavity of S_N."
REFERENCES = ["MY", "CKM"]


#: The sweep of ``dln check``.
LEDGER: dict = {
    "sweep": {"d": [2, 3], "N": [2, 3, 5], "field": ["real", "complex"]},
    "fixed": {"n_samples": 3, "n_points": 50, "n_curve": 31},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"field": ["real", "complex"]},
    "fixed": {"d": 2, "N": 3, "n_samples": 1, "n_points": 5, "n_curve": 5},
}

#: Relative cost of the LEDGER sweep.
COST = 3.0


# ------------------------------------------------------------------------------------------------ c_d


def _volume(param, lows, highs, periodic, n) -> float:
    """Volume of a parametrized submanifold of a matrix space in the Frobenius metric: integral of
    sqrt(det J^T J) (J by central differences) over a box, trapezoid rule on periodic axes, Gauss-Legendre else."""
    axes, weights = [], []
    for lo, hi, per, m in zip(lows, highs, periodic, n, strict=True):
        if per:
            x = lo + (hi - lo) * np.arange(m) / m
            w = np.full(m, (hi - lo) / m)
        else:
            g, gw = np.polynomial.legendre.leggauss(m)
            x = lo + (hi - lo) * (g + 1) / 2
            w = gw * (hi - lo) / 2
        axes.append(x)
        weights.append(w)
    grids = np.meshgrid(*axes, indexing="ij")
    W = np.ones_like(grids[0])
    for i, w in enumerate(weights):
        shape = [1] * len(axes)
        shape[i] = -1
        W = W * w.reshape(shape)
    pts = np.stack([g.ravel() for g in grids], axis=-1)
    h = 1e-6
    total = 0.0
    for pt, wt in zip(pts, W.ravel(), strict=True):
        cols = []
        for k in range(len(axes)):
            e = np.zeros(len(axes))
            e[k] = h
            D = (param(pt + e) - param(pt - e)) / (2 * h)
            D = D.ravel()
            cols.append(np.concatenate([D.real, D.imag]) if np.iscomplexobj(D) else D)
        J = np.array(cols).T
        total += wt * np.sqrt(np.linalg.det(J.T @ J))
    return float(total)


def _rot(axis: str, t: float) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    if axis == "z":
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def group_volume_quadrature(d: int, field: str) -> float | None:
    """vol(O_d) (real) or vol(U_d) (complex) in the metric Re Tr(a^* b), by quadrature of a parametrization
    (both components of O_d): O_2 by the rotation angle, O_3 by Euler angles ZYZ, U_1 by the phase, U_2 =
    e^{i phi} SU(2) with SU(2) in Hopf coordinates (phi in [0, pi) covers U_2 once). None for other (d, field)."""
    if field == "real" and d == 2:
        return 2.0 * _volume(
            lambda x: np.array([[np.cos(x[0]), -np.sin(x[0])], [np.sin(x[0]), np.cos(x[0])]]),
            [0.0],
            [2 * np.pi],
            [True],
            [16],
        )
    if field == "real" and d == 3:
        return 2.0 * _volume(
            lambda x: _rot("z", x[0]) @ _rot("y", x[1]) @ _rot("z", x[2]),
            [0.0, 0.0, 0.0],
            [2 * np.pi, np.pi, 2 * np.pi],
            [True, False, True],
            [8, 24, 8],
        )
    if field == "complex" and d == 1:
        return _volume(lambda x: np.array([[np.exp(1j * x[0])]]), [0.0], [2 * np.pi], [True], [16])
    if field == "complex" and d == 2:

        def su2(x):
            phi, eta, xi1, xi2 = x
            a, b = np.cos(eta) * np.exp(1j * xi1), np.sin(eta) * np.exp(1j * xi2)
            return np.exp(1j * phi) * np.array([[a, -np.conj(b)], [b, np.conj(a)]])

        return _volume(
            su2,
            [0.0, 0.0, 0.0, 0.0],
            [np.pi, np.pi / 2, 2 * np.pi, 2 * np.pi],
            [True, False, True, True],
            [4, 12, 6, 6],
        )
    return None


# ------------------------------------------------------------------------------------------------ one job


def _sample(d: int, N: int, field: str, rng) -> dict:
    import dln

    X = random_matrix(rng, (d, d), field)
    s = np.linalg.svd(X, compute_uv=False)
    S_closed = float(np.real(ref.entropy_printed(s, N, field)))
    Q = haar_unitary(rng, (N - 1,), d, complex_=(field == "complex"))
    Wq = ref.action(Q, ref.center(X, N))
    S_gram = 0.5 * float(np.linalg.slogdet(ref.orbit_gram(Wq, field))[1])
    C = ref.center(X, N)
    G_C = ref.orbit_gram(C, field)
    lam = s ** (1.0 / N)
    # sector by sector: the basis of each slot is ordered by sector, so regroup slot-major into sector-major
    nb = len(ref.algebra_basis(d, field))
    perm = np.array([k * nb + b for b in range(nb) for k in range(N - 1)])
    Gs = G_C[np.ix_(perm, perm)]
    sectors = []
    for i in range(d):
        for j in range(i + 1, d):
            sectors += [(i, j)] * (1 if field == "real" else 2)
    if field == "complex":
        sectors += [(i, i) for i in range(d)]
    blocks = np.zeros_like(Gs)
    det_err = jb_err = 0.0
    for a, (i, j) in enumerate(sectors):
        Jb = ref.jacobi(lam[i], lam[j], N)
        blocks[a * (N - 1) : (a + 1) * (N - 1), a * (N - 1) : (a + 1) * (N - 1)] = Jb
        Dij = sum(lam[i] ** (2 * k) * lam[j] ** (2 * (N - 1 - k)) for k in range(N))
        det_err = max(det_err, abs(np.linalg.det(Jb) / Dij - 1.0))
        jb_err = max(jb_err, float(np.linalg.norm(dln.jacobi_block(lam[i], lam[j], N) - Jb) / np.linalg.norm(Jb)))
    ev_lib = np.linalg.eigvalsh(dln.orbit_gram_matrix(C, field))
    ev_ref = np.linalg.eigvalsh(G_C)
    g_cs = ref.entropy_gradient_cs(s, N, field)
    H_fd = ref.entropy_hessian_fd(s, N, field)
    return {
        "S_gram": S_gram,
        "S_closed": S_closed,
        "gram_err": abs(S_gram - S_closed),
        "entropy_err": abs(float(dln.entropy(s, N, field, constant=False)) - S_closed),
        "volume_gram_err": abs(float(dln.orbit_volume_gram(X, N, field=field, rng=rng)) - S_closed),
        "jacobi_form_err": float(np.linalg.norm(Gs - blocks) / np.linalg.norm(Gs)),
        "jacobi_det_err": det_err,
        "jacobi_block_err": jb_err,
        "orbit_gram_matrix_err": float(np.max(np.abs(ev_lib - ev_ref)) / np.max(np.abs(ev_ref))),
        "gradient_err": float(np.max(np.abs(dln.entropy_gradient(s, N, field) - g_cs)) / np.max(np.abs(g_cs))),
        "hessian_err": float(np.max(np.abs(dln.entropy_hessian(s, N, field) - H_fd)) / np.max(np.abs(H_fd))),
        "sigma_min": float(s[-1]),
        "sigma_max": float(s[0]),
    }


def _tau_hessian(s: np.ndarray, N: int, field: str) -> np.ndarray:
    """Hessian of S_N in tau = sqrt(N) sigma^{1/N} (the Euclidean coordinates of the chamber metric) by the
    chain rule: sigma'(tau)^2 d^2S/dsigma^2 + diag(sigma''(tau) dS/dsigma)."""
    tau = np.sqrt(N) * s ** (1.0 / N)
    ds = N * (tau / np.sqrt(N)) ** (N - 1) / np.sqrt(N)  # d sigma / d tau
    d2s = N * (N - 1) * (tau / np.sqrt(N)) ** (N - 2) / N  # d^2 sigma / d tau^2
    H = ref.entropy_hessian_fd(s, N, field)
    return H * ds[:, None] * ds[None, :] + np.diag(d2s * ref.entropy_gradient_cs(s, N, field))


def simulate(params: dict | None = None, progress=None) -> xr.Dataset:
    """One job (see the module docstring); per-sample variables along ``sample``, per-point along ``point``."""
    import dln

    P = SPEC.resolve(params, FAMILY)
    d, N, field = P["d"], P["N"], P["field"]
    rng = rng_from_params(family=FAMILY, **P)
    rows = [_sample(d, N, field, rng) for _ in range(P["n_samples"])]
    # concavity at random points of the chamber (real field: the statement of CKM)
    pts = np.sort(np.exp(rng.uniform(np.log(0.05), np.log(5.0), (P["n_points"], d))), axis=-1)[:, ::-1]
    top, indefinite, hess_tau_err = [], [], 0.0
    for s in pts:
        ev = np.linalg.eigvalsh(ref.entropy_hessian_fd(s, N, field))
        top.append(ev[-1] / np.max(np.abs(ev)))
        Ht = _tau_hessian(s, N, field)
        et = np.linalg.eigvalsh(Ht)
        indefinite.append(int(et[0] < 0 < et[-1]))
        Hl = dln.entropy_hessian(s, N, field, coords="tau")
        hess_tau_err = max(hess_tau_err, float(np.max(np.abs(Hl - Ht)) / np.max(np.abs(Ht))))
    lam = 0.7
    et = np.linalg.eigvalsh(_tau_hessian(np.full(d, lam**N), N, field))
    formula = np.array([-(N - 1) / (2 * lam**2) / N, (N - 1) * (2 * N - 1) / (6 * lam**2) / N])
    tau_eq_err = float(np.max(np.abs(et - formula) / np.abs(formula))) if (d == 2 and field == "real") else 0.0
    cd = group_volume_quadrature(d, field)
    k = d * (d - 1) / 4 if field == "real" else d * d / 2
    # the plotting curve sigma = (s, 1, ..., 1)
    sc = np.logspace(-2.0, 1.0, P["n_curve"])
    curve = np.ones((sc.size, d))
    curve[:, 0] = sc

    def col(name):
        return np.array([r[name] for r in rows])

    data = {name: _da(col(name), ("sample",), long) for name, long in _LONG.items()}
    data.update(
        {
            "hessian_top": _da(np.array(top), ("point",), "largest eigenvalue / max |eigenvalue| of d^2 S_N/dsigma^2"),
            "tau_indefinite": _da(
                np.array(indefinite, dtype=np.int8),
                ("point",),
                "1 if the tau-coordinate (Riemannian) Hessian of S_N has both signs",
            ),
            "hessian_tau_err": _da(hess_tau_err, (), "max |dln.entropy_hessian(tau) - chain rule| / max |chain rule|"),
            "tau_equal_err": _da(
                tau_eq_err,
                (),
                "max relative error of the tau-Hessian eigenvalues at equal "
                "lambda = 0.7 against (1/N)[-(N-1)/(2 lam^2)], (1/N)[(N-1)(2N-1)/(6 lam^2)] "
                "(d = 2, real; 0 otherwise)",
            ),
            "group_volume_quadrature": _da(
                0.0 if cd is None else cd, (), "vol(O_d) / vol(U_d) by quadrature (0 where not computed)"
            ),
            "group_volume_err": _da(
                0.0 if cd is None else abs(dln.group_volume(d, field) - cd) / cd,
                (),
                "|dln.group_volume - quadrature| / quadrature (0 where not computed)",
            ),
            "log_depth_coefficient_err": _da(
                abs(dln.entropy_log_depth_coefficient(d, field) - k) / k,
                (),
                "|dln.entropy_log_depth_coefficient - d(d-1)/4 (real), d^2/2 (complex)| / formula",
            ),
            "S_curve": _da(
                dln.entropy(curve, N, field, constant=False), ("s",), "S_N - (N-1) log c_d along sigma = (s, 1, ..., 1)"
            ),
            "S_curve_rescaled": _da(
                dln.entropy(curve, N, field, constant=False) - k * np.log(N),
                ("s",),
                "S_N - (N-1) log c_d - k_d log N along sigma = (s, 1, ..., 1)",
            ),
            "S_curve_inf": _da(
                dln.entropy_infinite_depth(curve, field),
                ("s",),
                "infinite-depth limit of S_N - (N-1) log c_d - k_d log N along (s, 1, ..., 1)",
            ),
        }
    )
    ds = xr.Dataset(
        data,
        coords={
            "sample": ("sample", np.arange(P["n_samples"]), {"long_name": "Gaussian X index", "units": "1"}),
            "point": ("point", np.arange(P["n_points"]), {"long_name": "random chamber point index", "units": "1"}),
            "s": ("s", sc, {"long_name": "first singular value s of the curve sigma = (s, 1, ..., 1)", "units": "1"}),
        },
    )
    return finalize_job(
        ds,
        P,
        __name__,
        title=f"Entropy of minimizing orbits: d={d}, N={N}, {field}",
        summary="Log-volume density of the minimizing orbit by the Gram determinant against the closed form (MY Thm 4 "
        "and its complex analogue), the Jacobi form of the Gram matrix, the group volume c_d, and the concavity "
        "of S_N on the chamber (CKM).",
    )


_LONG = {
    "S_gram": "1/2 log det Gram of the orbit tangent vectors at Q.C (printed formulas)",
    "S_closed": "closed form S_N - (N-1) log c_d (MY Thm 4 as quoted; its complex analogue)",
    "gram_err": "|S_gram - S_closed|",
    "entropy_err": "|dln.entropy(constant=False) - S_closed|",
    "volume_gram_err": "|dln.orbit_volume_gram - S_closed|",
    "jacobi_form_err": "|Gram at C - block-diagonal Jacobi form| / |Gram|, sector by sector",
    "jacobi_det_err": "max over sectors |det J_ij / sum_k lam_i^(2k) lam_j^(2(N-1-k)) - 1|",
    "jacobi_block_err": "max over sectors |dln.jacobi_block - tridiag(-lam_i lam_j, lam_i^2 + lam_j^2)| / |.|",
    "orbit_gram_matrix_err": "max |eigenvalues of dln.orbit_gram_matrix(C) - of the reference Gram| / max",
    "gradient_err": "max |dln.entropy_gradient - complex-step gradient of S_closed| / max",
    "hessian_err": "max |dln.entropy_hessian - central differences of the complex-step gradient| / max",
    "sigma_min": "smallest singular value of X",
    "sigma_max": "largest singular value of X",
}


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def fig_entropy(ds: xr.Dataset) -> Figure:
    """MY Theorem 4: closed-form log-volume of O_X against the Gram determinant, and S_N along a curve.

    ``ds`` is ``results/entropy.nc`` (dims d, N, field, seed, sample, point, s). (a) ``S_gram`` (numerical,
    1/2 log det Gram) against ``S_closed`` (closed form), both without the constant (N-1) log c_d, one marker per
    sample. (b) ``gram_err`` = |S_gram - S_closed| per sample in units of machine epsilon (symmetric-log axis:
    exact zeros at 0) against N. Colour: d; marker: field (filled real, open complex). (c) ``S_curve_rescaled``
    = S_N - k_d log N along sigma = (s, 1, ..., 1) for every N (colour) at the largest d (real where present),
    and the infinite-depth limit ``S_curve_inf`` (dashed).
    """
    pl = drawing_toolkit()
    fig, (ax1, ax2, ax3) = pl.figure(3, height=2.9)
    ds_ = pl.coords(ds, "d")
    dcolors = pl.colors(len(ds_))
    Ns = pl.coords(ds, "N")
    fields = pl.coords(ds, "field")
    n_pos = {N: i for i, N in enumerate(Ns)}
    groups = [(d, f) for d in ds_ for f in fields]
    offsets = pl.jitter(groups, 0.3)
    lo, hi = np.inf, -np.inf
    for d, field in groups:
        color = dcolors[ds_.index(d)]
        st = {
            "color": color,
            "marker": pl.FIELD_MARKER.get(str(field), "o"),
            "ls": "none",
            "ms": 4.5,
            "alpha": 0.8,
            "mfc": color if str(field) != "complex" else "none",
        }
        for N in Ns:
            one = pl.one(ds, {"d": d, "field": field, "N": N}, keep=("sample",))
            sc = np.atleast_1d(np.asarray(one["S_closed"].values, dtype=float))
            sg = np.atleast_1d(np.asarray(one["S_gram"].values, dtype=float))
            err = np.atleast_1d(np.asarray(one["gram_err"].values, dtype=float)) / pl.EPS
            ok = np.isfinite(sc) & np.isfinite(sg)
            ax1.plot(sc[ok], sg[ok], **st)
            if ok.any():
                lo, hi = min(lo, sc[ok].min(), sg[ok].min()), max(hi, sc[ok].max(), sg[ok].max())
            oke = np.isfinite(err)
            ax2.plot(np.full(oke.sum(), n_pos[N] + offsets[(d, field)]), err[oke], **st)
    if np.isfinite(lo):
        pad = max(0.05 * (hi - lo), 0.5)
        ax1.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, zorder=0)
    ax1.set(xlabel="closed form (MY Thm 4)", ylabel=r"$\frac{1}{2}\log\det$ Gram (numerical)")
    ax1.set_title("(a) log-volume of $\\mathcal{O}_X$")
    ax2.set_xticks(range(len(Ns)))
    ax2.set_xticklabels([pl.num(N) if N is not None else "" for N in Ns])
    ax2.set_xlim(-0.6, len(Ns) - 0.4)
    ax2.set_xlabel("depth $N$")
    pl.eps_axis(ax2, r"|numerical $-$ closed| / $\varepsilon$", signed=False)
    ax2.set_title("(b) difference per sample")
    # the curve: largest d, real if present
    dmax = max(d for d in ds_) if ds_ != [None] else None
    fsel = "real" if "real" in [str(f) for f in fields] else fields[0]
    ncolors = pl.seq_colors(len(Ns)) if len(Ns) > 1 else ["C0"]
    n_bar = len(Ns) > pl.MAX_COLOR_ENTRIES
    handles3 = []
    one = None
    for N, color in zip(Ns, ncolors, strict=True):
        one = pl.one(ds, {"d": dmax, "field": fsel, "N": N}, keep=("s",))
        ok = np.isfinite(np.asarray(one["S_curve_rescaled"].values, dtype=float))
        ax3.plot(one["s"].values[ok], one["S_curve_rescaled"].values[ok], color=color, lw=1.3)
        if not n_bar:
            handles3.append(pl.line(f"$N = {pl.num(N)}$" if N is not None else "$S_N$", color=color, lw=1.3))
    if one is not None and "S_curve_inf" in one:
        ax3.plot(one["s"].values, one["S_curve_inf"].values, "k--", lw=1.1)
        handles3.append(pl.line(r"$N \to \infty$", ls="--", lw=1.1))
    if n_bar:
        pl.key_colorbar(fig, ax3, Ns, ncolors, "depth $N$", pad=0.02)
    ax3.set(xscale="log", xlabel=r"$s$ in $\sigma = (s, 1, \dots, 1)$", ylabel=r"$S_N - k_d\log N$")
    ax3.set_title("(c) curve, " + pl.case_label({"d": dmax, "field": fsel}))
    for ax in (ax1, ax2, ax3):
        pl.grid(ax)
    handles = [
        pl.line(f"$d = {pl.num(d)}$", color=c, ls="none", marker="o", ms=4.5)
        for d, c in zip(ds_, dcolors, strict=True)
        if d is not None
    ]
    handles += [
        pl.line(
            str(f),
            color="k",
            ls="none",
            marker=pl.FIELD_MARKER.get(str(f), "o"),
            ms=4.5,
            mfc="k" if str(f) != "complex" else "none",
        )
        for f in fields
        if f is not None
    ]
    handles.append(pl.line("identity", ls="--", lw=0.8))
    width = fig.get_figwidth()
    title = "(a), (b): colour $d$, marker field"
    rows = max(
        pl.legend_below(fig, handles, ncols=3, where="left", width=0.62 * width, title=title, grow=False),
        pl.legend_below(fig, handles3, ncols=2, where="right", width=0.36 * width, title="(c): colour $N$", grow=False),
    )
    if rows > 3:
        fig.set_figheight(fig.get_figheight() + (rows - 3) * pl.LEGEND_ROW)
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "entropy": fig_entropy,
}
