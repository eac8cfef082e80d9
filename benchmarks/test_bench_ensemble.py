"""Ensemble Euler-Maruyama throughput vs a per-sample Python loop (LM section 4.2), measured in the same run.

Throughput = trajectory-steps per second for the Langevin equation (4.4) with E = |X - Y|^2 / 2,
N = 3, d = 2 (real). The ensemble advances 10^4 paths as one array; the baseline calls the same
integrator once per sample (one path at a time). Target: ratio >= 20.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_ensemble.py -q -s --benchmark-enable``
"""

from __future__ import annotations

import time

import numpy as np

import dln
from dln._stochastic import langevin_drift, langevin_em

N_PATHS = 10_000
N_STEPS = 20
N_LOOP = 100  # samples in the per-sample baseline
TARGET_RATIO = 20.0


def _problem():
    rng = np.random.default_rng(0)
    W0 = dln.random_layers(rng, 3, 2, "real")
    Y = rng.standard_normal((2, 2))
    return W0, (lambda X: X - Y)


def _ensemble(W0, grad, rng):
    return langevin_em(W0, grad, 1.0, 10.0, 0.01, N_STEPS, rng, n_paths=N_PATHS)


def _loop(W0, grad, rng):
    """The natural per-sample implementation: one path at a time, batch-first small-matrix numpy."""
    out = []
    sig = np.sqrt(2.0 / 10.0 * 0.01)
    for _ in range(N_LOOP):
        W = W0.copy()
        for _ in range(N_STEPS):
            W = W + 0.01 * langevin_drift(W, grad, 1.0) + sig * rng.standard_normal(W.shape)
        out.append(W)
    return out


def _loop_same_function(W0, grad, rng):
    """The same integrator called once per sample."""
    return [langevin_em(W0, grad, 1.0, 10.0, 0.01, N_STEPS, rng) for _ in range(N_LOOP)]


def _best_time(fn, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_ensemble_throughput_vs_python_loop(benchmark):
    W0, grad = _problem()
    rng = np.random.default_rng(1)
    t_ens = _best_time(lambda: _ensemble(W0, grad, rng))
    t_loop = _best_time(lambda: _loop(W0, grad, rng))
    t_same = _best_time(lambda: _loop_same_function(W0, grad, rng))
    thr_ens = N_PATHS * N_STEPS / t_ens
    thr_loop = N_LOOP * N_STEPS / t_loop
    thr_same = N_LOOP * N_STEPS / t_same
    ratio = thr_ens / thr_loop
    benchmark.extra_info.update(
        {
            "ensemble_traj_steps_per_s": thr_ens,
            "loop_traj_steps_per_s": thr_loop,
            "loop_same_function_traj_steps_per_s": thr_same,
            "ratio": ratio,
            "ratio_same_function": thr_ens / thr_same,
        }
    )
    print(
        f"\nensemble {thr_ens:.3g} traj-steps/s, per-sample loop {thr_loop:.3g} traj-steps/s (ratio {ratio:.1f}), "
        f"langevin_em per sample {thr_same:.3g} traj-steps/s (ratio {thr_ens / thr_same:.1f})"
    )
    benchmark(lambda: _ensemble(W0, grad, rng))
    assert ratio >= TARGET_RATIO
