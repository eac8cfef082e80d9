"""Solvers of the fiber gradient w_b, H(b) = G (LM Lemma 5, eq. 2.19): agreement, accuracy, errors.

The dense least-squares solver is the reference. Its own accuracy is checked where
it matters (cond(X) = 1e12): one step of iterative refinement on H b = G must
change it by less than the tolerance, and W - w_b must be orthogonal to the
tangent space, w^*(W - w_b) = 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import dln
from dln._fiber_inputs import fiber_test_layers
from dln.tolerances import TOL

AGREE = TOL["solver_agreement"].value  # 1e-8
IDENT = TOL["identity"].value  # 1e-10

# Relative error of b and w_b against the dense reference at cond(X) <= 1e12 (reason in TOL).
FIBER_ILL_B = TOL["fiber_ill_b"].value
# Normal-space method ("normal"): it squares cond(X), so it is only accurate for
# well-conditioned X; checked at cond(X) = 1e2 with TOL["solver_agreement"].


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _layers(seed, N, d, ensemble="conditioned", cond=1e2, field="real", batch=()):
    rng = dln.rng_from_params(test="fiber_solvers", seed=seed, N=N, d=d, ensemble=ensemble, cond=cond, field=field)
    return fiber_test_layers(rng, N, d, ensemble, cond, field, batch)


CASES = [(2, 3), (3, 2), (3, 4), (4, 5), (5, 3)]  # (d, N)


@pytest.mark.claims("NUM-solvers")
@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("d,N", CASES)
@pytest.mark.parametrize("ensemble", ["near_identity", "conditioned", "gaussian"])
def test_every_method_agrees_with_dense(field, d, N, ensemble):
    for seed in range(2):
        W = _layers(seed, N, d, ensemble, 1e2, field)
        b_ref = dln.regularizing_generator(W, method="dense")
        w_ref = dln.orbit_tangent(W, b_ref)
        for method in ("auto", "pcg", "block"):
            b = dln.regularizing_generator(W, method=method, maxiter=5000)
            assert b.dtype == b_ref.dtype
            assert _rel(b, b_ref) < AGREE, (method, seed)
            assert _rel(dln.fiber_gradient(W, method=method, maxiter=5000), w_ref) < AGREE, (method, seed)
        if ensemble != "gaussian":  # the normal-space method squares cond(X)
            assert _rel(dln.fiber_gradient(W, method="normal"), w_ref) < AGREE


@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("ensemble", ["near_identity", "conditioned"])
def test_auto_uses_the_iteration_for_larger_layers(field, ensemble):
    # d = 13 > AUTO_BLOCK_MAX_D: "auto" runs "pcg"; reference "block" (dense lstsq is slow here)
    W = _layers(12, 4, 13, ensemble, 1e6, field)
    ref = dln.regularizing_generator(W, method="block")
    info: dict = {}
    b = dln.regularizing_generator(W, info=info)
    assert not info["fallback"] and info["iterations"] > 0
    assert _rel(b, ref) < AGREE
    assert _rel(dln.orbit_tangent(W, b), dln.orbit_tangent(W, ref)) < AGREE


@pytest.mark.parametrize("method", ["auto", "pcg", "block", "dense", "normal"])
@pytest.mark.parametrize("field", ["real", "complex"])
def test_batched_input_equals_per_item_calls(method, field):
    W = _layers(3, 4, 3, "near_identity", field=field, batch=(2, 3))
    out = dln.fiber_gradient(W, method=method)
    assert out.shape == W.shape
    for i in range(2):
        for j in range(3):
            assert _rel(out[i, j], dln.fiber_gradient(W[i, j], method=method)) < IDENT


@pytest.mark.claims("NUM-solvers")
@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("cond", [1e2, 1e6, 1e12])
def test_accuracy_against_a_checked_dense_reference(field, cond):
    d, N = 4, 5
    for seed in range(2):
        W = _layers(seed, N, d, "conditioned", cond, field)
        assert np.linalg.cond(dln.end_to_end(W)) == pytest.approx(cond, rel=1e-2)
        b_ref = dln.regularizing_generator(W, method="dense")
        w_ref = dln.orbit_tangent(W, b_ref)
        # the reference itself: one refinement step on H b = G (dense Cholesky) barely moves it ...
        Hm = dln.gram_matrix(W)
        res = (dln.moments(W) - dln.gram_operator(W, b_ref)).reshape(-1)
        step = np.linalg.solve(Hm, res)
        assert np.linalg.norm(step) / np.linalg.norm(b_ref) < 0.1 * FIBER_ILL_B
        # ... and W - w_b is orthogonal to the tangent space: w^*(W - w_b) = 0
        normw = np.linalg.norm(dln.tangent_matrix(W), 2)
        ortho = np.linalg.norm(dln.orbit_tangent_adjoint(W, W - w_ref)) / (normw * np.linalg.norm(W))
        assert ortho < 1e-13
        tol_b = AGREE if cond <= 1e6 else FIBER_ILL_B
        for method in ("auto", "pcg", "block"):
            b = dln.regularizing_generator(W, method=method, maxiter=5000)
            assert _rel(b, b_ref) < tol_b, (method, seed)
            assert _rel(dln.orbit_tangent(W, b), w_ref) < AGREE, (method, seed)


@pytest.mark.claims("LM-Lem5", "NUM-proj")
@pytest.mark.parametrize("field", ["real", "complex"])
def test_gradient_is_tangent_and_residual_is_normal(field):
    W = _layers(5, 6, 4, "conditioned", 1e6, field)
    wb = dln.fiber_gradient(W)
    P, Q = dln.partial_products(W)
    scale = sum(np.linalg.norm(P[k]) * np.linalg.norm(wb[k]) * np.linalg.norm(Q[k]) for k in range(6))
    assert np.linalg.norm(dln.dphi(W, wb)) < IDENT * scale  # tangency: dphi(w_b) = 0
    normw = np.linalg.norm(dln.tangent_matrix(W), 2)
    assert np.linalg.norm(dln.orbit_tangent_adjoint(W, W - wb)) < IDENT * normw * np.linalg.norm(W)  # w^*(W - w_b) = 0


@pytest.mark.parametrize("method", ["auto", "pcg", "block"])
def test_balanced_point_gives_zero_generator(method):
    X = dln.random_matrix(np.random.default_rng(0), (3, 3))
    Wb = dln.balanced_point(X, 5, np.random.default_rng(1))
    b = dln.regularizing_generator(Wb, method=method)
    assert np.linalg.norm(b) < IDENT * np.linalg.norm(Wb) ** 2


def test_warm_start_and_info():
    W = _layers(7, 8, 5, "near_identity")
    info: dict = {}
    b = dln.regularizing_generator(W, method="pcg", info=info)
    assert set(info) >= {"iterations", "err_est", "cond_est", "fallback"}
    assert info["iterations"] > 0 and info["err_est"] <= 1e-10 and not info["fallback"]
    info2: dict = {}
    b2 = dln.regularizing_generator(W, method="pcg", b0=b * (1 + 1e-6), info=info2)
    assert info2["iterations"] < info["iterations"]
    assert _rel(b2, b) < AGREE
    with pytest.raises(dln.DLNError, match="b0: expected shape"):
        dln.regularizing_generator(W, b0=b[:-1])


def test_auto_falls_back_to_block_when_the_iteration_stalls():
    W = _layers(8, 3, 13, "conditioned_gaussian", 1e6, batch=(2,))  # d = 13: "auto" tries "pcg" first
    ref = dln.regularizing_generator(W, method="block")
    info: dict = {}
    b = dln.regularizing_generator(W, method="auto", maxiter=3, info=info)
    assert np.all(info["fallback"]) and np.all(info["iterations"] > 0)
    assert _rel(b, ref) < 1e-12
    with pytest.raises(dln.RankDeficientError, match="did not reach the tolerance"):
        dln.regularizing_generator(W, method="pcg", maxiter=3)


@pytest.mark.parametrize("method", ["auto", "pcg", "dense", "block", "normal"])
def test_singular_X_raises(method):
    W = _layers(9, 4, 3)
    W[1] = np.outer([1.0, 2.0, 3.0], [1.0, 0.0, 1.0])
    with pytest.raises(dln.RankDeficientError, match="X = end_to_end"):
        dln.fiber_gradient(W, method=method)
    W = _layers(9, 4, 3)
    U, s, Vh = np.linalg.svd(W[0])
    W[0] = (U * np.array([1.0, 1.0, 1e-16])) @ Vh  # numerically singular: cond(X) > 1e14
    with pytest.raises(dln.RankDeficientError, match="numerically singular"):
        dln.fiber_gradient(W, method=method)


def test_unknown_method_and_normal_generator():
    W = _layers(10, 3, 2)
    with pytest.raises(dln.DLNError, match="method: expected one of"):
        dln.regularizing_generator(W, method="magic")
    with pytest.raises(dln.DLNError, match="has no b"):
        dln.regularizing_generator(W, method="normal")
    assert set(dln.SOLVERS) == {"auto", "pcg", "dense", "block", "normal"}


def test_two_layers_and_one_by_one():
    for N, d in [(2, 3), (2, 1), (5, 1)]:
        W = _layers(11, N, d)
        ref = dln.regularizing_generator(W, method="dense")
        for method in ("auto", "pcg", "block"):
            assert _rel(dln.regularizing_generator(W, method=method), ref) < AGREE


def test_auto_falls_back_only_for_the_items_that_need_it():
    easy = _layers(13, 4, 13, "near_identity")
    hard = _layers(13, 4, 13, "conditioned_gaussian", 1e6)
    W = np.stack([easy, hard])
    info: dict = {}
    b = dln.regularizing_generator(W, maxiter=80, info=info)
    assert list(info["fallback"]) == [False, True]
    assert np.isfinite(info["err_est"][0]) and np.isnan(info["err_est"][1])
    assert _rel(b, dln.regularizing_generator(W, method="block")) < AGREE


def test_block_solves_refuse_what_does_not_fit_in_memory(monkeypatch):
    """The direct solves raise MemoryLimitError up front, naming the memory; the fallback of "auto" says why it
    fell back. The budget is set by $DLN_MEMORY_BYTES; where one item fits, the batch is solved item by item."""
    import dln._fiber as fiber
    from dln._errors import memory_budget

    W = _layers(8, 3, 24, "conditioned_gaussian", 1e6, batch=(2,))  # d = 24: "auto" tries "pcg" first
    need = fiber.block_solve_bytes(1, 3, 24)  # one item: 4 (N - 1) d^4 float64 entries, 21 MB
    assert need == 4 * 2 * 24**4 * 8
    ref = dln.regularizing_generator(W, method="block")
    monkeypatch.setenv("DLN_MEMORY_BYTES", str(int(need) - 1))
    assert memory_budget() == int(need) - 1
    with pytest.raises(dln.MemoryLimitError, match=r"direct block solve of H\(b\) = G at N = 3, d = 24 .* GiB"):
        dln.regularizing_generator(W, method="block")
    with pytest.raises(MemoryError):  # also a MemoryError
        dln.regularizing_generator(W, method="block")
    with pytest.raises(dln.MemoryLimitError, match=r"did not reach the tolerance .* for 2 item\(s\).*block solve"):
        dln.regularizing_generator(W, method="auto", maxiter=3)
    with pytest.raises(dln.MemoryLimitError, match="dense least-squares solve"):
        dln.regularizing_generator(W, method="dense")
    monkeypatch.setenv("DLN_MEMORY_BYTES", str(int(need)))  # one item fits: one chunk per item
    calls = []
    real_blocks = fiber._blocks
    monkeypatch.setattr(fiber, "_blocks", lambda Wc: calls.append(Wc.shape[0]) or real_blocks(Wc))
    b = dln.regularizing_generator(W, method="block")
    assert calls == [1, 1]
    assert _rel(b, ref) < 1e-14
    for bad in ("lots", "inf", "0", "-5"):
        monkeypatch.setenv("DLN_MEMORY_BYTES", bad)
        with pytest.raises(dln.DLNError, match="DLN_MEMORY_BYTES: expected a positive number of bytes"):
            memory_budget()


def test_memory_budget_reads_the_cgroup_limits_of_this_process(tmp_path, monkeypatch):
    """cgroup v2: memory.max of the process's group and of every parent; v1: the memory group's limit."""
    import dln._errors as errors

    root, proc = tmp_path / "cgroup", tmp_path / "self_cgroup"
    monkeypatch.setattr(errors, "_CGROUP_ROOT", str(root))
    monkeypatch.setattr(errors, "_PROC_CGROUP", str(proc))
    job = root / "slurm" / "uid_0" / "job_5"
    job.mkdir(parents=True)
    (root / "memory.max").write_text("max\n")
    (root / "slurm" / "memory.max").write_text("8000000000\n")
    (job / "memory.max").write_text("3000000000\n")
    proc.write_text("0::/slurm/uid_0/job_5\n")
    assert sorted(errors._cgroup_limits()) == [3000000000, 8000000000]
    v1 = root / "memory" / "slurm" / "job_7"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text("4000000000\n")
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    proc.write_text("5:cpu,cpuacct:/slurm/job_7\n4:memory:/slurm/job_7\n")
    assert errors._cgroup_limits() == [4000000000]
    proc.write_text("4:memory:/elsewhere\n")  # the group is not visible: the root's limit, here none
    assert errors._cgroup_limits() == []


def test_block_solve_in_chunks_equals_the_unchunked_solve(monkeypatch):
    """A batch of 6 solved in chunks of 4 (a short last chunk) or of 1 gives the unchunked solve, which agrees
    with the dense reference."""
    import dln._fiber as fiber

    W = _layers(14, 3, 4, "conditioned", 1e3, batch=(3, 2))
    whole = dln.regularizing_generator(W, method="block")
    assert _rel(whole, dln.regularizing_generator(W, method="dense")) < AGREE
    for per_chunk in (4, 1):
        monkeypatch.setattr(fiber, "BLOCK_CHUNK_BYTES", (per_chunk + 0.5) * fiber.block_solve_bytes(1, 3, 4))
        calls = []
        real_blocks = fiber._blocks
        monkeypatch.setattr(
            fiber, "_blocks", lambda Wc, real=real_blocks, log=calls: log.append(Wc.shape[0]) or real(Wc)
        )
        assert _rel(dln.regularizing_generator(W, method="block"), whole) < 1e-14
        assert calls == ([4, 2] if per_chunk == 4 else [1] * 6)
        monkeypatch.setattr(fiber, "_blocks", real_blocks)


@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("failure", ["nan", "finite"])
def test_items_the_mixed_precision_iteration_fails_on_run_again_in_float64(monkeypatch, field, failure):
    """Where the single-precision recurrences give up, hat_pcg solves the item again in float64 (from the last
    iterate where it is finite, else from the start), for at most the iterations the mixed run spent."""
    import dln._fiber_cg as cg
    from dln._fiber import _moments

    W = _layers(15, 4, 16, "near_identity", field=field, batch=(2,))
    G = _moments(W)
    ref = dln.regularizing_generator(W, method="block")
    real_rpcg, real_pcg = cg._rpcg, cg._pcg
    spent, caps = [], []

    def failing(*args, **kwargs):  # the first item comes back not converged: NaN, or its initial guess
        x, ok, stats = real_rpcg(*args, **kwargs)
        x[0] = np.nan if failure == "nan" else args[4][0]
        ok[0] = False
        spent.append(stats["iterations"].copy())
        return x, ok, stats

    def pcg(*args, **kwargs):
        caps.append(np.asarray(args[5]).copy())
        return real_pcg(*args, **kwargs)

    monkeypatch.setattr(cg, "_rpcg", failing)
    monkeypatch.setattr(cg, "_pcg", pcg)
    b, ok, stats = cg.hat_pcg(W, G, tol=1e-11, precision="mixed")
    assert ok.all()
    for i in range(2):
        assert _rel(b[i], ref[i]) < 1e-9
    assert len(caps) == 1 and list(caps[0]) == [max(int(spent[0][0]), 100)]  # only item 0, capped
    assert stats["iterations"][0] > spent[0][0]


def test_a_batch_gives_each_item_the_result_of_its_own_run():
    """In mixed precision the items of a batch stop independently: a fast item's convergence does not stop a
    slow one (near-identity and Gaussian layers, d = 16, N = 8)."""
    import dln._fiber_cg as cg
    from dln._fiber import _moments

    for seed in (100, 101, 102):
        A = fiber_test_layers(np.random.default_rng(seed), 8, 16, "near_identity")
        B = fiber_test_layers(np.random.default_rng(seed), 8, 16, "gaussian")
        W = np.stack([A, B])
        b, ok, st = cg.hat_pcg(W, _moments(W), tol=1e-11, give_up=True, precision="mixed")
        for i, one in enumerate((A, B)):
            bi, oki, sti = cg.hat_pcg(one[None], _moments(one[None]), tol=1e-11, give_up=True, precision="mixed")
            # the same stop, up to the batched and the one-item recurrences' check points
            assert ok[i] == oki[0] and abs(st["iterations"][i] - sti["iterations"][0]) <= 20, (seed, i)
            if oki[0]:
                assert _rel(b[i], bi[0]) < 1e-9, (seed, i)


def test_mixed_precision_agrees_with_float64_and_stops_at_the_float64_floor(monkeypatch):
    """hat_pcg in mixed precision (single-precision recurrences on a float64 iterate) gives the float64 answer.
    At d = 64, N = 32 near the identity its float64 residual reaches the floor of round-off before the estimate
    meets tol; it stops there, once the estimate is within the acceptance ACCEPT tol, without solving again in
    float64 (more single-precision iterations add spurious small Ritz values and the iteration gives up)."""
    import dln._fiber_cg as cg
    from dln._fiber import _moments

    rescued = []
    real_pcg = cg._pcg

    def pcg(*args, **kwargs):
        rescued.append(True)
        return real_pcg(*args, **kwargs)

    for seed in (0, 1):
        W = fiber_test_layers(np.random.default_rng(seed), 32, 64, "near_identity", batch=(1,))
        G = _moments(W)
        b64, ok64, _ = cg.hat_pcg(W, G, tol=1e-11, precision="double")
        monkeypatch.setattr(cg, "_pcg", pcg)
        b, ok, stats = cg.hat_pcg(W, G, tol=1e-11, give_up=True, precision="mixed")
        monkeypatch.setattr(cg, "_pcg", real_pcg)
        assert ok64.all() and ok.all() and not rescued, seed
        assert _rel(b, b64) < 1e-9, seed


def test_fiber_gradient_iterates_to_its_cap_where_the_direct_fallback_does_not_fit(monkeypatch):
    """fiber_gradient("auto"): an item the capped normal-space iteration misses would be solved directly; where
    that solve does not fit in memory the iteration runs on to its hard cap instead."""
    from dln._fiber import auto_solves_directly, block_solve_bytes

    W = _layers(16, 4, 24, "conditioned", 1e2)
    assert not auto_solves_directly(4, 24)
    ref = dln.fiber_gradient(W, method="block")
    monkeypatch.setenv("DLN_MEMORY_BYTES", str(int(block_solve_bytes(1, 4, 24) / 2)))
    info: dict = {}
    w = dln.fiber_gradient(W, maxiter=2, info=info)
    assert _rel(w, ref) < AGREE
    assert str(info["method"]) == "normal_pcg" and not bool(info["fallback"]) and int(info["iterations"]) > 2
