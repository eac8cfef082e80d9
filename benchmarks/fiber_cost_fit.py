"""Measure the costs that :func:`dln._fiber_normal.cost_model` predicts, and print them next to the model.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/fiber_cost_fit.py          # block solve and CG iteration costs
    OPENBLAS_NUM_THREADS=1 python benchmarks/fiber_cost_fit.py --fit    # also the least-squares refit

Block solve: ``fiber_gradient(method="block")`` for d in 6..32, N in {3, 6} (best of 3), fitted as
a + (N-1) (b + c d^4 + e d^6) by non-negative least squares in relative error. CG iteration: the
difference of :func:`dln._fiber_normal.normal_pcg` (Jacobi) capped at 10 and at 60 iterations on
``conditioned_gaussian:1e10`` layers (which need hundreds), divided by the difference of the
iteration counts; the setup is the 10-iteration time less 10 iterations. The ratios model / measured
are what matter: ``fiber_gradient(method="auto")`` compares the block solve with the setup and
the iterations, and caps the iterations at a fraction of the block solve.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from scipy.optimize import nnls

import dln
from dln._fiber_inputs import fiber_test_layers
from dln._fiber_normal import cost_model, normal_pcg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_time  # noqa: E402


def block_rows(field: str) -> list[tuple[int, int, float]]:
    rows = []
    for d in (6, 8, 12, 16, 24, 32):
        for N in (3, 6):
            W = fiber_test_layers(np.random.default_rng([d, N]), N, d, "conditioned", 1e2, field)
            t, _ = best_time(lambda W=W: dln.fiber_gradient(W, method="block"))
            m = cost_model(N, d, field == "complex")["block"]
            print(f"| {field} | block | {d} | {N} | {t * 1e3:.3g} ms | {m * 1e3:.3g} ms | {m / t:.2f} |", flush=True)
            rows.append((d, N, t))
    return rows


def iteration_rows(field: str) -> None:
    for d in (8, 16, 32, 64, 128):
        for N in (4, 16):
            W = fiber_test_layers(np.random.default_rng([d, N]), N, d, "conditioned_gaussian", 1e10, field)[None]
            runs = {}
            for cap in (10, 60):
                t, (_, _, st) = best_time(
                    lambda cap=cap, W=W: normal_pcg(W, tol=1e-300, maxiter=cap, preconditioner="jacobi", check_every=10)
                )
                runs[cap] = (t, int(st["iterations"][0]))
            (t1, i1), (t2, i2) = runs[10], runs[60]
            it = (t2 - t1) / max(i2 - i1, 1)
            setup = t1 - i1 * it
            c = cost_model(N, d, field == "complex")
            print(
                f"| {field} | iteration | {d} | {N} | {it * 1e6:.3g} us | {c['iteration'] * 1e6:.3g} us | "
                f"{c['iteration'] / it:.2f} |",
                flush=True,
            )
            print(
                f"| {field} | setup | {d} | {N} | {setup * 1e3:.3g} ms | {c['setup'] * 1e3:.3g} ms | "
                f"{c['setup'] / max(setup, 1e-9):.2f} |",
                flush=True,
            )


def fit_block(rows) -> np.ndarray:
    A = np.array([[1.0, N - 1.0, (N - 1.0) * d**4, (N - 1.0) * d**6] for d, N, _ in rows])
    t = np.array([r[2] for r in rows])
    coef, _ = nnls(A / t[:, None], np.ones_like(t))
    return coef


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="print the refitted block-solve coefficients")
    args = ap.parse_args()
    print("| field | cost | d | N | measured | model | model / measured |")
    print("|---|---|---|---|---|---|---|")
    fits = {}
    for field in ("real", "complex"):
        fits[field] = block_rows(field)
        iteration_rows(field)
    if args.fit:
        for field, rows in fits.items():
            a, b, c, e = fit_block(rows)
            print(f"{field}: block = {a:.3g} + (N-1) ({b:.3g} + {c:.3g} d^4 + {e:.3g} d^6) s")


if __name__ == "__main__":
    main()
