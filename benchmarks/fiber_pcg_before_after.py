"""Before/after table of the default fiber-gradient solver (``method="auto"``, iterative for d > 12).

"before" = the float64 red-black PCG frozen in ``benchmarks/_fiber_cg_baseline.py``;
"after" = the current ``dln._fiber_cg.hat_pcg`` (mixed-precision refinement). Both run
through the same dispatch (``dln.fiber_gradient``) in the same process, timed
alternately (best of ``--repeat``), so they see the same machine state.
Errors are relative (Frobenius) errors of b and w_b against a reference: dense
least squares where (N d^2)((N-1) d^2)^2 <= ``--dense-flops``, else the direct
block solver.

Usage (single-threaded BLAS, as the other benchmarks)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/fiber_pcg_before_after.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/fiber_pcg_before_after.py --dims 32 --layers 16 --fields real,complex
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import dln
import dln._fiber as fiber
from dln._fiber_inputs import fiber_test_layers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _fiber_cg_baseline as baseline  # noqa: E402

NEW = fiber.hat_pcg
CASES = [("near_identity", 1.0), ("conditioned", 1e2), ("conditioned", 1e12)]


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def _run(W, which: str):
    fiber.hat_pcg = NEW if which == "after" else baseline.hat_pcg
    try:
        info: dict = {}
        b = dln.regularizing_generator(W, info=info)
        return b, info
    finally:
        fiber.hat_pcg = NEW


def _timed(W, which: str) -> float:
    fiber.hat_pcg = NEW if which == "after" else baseline.hat_pcg
    try:
        t0 = time.perf_counter()
        dln.fiber_gradient(W)
        return time.perf_counter() - t0
    finally:
        fiber.hat_pcg = NEW


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default="16,32")
    ap.add_argument("--layers", default="8,16")
    ap.add_argument("--fields", default="real")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dense-flops", type=float, default=1e10)
    args = ap.parse_args(argv)
    print(f"# OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, numpy {np.__version__}\n")
    print(
        "| field | d | N | ensemble | cond(X) | before [ms] | before its | after [ms] | after its | speed-up "
        "| err b before | err b after | err w_b before | err w_b after | ref |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for field in args.fields.split(","):
        for d in [int(v) for v in args.dims.split(",")]:
            for N in [int(v) for v in args.layers.split(",")]:
                for ens, cond in CASES:
                    W = fiber_test_layers(np.random.default_rng([d, N, 7]), N, d, ens, cond, field)
                    cx = np.linalg.cond(dln.end_to_end(W))
                    m, n = N * d * d, (N - 1) * d * d
                    ref = "dense" if m * n * n <= args.dense_flops else "block"
                    b_ref = dln.regularizing_generator(W, method=ref)
                    w_ref = dln.orbit_tangent(W, b_ref)
                    res = {}
                    for which in ("before", "after"):
                        b, info = _run(W, which)
                        res[which] = (b, info)
                    times = {"before": [], "after": []}
                    for _ in range(args.repeat):
                        for which in ("before", "after"):
                            times[which].append(_timed(W, which))
                    tb, ta = min(times["before"]), min(times["after"])
                    row = [field, str(d), str(N), ens, f"{cx:.0e}"]
                    for which, t in (("before", tb), ("after", ta)):
                        info = res[which][1]
                        its = int(info["iterations"])
                        its_s = f"{its}" + (" fb" if bool(info["fallback"]) else "")
                        row += [f"{t * 1e3:.1f}", its_s]
                    row.append(f"{tb / ta:.2f}")
                    row += [f"{_rel(res[w][0], b_ref):.1e}" for w in ("before", "after")]
                    row += [f"{_rel(dln.orbit_tangent(W, res[w][0]), w_ref):.1e}" for w in ("before", "after")]
                    row.append(ref)
                    print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
