"""Regularizing flow: steps, H-solves, time and G(t) error before/after, against scipy's DOP853.

Run with ``OPENBLAS_NUM_THREADS=1 python benchmarks/flow_before_after.py`` (``--quick`` for
d = 4, N = 6 only). For each case (d, N, field; Gaussian layers, t in [0, 5], 26 output times):

* ``before``: RKMK with the Dormand-Prince 5(4) pair in exponential coordinates, H(b) = G by
  the block-tridiagonal elimination of :func:`dln._flows._generator_direct` (the former defaults);
* ``after``: :func:`dln.regularizing_flow` with its defaults (RKMK 8(5,3) in linear coordinates W <- (I + u).W,
  the H-solve of its ``solver="auto"``: the assembled dense solve of :mod:`dln._flow_generator`
  for small real systems), and at the loosest rtol of a ladder whose G(t) error is <= 1e-10 (equal accuracy);
* ``DOP853``: :func:`scipy.integrate.solve_ivp` on the flattened ODE W' = -w_b with the same
  right-hand side (the H-solve :func:`dln.regularizing_flow` picks for these layers), at the
  loosest tolerance of a ladder whose G(t) error is <= 1e-10.

Both ladders step by the same factor 2 (:data:`STEP`), from tight to loose; the loosest tolerance
taken is the last one before the first whose G error exceeds the target.

G error: max over t of |G(t) - G_0 e^{-2t}| / |G_0 e^{-2t}|; X error: max over t of
|X(t) - X_0| / |X_0|. Times are the best of ``--repeat`` runs, all measured in this one run,
so the ratios are comparable even on a busy machine.

A second table does the same for the Kirwan-Ness flow W' = -w_{2G} (Gaussian layers, t in [0, 30],
101 output times; :data:`KN_CASES`): ``dp54`` (RKMK 5(4) in exponential coordinates, the former
default) and ``dop853`` (RKMK 8(5,3) in linear coordinates, the default) of
:func:`dln.kirwan_ness_flow` at their loosest rtol of :data:`KN_LADDER`, and ``DOP853`` on the
flattened ODE with :func:`dln.kirwan_ness_field` at its loosest of :data:`LADDER`, each whose
W error (max over t of |W(t) - W_ref(t)|_max / |W_ref|_max, W_ref by ``dp54`` at rtol 1e-13)
is <= :data:`KN_TARGET`.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from scipy.integrate import solve_ivp

import dln
from dln import _linalg as la
from dln._flow_generator import generator_dense, use_dense
from dln._flows import _generator_direct
from dln._integrators import integrate_group

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_time  # noqa: E402

TARGET = 1e-10
#: output times of every run
T_OUT = np.linspace(0.0, 5.0, 26)
#: ratio of consecutive tolerances of both ladders
STEP = 2.0
#: DOP853's rtol (atol = 1e-3 rtol), tight to loose
LADDER = tuple(2.5e-14 * STEP**k for k in range(13))
#: regularizing_flow's rtol, tight to loose
AFTER_LADDER = tuple(1e-11 * STEP**k for k in range(9))


def loosest(error_at, ladder, target):
    """(the loosest tolerance of ``ladder``, tight to loose, before the first whose ``error_at(tol)`` exceeds
    ``target``; whether any met it). Where none does: (the tightest, False)."""
    chosen = None
    for tol in ladder:
        if error_at(tol) > target:
            break
        chosen = tol
    return (ladder[0], False) if chosen is None else (chosen, True)


def _label(text: str, tol: float, met: bool) -> str:
    return f"{text} {tol:.1e}{'' if met else ' (target not met)'}"


def g_error(Wt: np.ndarray, t: np.ndarray) -> float:
    G = dln.moments(Wt)
    pred = G[0] * np.exp(-2.0 * t)[:, None, None, None]
    return float(np.max(la.norm(G - pred, 3) / la.norm(pred, 3)))


def x_error(Wt: np.ndarray) -> float:
    X = dln.end_to_end(Wt)
    return float(np.max(la.norm(X - X[0]) / la.norm(X[0])))


def before(W0, t):
    st = {}
    Wt = integrate_group(lambda W: -_generator_direct(W), W0, t, method="dp54", coordinates="exp", stats=st)
    return Wt, st


def after(W0, t, rtol=1e-10):
    st = {}
    return dln.regularizing_flow(W0, t, rtol=rtol, stats=st), st


def flat_dop853(field, W0, t, rtol):
    """scipy's DOP853 on W' = field(W), flattened to real vectors (atol = 1e-3 rtol), at the times t."""
    shape, cplx = W0.shape, np.iscomplexobj(W0)
    half = W0.size

    def rhs(_, y):
        V = field((y[:half] + 1j * y[half:]).reshape(shape) if cplx else y.reshape(shape))
        return np.concatenate([V.real.ravel(), V.imag.ravel()]) if cplx else V.ravel()

    y0 = np.concatenate([W0.real.ravel(), W0.imag.ravel()]) if cplx else W0.ravel()
    sol = solve_ivp(rhs, (0.0, float(t[-1])), y0, method="DOP853", t_eval=t, rtol=rtol, atol=1e-3 * rtol)
    Y = sol.y.T
    Wt = (Y[:, :half] + 1j * Y[:, half:]).reshape((-1,) + shape) if cplx else Y.reshape((-1,) + shape)
    return Wt, {"n_steps": "-", "n_evals": int(sol.nfev)}


def dop853(W0, t, rtol):
    dense = use_dense(W0)  # the H-solve regularizing_flow uses for these layers

    def field(W):
        b = generator_dense(W) if dense else _generator_direct(W)
        V = np.zeros_like(W)
        V[:-1] -= b @ W[:-1]
        V[1:] += W[1:] @ b
        return V

    return flat_dop853(field, W0, t, rtol)


def run_case(d: int, N: int, field: str, repeat: int) -> list[str]:
    W0 = dln.random_layers(np.random.default_rng([d, N, 0 if field == "real" else 1]), N, d, field)
    t = T_OUT
    rows = []
    tb, (Wb, sb) = best_time(lambda: before(W0, t), repeat)
    ta, (Wa, sa) = best_time(lambda: after(W0, t), repeat)
    matched, met_after = loosest(lambda rtol: g_error(after(W0, t, rtol)[0], t), AFTER_LADDER, TARGET)
    tm, (Wm, sm) = best_time(lambda: after(W0, t, matched), repeat)
    chosen, met_dop = loosest(lambda rtol: g_error(dop853(W0, t, rtol)[0], t), LADDER, TARGET)
    td, (Wd, sd) = best_time(lambda: dop853(W0, t, chosen), repeat)
    cases = (
        ("before", tb, Wb, sb),
        ("after (defaults, rtol 1e-10)", ta, Wa, sa),
        (_label("after, rtol", matched, met_after), tm, Wm, sm),
        (_label("DOP853 rtol", chosen, met_dop), td, Wd, sd),
    )
    for label, T, W, st in cases:
        rows.append(
            f"| {d} | {N} | {field} | {label} | {st['n_steps']} | {st['n_evals']} | {1e3 * T:.1f} | "
            f"{T / td:.2f} | {g_error(W, t):.1e} | {x_error(W):.1e} |"
        )
    return rows


KN_TARGET = 1e-10
#: rtol of dln.kirwan_ness_flow, tight to loose
KN_LADDER = tuple(1e-11 * STEP**k for k in range(14))
#: (d, N) of the Kirwan-Ness table
KN_CASES = ((3, 5), (4, 6))
KN_T = np.linspace(0.0, 30.0, 101)


def kn_case(d: int, N: int, field: str, repeat: int) -> list[str]:
    W0 = dln.random_layers(np.random.default_rng([d, N, 3]), N, d, field)
    t = KN_T
    ref = dln.kirwan_ness_flow(W0, t, rtol=1e-13, method="dp54")
    scale = float(np.max(np.abs(ref)))

    def w_error(Wt) -> float:
        return float(np.max(np.abs(Wt - ref)) / scale)

    def ours(method, rtol):
        st = {}
        return dln.kirwan_ness_flow(W0, t, rtol=rtol, method=method, stats=st), st

    def scipy_dop853(rtol):
        return flat_dop853(dln.kirwan_ness_field, W0, t, rtol)

    runs = []
    for method in ("dp54", "dop853"):
        rtol, met = loosest(lambda r, m=method: w_error(ours(m, r)[0]), KN_LADDER, KN_TARGET)
        T, (Wt, st) = best_time(lambda m=method, r=rtol: ours(m, r), repeat)
        runs.append((_label(f"kirwan_ness_flow {method}, rtol", rtol, met), T, Wt, st))
    rtol, met = loosest(lambda r: w_error(scipy_dop853(r)[0]), LADDER, KN_TARGET)
    T, (Wt, st) = best_time(lambda: scipy_dop853(rtol), repeat)
    runs.append((_label("DOP853 rtol", rtol, met), T, Wt, st))
    td = runs[-1][1]
    return [
        f"| {d} | {N} | {field} | {label} | {st['n_steps']} | {st['n_evals']} | {1e3 * T:.1f} | {T / td:.2f} | "
        f"{w_error(Wt):.1e} | {x_error(Wt):.1e} |"
        for label, T, Wt, st in runs
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only d = 4, N = 6")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cases = [(4, 6)] if args.quick else [(4, 6), (3, 4), (2, 8), (4, 8)]
    print("| d | N | field | method | steps | H-solves | time [ms] | time / DOP853 | G error | X error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d, N in cases:
        for field in ("real", "complex"):
            for row in run_case(d, N, field, args.repeat):
                print(row, flush=True)
    print(
        "\n| d | N | field | Kirwan-Ness flow | steps | field evals | time [ms] | time / DOP853 | W error | X error |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d, N in KN_CASES[:1] if args.quick else KN_CASES:
        for field in ("real", "complex"):
            for row in kn_case(d, N, field, args.repeat):
                print(row, flush=True)


if __name__ == "__main__":
    main()
