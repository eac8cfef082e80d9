"""Print markdown tables: speed and accuracy of the fiber-gradient solvers.

Usage::

    python benchmarks/fiber_gradient_table.py            # speed table, d in {8,16,32}, N in {4,8,16}
    python benchmarks/fiber_gradient_table.py --accuracy # accuracy vs cond(X) against the dense reference
    python benchmarks/fiber_gradient_table.py --quick    # small sizes only (smoke test)

Speed table: for each (d, N) and a well-conditioned (cond(X) = 1e2) and an
ill-conditioned (cond(X) = 1e12) point of the ``"conditioned"`` ensemble of
:mod:`dln._fiber_inputs` (plus the near-identity and Gaussian ensembles with
``--ensembles``), the time per gradient of every solver, all measured in the
same run, the ratios new/dense and new/block (new = ``method="auto"``), and the
relative errors of b and w_b against the reference (``dense`` where it runs,
else ``block``). ``dense`` is skipped where its time, predicted from a
calibration run with the flop count m n^2 of the least-squares solve
(m = N d^2 rows, n = (N-1) d^2 columns), exceeds ``--dense-limit`` seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import dln
from dln._fiber_inputs import fiber_test_layers


def _time(fn, repeat: int, budget: float = 2.0) -> float:
    """Minimum wall time of ``fn()`` over up to ``repeat`` runs (fewer if slow); robust to load."""
    times = []
    t_start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - t_start > budget:
            break
    return float(np.min(times))


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def _dense_seconds_per_flop(field: str) -> float:
    W = fiber_test_layers(np.random.default_rng(0), 8, 8, "conditioned", 1e2, field)
    t = _time(lambda: dln.regularizing_generator(W, method="dense"), 3)
    m, n = 8 * 64, 7 * 64
    return t / (m * n * n)


def speed_table(dims, layers, conds, ensembles, repeat, dense_limit, field) -> str:
    spf = _dense_seconds_per_flop(field)
    rows = [
        "| ensemble | d | N | cond(X) | auto [ms] (its or block) | pcg [ms] | block [ms] | dense [ms] | normal [ms] "
        "| auto/dense | auto/block | err b (auto) | err w_b (auto) | err w_b (normal) | ref |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for ens in ensembles:
        for d in dims:
            for N in layers:
                for cond in conds if ens.startswith("conditioned") else [None]:
                    rng = np.random.default_rng([d, N, 7])
                    W = fiber_test_layers(rng, N, d, ens, cond if cond else 1.0, field)
                    cx = np.linalg.cond(dln.end_to_end(W))
                    info: dict = {}
                    try:
                        b_auto = dln.regularizing_generator(W, info=info)
                    except dln.RankDeficientError:
                        row = f"| {ens} | {d} | {N} | {cx:.0e} | X numerically singular: RankDeficientError |"
                        rows.append(row)
                        print(row, flush=True)
                        continue
                    t_auto = _time(lambda W=W: dln.regularizing_generator(W), repeat)
                    try:
                        t_pcg = _time(lambda W=W: dln.regularizing_generator(W, method="pcg"), repeat)
                        s_pcg = f"{t_pcg * 1e3:.1f}"
                    except dln.RankDeficientError:
                        s_pcg = "no conv."
                    b_block = dln.regularizing_generator(W, method="block")
                    t_block = _time(lambda W=W: dln.regularizing_generator(W, method="block"), repeat)
                    m, n = N * d * d, (N - 1) * d * d
                    pred = spf * m * n * n
                    if pred <= dense_limit:
                        b_ref = dln.regularizing_generator(W, method="dense")
                        t_dense = _time(lambda W=W: dln.regularizing_generator(W, method="dense"), repeat)
                        s_dense, s_rd, ref = f"{t_dense * 1e3:.1f}", f"{t_auto / t_dense:.2g}", "dense"
                    else:
                        b_ref, ref = b_block, "block"
                        s_dense, s_rd = f"skip (~{pred:.0f} s)", "-"
                    w_ref = dln.orbit_tangent(W, b_ref)
                    try:
                        w_norm = dln.fiber_gradient(W, method="normal")
                        t_norm = _time(lambda W=W: dln.fiber_gradient(W, method="normal"), repeat)
                        s_norm, s_en = f"{t_norm * 1e3:.1f}", f"{_rel(w_norm, w_ref):.1e}"
                    except dln.RankDeficientError:
                        s_norm, s_en = "singular", "-"
                    its = int(info["iterations"])
                    fb = " fb" if bool(info["fallback"]) else ""
                    s_its = "block" if (fb and its == 0) else f"{its}{fb}"
                    e_b, e_w = _rel(b_auto, b_ref), _rel(dln.orbit_tangent(W, b_auto), w_ref)
                    rows.append(
                        f"| {ens} | {d} | {N} | {cx:.0e} | {t_auto * 1e3:.1f} ({s_its}) | {s_pcg} | "
                        f"{t_block * 1e3:.1f} | {s_dense} | {s_norm} | {s_rd} | {t_auto / t_block:.2g} | "
                        f"{e_b:.1e} | {e_w:.1e} | {s_en} | {ref} |"
                    )
                    print(rows[-1], flush=True)
    return "\n".join(rows)


def accuracy_table(d, N, conds, fields, seeds) -> str:
    from scipy.linalg import cho_factor, cho_solve

    rows = [
        "| field | cond(X) | cond(H) | dense: rel. refinement step | dense: |w^*(W-w_b)|/(|W||w|) "
        "| auto err b | auto err w_b | pcg err b | block err b | normal err w_b |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for field in fields:
        for cond in conds:
            worst = np.zeros(8)
            for seed in range(seeds):
                W = fiber_test_layers(
                    np.random.default_rng([d, N, seed, int(np.log10(cond))]), N, d, "conditioned", cond, field
                )
                b_ref = dln.regularizing_generator(W, method="dense")
                Hm = dln.gram_matrix(W)
                G = dln.moments(W)
                res = (G - dln.gram_operator(W, b_ref)).reshape(-1)
                corr = cho_solve(cho_factor(Hm), res).reshape(b_ref.shape)
                w_ref = dln.orbit_tangent(W, b_ref)
                ortho = np.linalg.norm(dln.orbit_tangent_adjoint(W, W - w_ref)) / (
                    np.linalg.norm(W) * np.linalg.norm(dln.tangent_matrix(W), 2)
                )
                ev = np.linalg.eigvalsh(Hm)
                errs = [ev[-1] / ev[0], _rel(b_ref + corr, b_ref), ortho]
                b_auto = dln.regularizing_generator(W)
                errs += [_rel(b_auto, b_ref), _rel(dln.orbit_tangent(W, b_auto), w_ref)]
                try:
                    errs.append(_rel(dln.regularizing_generator(W, method="pcg", maxiter=20000), b_ref))
                except dln.RankDeficientError:
                    errs.append(np.inf)
                errs.append(_rel(dln.regularizing_generator(W, method="block"), b_ref))
                try:
                    errs.append(_rel(dln.fiber_gradient(W, method="normal"), w_ref))
                except dln.RankDeficientError:
                    errs.append(np.inf)
                worst = np.maximum(worst, errs)
            rows.append(f"| {field} | {cond:.0e} | " + " | ".join(f"{e:.1e}" for e in worst) + " |")
            print(rows[-1], flush=True)
    return "\n".join(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--accuracy", action="store_true", help="print the accuracy table instead")
    ap.add_argument("--ensembles", default="conditioned", help="comma list, e.g. conditioned,near_identity,gaussian")
    ap.add_argument("--field", default="real", choices=["real", "complex"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dims", default="8,16,32", help="comma list of layer sizes d of the speed table")
    ap.add_argument("--layers", default="4,8,16", help="comma list of layer counts N of the speed table")
    ap.add_argument("--d", type=int, default=None, help="layer size of the accuracy table (default 8)")
    ap.add_argument("--N", type=int, default=None, help="number of layers of the accuracy table (default 8)")
    ap.add_argument("--dense-limit", type=float, default=5.0, help="skip dense above this predicted time [s]")
    args = ap.parse_args(argv)
    print(
        f"# fiber-gradient solvers; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}\n"
    )
    if args.accuracy:
        d, N = (4, 4) if args.quick else (8, 8)
        d, N = args.d or d, args.N or N
        print(
            f"Accuracy vs cond(X): ensemble 'conditioned', d={d}, N={N}, worst of 3 seeds; errors relative to "
            "dense lstsq\n"
        )
        accuracy_table(d, N, [1e2, 1e4, 1e6, 1e8, 1e10, 1e12], ["real", "complex"], 3)
        return
    dims = [int(v) for v in args.dims.split(",")]
    layers = [int(v) for v in args.layers.split(",")]
    if args.quick:
        dims, layers = [4, 8], [4, 8]
    print(f"Time per gradient, field={args.field}; best of <= {args.repeat} runs\n")
    speed_table(dims, layers, [1e2, 1e12], args.ensembles.split(","), args.repeat, args.dense_limit, args.field)


if __name__ == "__main__":
    main()
