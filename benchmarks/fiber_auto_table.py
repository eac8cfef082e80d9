"""Print a markdown table: dln.fiber_gradient(method="auto") against the Kirwan-Ness field, block and dense.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/fiber_auto_table.py                 # d in {16,32,64,128}, N in {4,...,64}
    OPENBLAS_NUM_THREADS=1 python benchmarks/fiber_auto_table.py --quick         # d in {8, 16}, N in {4, 8}
    OPENBLAS_NUM_THREADS=1 python benchmarks/fiber_auto_table.py --dims 32 --layers 16 \\
        --ensembles conditioned_gaussian:1e10

For every ensemble of :mod:`dln._fiber_inputs` (``name:cond`` for the
conditioned ones) and every (d, N), all in the same run: the time of one
``fiber_gradient`` (auto), its ratio to one :func:`dln.kirwan_ness_field`
evaluation (the O(N d^3) reference cost), to the direct block solve
(``method="block"``) and to the dense least squares (``method="dense"``) where
these run (skipped where their time predicted by :func:`dln._fiber_normal.cost_model`,
or by the flop count (N d^2) ((N-1) d^2)^2 of the least squares, exceeds
``--block-limit`` / ``--dense-limit`` seconds), the iteration count and the
path taken, the relative error of w_b against the reference (dense where it
runs, else block), and the residuals of the two conditions that define w_b:
tangency |dphi(w_b)| / sum_k |P_k| |w_k| |Q_k| and normality
|w^*(W - w_b)| / (|W| |W - w_b|), for auto and for the reference. Times are the
minimum over up to ``--repeat`` runs. A summary table follows, one row per
ensemble (:func:`summary`): the median and range of auto/KN and of the iteration
count, the largest auto/block, the largest error of w_b against each reference.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import dln
from dln._fiber import auto_solves_directly
from dln._fiber_inputs import fiber_test_layers
from dln._fiber_normal import cost_model

DEFAULT_ENSEMBLES = "conditioned:1e2,conditioned:1e12,near_identity,gaussian,conditioned_gaussian:1e10"


def _time(fn, repeat: int, budget: float = 3.0) -> float:
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


def _residuals(W, w) -> tuple[float, float]:
    P, Q = dln.partial_products(W)
    nP, nw, nQ = (np.linalg.norm(a, axis=(-2, -1)) for a in (P, w, Q))
    scale = float(np.sum(nP * nw * nQ))
    tangent = np.linalg.norm(dln.dphi(W, w)) / scale
    normal = np.linalg.norm(dln.orbit_tangent_adjoint(W, W - w)) / (np.linalg.norm(W) * np.linalg.norm(W - w))
    return float(tangent), float(normal)


def _dense_seconds_per_flop(field: str) -> float:
    W = fiber_test_layers(np.random.default_rng(0), 6, 8, "conditioned", 1e2, field)
    t = _time(lambda: dln.fiber_gradient(W, method="dense"), 3)
    return t / (6 * 64 * (5 * 64) ** 2)


def summary(records: list[dict]) -> list[str]:
    """One row per ensemble: median and range of auto/KN and of the iteration count (rows that iterate on the normal
    space), the largest auto/block, the largest error of w_b against dense and against block (with the number of
    rows of each), the rows solved directly up front (the cost model's choice, :func:`dln._fiber.auto_solves_directly`)
    and those that fell back to the direct solve after iterating."""
    rows = [
        "| ensemble | rows | median auto/KN | range | median its (range) | max auto/block | max err w_b vs dense "
        "(rows) | vs block (rows) | direct solve up front | fallbacks |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for spec in dict.fromkeys(r["ensemble"] for r in records):
        rec = [r for r in records if r["ensemble"] == spec]
        ok = [r for r in rec if not r["singular"]]
        n_sing = len(rec) - len(ok)
        if not ok:
            rows.append(f"| {spec} | 0 (+{n_sing} singular) |" + " - |" * 8)
            continue
        kn = np.array([r["kn"] for r in ok])
        its = [r["its"] for r in ok if not r["direct"]]
        blk = [r["block"] for r in ok if r["block"] is not None]
        errs = {ref: [r["err"] for r in ok if r["ref"] == ref] for ref in ("dense", "block")}
        err = {ref: (f"{max(v):.1e} ({len(v)})" if v else "- (0)") for ref, v in errs.items()}
        rows.append(
            f"| {spec} | {len(ok)}{f' (+{n_sing} singular)' if n_sing else ''} | {np.median(kn):.3g} | "
            f"{kn.min():.3g}-{kn.max():.3g} | {f'{np.median(its):.0f} ({min(its)}-{max(its)})' if its else '-'} | "
            f"{max(blk) if blk else float('nan'):.3g} | {err['dense']} | {err['block']} | "
            f"{sum(r['direct'] for r in ok)} | {sum(r['fallback'] for r in ok)} |"
        )
    return rows


def table(ensembles, dims, layers, field, repeat, block_limit, dense_limit) -> list[str]:
    records: list[dict] = []
    spf = _dense_seconds_per_flop(field)
    rows = [
        "| ensemble | d | N | cond(X) | auto [ms] | path (its) | auto/KN | auto/block | auto/dense | "
        "err w_b | ref | tangency | normality | ref tangency | ref normality |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for spec in ensembles:
        name, _, cond = spec.partition(":")
        cond = float(cond) if cond else 1.0
        for d in dims:
            for N in layers:
                W = fiber_test_layers(np.random.default_rng([d, N, 7]), N, d, name, cond, field)
                cx = float(np.linalg.cond(dln.end_to_end(W)))
                if not cx < 1e14:
                    records.append({"ensemble": spec, "singular": True})
                    rows.append(f"| {spec} | {d} | {N} | {cx:.0e} | X numerically singular |" + "  |" * 10)
                    print(rows[-1], flush=True)
                    continue
                info: dict = {}
                w = dln.fiber_gradient(W, info=info)
                t_auto = _time(lambda W=W: dln.fiber_gradient(W), repeat)
                t_kn = _time(lambda W=W: dln.kirwan_ness_field(W), max(repeat, 20), 1.0)
                path = "normal" if str(info.get("method")) == "normal_pcg" else "H"
                direct = auto_solves_directly(N, d, field == "complex")
                label = "H up front" if direct else "normal, then H" if path == "H" else "normal"
                its = f"{label} ({int(info['iterations'])})"
                ref, ref_name, s_block, s_dense, r_block = None, "-", "-", "-", None
                if cost_model(N, d, field == "complex")["block"] <= block_limit:
                    try:
                        t0 = time.perf_counter()
                        ref = dln.fiber_gradient(W, method="block")
                        t_block = time.perf_counter() - t0
                        if t_block < 1.0:
                            t_block = min(t_block, _time(lambda W=W: dln.fiber_gradient(W, method="block"), repeat))
                        ref_name, r_block = "block", t_auto / t_block
                        s_block = f"{r_block:.3g}"
                    except dln.RankDeficientError:
                        s_block = "H singular"
                if spf * N * d * d * ((N - 1) * d * d) ** 2 <= dense_limit:
                    ref = dln.fiber_gradient(W, method="dense")
                    t_dense = _time(lambda W=W: dln.fiber_gradient(W, method="dense"), 1)
                    ref_name, s_dense = "dense", f"{t_auto / t_dense:.3g}"
                err = f"{_rel(w, ref):.1e}" if ref is not None else "-"
                tangent, normal = _residuals(W, w)
                s_ref = "- | -" if ref is None else "{:.0e} | {:.0e}".format(*_residuals(W, ref))
                rows.append(
                    f"| {spec} | {d} | {N} | {cx:.0e} | {t_auto * 1e3:.2f} | {its} | {t_auto / t_kn:.3g} | {s_block} "
                    f"| {s_dense} | {err} | {ref_name} | {tangent:.0e} | {normal:.0e} | {s_ref} |"
                )
                print(rows[-1], flush=True)
                records.append(
                    {
                        "ensemble": spec,
                        "singular": False,
                        "kn": t_auto / t_kn,
                        "its": int(info["iterations"]),
                        "block": r_block,
                        "ref": ref_name,
                        "err": _rel(w, ref) if ref is not None else None,
                        "direct": direct,
                        "fallback": path == "H" and not direct,
                    }
                )
    summ = summary(records)
    print("\n" + "\n".join(summ), flush=True)
    return rows + ["", *summ]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="d in {8, 16}, N in {4, 8}")
    ap.add_argument("--ensembles", default=DEFAULT_ENSEMBLES, help="comma list of name[:cond]")
    ap.add_argument("--dims", default="16,32,64,128")
    ap.add_argument("--layers", default="4,8,16,32,64")
    ap.add_argument("--field", default="real", choices=["real", "complex"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--block-limit", type=float, default=5.0, help="skip block above this predicted time [s]")
    ap.add_argument("--dense-limit", type=float, default=2.0, help="skip dense above this predicted time [s]")
    args = ap.parse_args(argv)
    dims = [int(v) for v in args.dims.split(",")]
    layers = [int(v) for v in args.layers.split(",")]
    if args.quick:
        dims, layers = [8, 16], [4, 8]
    print(
        f"# fiber_gradient(auto); {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
        f"field={args.field}\n",
        flush=True,
    )
    table(args.ensembles.split(","), dims, layers, args.field, args.repeat, args.block_limit, args.dense_limit)


if __name__ == "__main__":
    main()
