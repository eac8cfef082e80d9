"""pytest-benchmark: fiber-gradient solvers, new ("auto") vs dense vs block (and normal) and the KN field, same run.

Run with ``pytest benchmarks/ --benchmark-enable`` (add ``--benchmark-group-by=group``
to compare the methods of one case side by side; ``kn_field`` is one evaluation of
:func:`dln.kirwan_ness_field`, the reference cost). The full table with all ensembles,
ratios and errors: ``benchmarks/fiber_auto_table.py``. Cases: d in {8, 16, 32},
N in {4, 8, 16}, a well-conditioned (cond(X) = 1e2) and an ill-conditioned
(cond(X) = 1e12) point of the "conditioned" ensemble of :mod:`dln._fiber_inputs`.

``dense`` (least squares on the (N d^2) x ((N-1) d^2) tangent matrix) is skipped
where the flop count m n^2 of the least-squares solve exceeds 3e10, i.e. where it
takes more than ~5 s per call on a 2-core machine: (d, N) = (16, 16) and d = 32.
Each benchmark also checks its answer against ``block`` (relative error < 1e-8).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import dln
from dln._fiber_inputs import fiber_test_layers

DENSE_MAX_FLOPS = 3e10


@functools.cache
def _case(d: int, N: int, cond: float):
    W = fiber_test_layers(np.random.default_rng([d, N, 7]), N, d, "conditioned", cond)
    return W, dln.fiber_gradient(W, method="block")


def _dense_too_slow(d: int, N: int) -> bool:
    m, n = N * d * d, (N - 1) * d * d
    return m * n * n > DENSE_MAX_FLOPS


@pytest.mark.parametrize("cond", [1e2, 1e12], ids=["well", "ill"])
@pytest.mark.parametrize("N", [4, 8, 16])
@pytest.mark.parametrize("d", [8, 16, 32])
@pytest.mark.parametrize("method", ["auto", "block", "dense", "normal", "kn_field"])
def test_fiber_gradient_speed(benchmark, method, d, N, cond):
    if method == "kn_field":  # the reference cost: one Kirwan-Ness field evaluation
        W, _ = _case(d, N, cond)
        benchmark.group = f"d={d} N={N} cond(X)={cond:.0e}"
        benchmark.pedantic(dln.kirwan_ness_field, args=(W,), rounds=20, iterations=1)
        return
    if method == "dense" and _dense_too_slow(d, N):
        pytest.skip(f"dense lstsq needs ~{N * d * d * ((N - 1) * d * d) ** 2:.1e} flops (> 5 s per call)")
    W, ref = _case(d, N, cond)
    benchmark.group = f"d={d} N={N} cond(X)={cond:.0e}"
    slow = method == "block" and d >= 32 or method == "dense" and d >= 16
    if method == "normal":
        try:
            dln.fiber_gradient(W, method="normal")
        except dln.RankDeficientError:
            pytest.skip("normal-space system numerically singular (cond(L) ~ cond(X)^2)")
    out = benchmark.pedantic(
        dln.fiber_gradient, args=(W,), kwargs={"method": method}, rounds=1 if slow else 5, iterations=1
    )
    err = np.linalg.norm(out - ref) / np.linalg.norm(ref)
    benchmark.extra_info["rel_error_vs_block"] = float(err)
    if method != "normal":
        assert err < 1e-8
