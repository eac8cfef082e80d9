"""Gradients on the fiber F_X: the regularizing field (LM Lemma 5) and the Kirwan-Ness field (eq. 1.22).

grad_{F_X} (1/2)|W|^2 = w_b, where b in gl(d)^{N-1} solves the block-tridiagonal
system H(b) = G (LM eq. 2.19). Equivalently w_b is the orthogonal projection of W
onto the tangent space T F_X = range(w), i.e. b = argmin |W - w_b|.

Solvers (``method``):

``"auto"`` (default)
    For b (:func:`regularizing_generator`): ``"block"`` for small layers
    (d <= 11, where its O(N d^6) cost is below that of the iteration: measured
    crossover d ~ 11 on one core, N = 8, 16), else ``"pcg"`` with an
    a-posteriori error estimate; every batch item whose iteration does not
    reach the tolerance (or is predicted not to reach it within the iteration
    cap) is solved again by ``"block"``. Never returns an unverified iterate.
    (For d >= ``MIXED_MIN_D`` the iteration runs in mixed precision; items on
    which it fails run again in float64 first, see :func:`dln._fiber_cg.hat_pcg`.)
    For w_b (:func:`fiber_gradient`): a cost model
    (:func:`dln._fiber_normal.cost_model`) chooses between the direct solve
    and conjugate gradients on the d^2-dimensional normal-space system in the
    SVD frame of X (:mod:`dln._fiber_normal`; a two-sided block preconditioner,
    exact at balanced points, a-posteriori error estimate of w_b); the iteration is
    capped at the number of iterations that cost ``AUTO_NORMAL_BUDGET`` times
    the predicted block solve, and stopped as soon as the convergence bound
    predicts that the iterations still needed cost more than
    ``AUTO_NORMAL_REMAINING`` times it (the iterations already spent do not
    count: the choice is between finishing and solving directly). The items that
    do not reach the tolerance are solved again by ``"block"`` (by the ``"auto"``
    solve of b where ``"block"`` is predicted to take more than
    ``AUTO_DIRECT_MAX_SECONDS``).
``"pcg"``
    Matrix-free preconditioned conjugate gradients on H b = G in per-layer
    eigenbases (:mod:`dln._fiber_cg`): in the coordinates c_k = Ub_k chat_k Ua_k^*
    (eigenvectors of W_{k+1}^* W_{k+1} and W_k W_k^*) the exact block-Jacobi
    (Sylvester) preconditioner is an elementwise division and one application of
    H costs four batched d x d products. The even-numbered blocks are eliminated
    exactly (red-black ordering, one step of block cyclic reduction) and CG runs
    on the Schur complement, which halves the iterations. Stops when the error estimate
    |r|_{D^{-1}} / (lambda_min |b|_D), with lambda_min the smallest Ritz value of
    the CG Lanczos matrix, is below ``tol``; raises
    :class:`~dln.RankDeficientError` if it does not converge.
``"dense"``
    Reference: least squares min |W - w_b| with the dense (N d^2) x ((N-1) d^2)
    matrix of the orbit map, solved by LAPACK's QR/SVD least squares
    (condition number cond(w), not cond(w)^2).
``"block"``
    Block-Thomas (block Cholesky) elimination of the block-tridiagonal H with
    d^2 x d^2 blocks, O(N d^6), backward stable for the positive definite H.
    Memory 4 (N - 1) d^4 entries per batch item (:func:`block_solve_bytes`; the
    batch is solved in chunks of ``BLOCK_CHUNK_BYTES``); where one item needs
    more than :func:`dln._errors.memory_budget`, :class:`~dln.MemoryLimitError`
    is raised before anything is allocated, by ``"block"`` and by the fallbacks
    of ``"auto"`` alike.
``"normal"``
    The d x d normal-space system (claim NUM-proj): L(Y) = N X with
    L(Y) = sum_k P_k P_k^* Y Q_k^* Q_k, then w_b = W - dphi^*(Y). Fast for
    well-conditioned X but cond(L) ~ cond(X)^2; it does not return b.
"""

from __future__ import annotations

import numpy as np

from ._errors import (
    DLNError,
    MemoryLimitError,
    RankDeficientError,
    ShapeError,
    as_dict,
    as_int,
    as_layers,
    as_real,
    check_full_rank,
    check_memory,
    check_result,
    memory_budget,
)
from ._fiber_block import block_cholesky_solve
from ._fiber_cg import hat_pcg
from ._fiber_normal import cost_model, normal_pcg
from ._linalg import H
from ._product import _dphi_adjoint, _moments, _partial_products, end_to_end
from ._tangent import (
    _kron_left,
    _kron_right,
    _orbit_tangent,
    tangent_matrix,
)

__all__ = [
    "fiber_gradient",
    "regularizing_generator",
    "kirwan_ness_field",
    "SOLVERS",
]

SOLVERS = ("auto", "pcg", "dense", "block", "normal")

#: default target of the estimated relative error of b for "pcg" and "auto"
PCG_TOL = 1e-11
#: "auto" uses the direct block solver up to this layer size
AUTO_BLOCK_MAX_D = 11
#: fiber_gradient("auto"): iterations of the normal-space CG at most cost this fraction of the predicted block solve
AUTO_NORMAL_BUDGET = 1.0
#: fiber_gradient("auto"): the CG stops (and the block solve takes over) as soon as the iterations it still needs,
#: predicted from the Ritz values, would cost more than this fraction of the predicted block solve: the iterations
#: already spent are sunk, the remaining ones are compared with the alternative
AUTO_NORMAL_REMAINING = 0.3
#: fiber_gradient("auto"): the block solve is chosen up front unless it costs more than
#: AUTO_NORMAL_MARGIN times the setup and AUTO_NORMAL_TYPICAL_ITS iterations
AUTO_NORMAL_TYPICAL_ITS = 40
AUTO_NORMAL_MARGIN = 5.0
#: fiber_gradient("auto"): hard cap of the normal-space iterations
AUTO_NORMAL_MAXITER = 20000
#: fiber_gradient("auto"): items the iteration fails on are solved by "block" when its predicted time is below
#: this (seconds; its memory grows like N d^4), else by regularizing_generator("auto")
AUTO_DIRECT_MAX_SECONDS = 60.0


#: the direct block solve works on batch items in chunks of at most this many bytes (one item at least)
BLOCK_CHUNK_BYTES = 2**30

#: the largest cond(X) the solvers accept (above it X is numerically singular: RankDeficientError)
X_MAX_COND = 1e14


def _prepare(W, check_rank: bool = True) -> np.ndarray:
    W = as_layers(W, "W")
    if check_rank:
        check_full_rank(end_to_end(W), "X = end_to_end(W)", max_cond=X_MAX_COND)
    return W


#: The bounds of the iteration's options: a relative tolerance in [TOL_MIN, 1), an iteration cap up to MAXITER_MAX.
TOL_MIN, MAXITER_MAX = 1e-16, 10**7
#: Entries of an initial guess b0 beyond this magnitude overflow the products of the iteration.
B0_MAX = 1e150


def _options(W: np.ndarray, tol, maxiter, b0, info) -> tuple:
    """``tol``, ``maxiter``, ``b0`` and ``info`` of the solvers, checked (a :class:`DLNError` names the argument)."""
    tol = as_real(tol, "tol", low=TOL_MIN, high=1.0)
    if tol >= 1.0:
        raise DLNError(f"tol: a relative tolerance must be < 1, got {tol!r}")
    if maxiter is not None:
        maxiter = as_int(maxiter, "maxiter", low=1, high=MAXITER_MAX)
    info = as_dict(info, "info")
    if b0 is not None:
        if isinstance(b0, str | bytes | dict) or b0 is True or b0 is False:
            raise DLNError(f"b0: expected an array of shape (..., N-1, d, d), got {b0!r}")
        b0 = np.asarray(b0)
        if b0.dtype.kind not in "iufc":
            raise DLNError(f"b0: expected a real or complex array, got dtype {b0.dtype}")
        if b0.dtype.kind == "c" and not np.iscomplexobj(W):
            raise DLNError("b0: a complex initial guess for real layers W; give a real one")
        N, d = W.shape[-3], W.shape[-1]
        if b0.shape[-3:] != (N - 1, d, d) or b0.shape[:-3] != W.shape[:-3]:
            raise ShapeError(f"b0: expected shape {W.shape[:-3] + (N - 1, d, d)} (the batch of W), got {b0.shape}")
        if not np.all(np.isfinite(b0)):
            raise DLNError("b0: the initial guess has NaN or Inf entries")
        big = float(np.max(np.abs(b0))) if b0.size else 0.0
        if big > B0_MAX:
            raise DLNError(f"b0: entries of magnitude up to {big:.3g} (above {B0_MAX:g}) overflow the iteration")
    return tol, maxiter, b0, info


def regularizing_generator(
    W,
    method: str = "auto",
    tol: float = PCG_TOL,
    maxiter: int | None = None,
    b0=None,
    info: dict | None = None,
) -> np.ndarray:
    """Solve H(b) = G (LM eq. 2.19) for b in gl(d)^{N-1}.

    The regularizing flow (1.17) is W' = -w_b, i.e. the group velocity is -b.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d), full-rank X
    method : {"auto", "pcg", "dense", "block"}
        See the module docstring. ``"auto"`` is fast and falls back to
        ``"block"`` per batch item when the iteration does not converge.
    tol : float
        Target of the estimated relative error of b (``"pcg"``, ``"auto"``).
    maxiter : int, optional
        Iteration cap of ``"pcg"``/``"auto"`` (default ``max(400, d**3 // 4)``).
    b0 : array_like, shape (..., N-1, d, d), optional
        Initial guess for ``"pcg"``/``"auto"``, e.g. the generator at the
        previous step of an integrator.
    info : dict, optional
        Filled with ``iterations``, ``err_est`` (estimated relative errors of
        b in the norm of the block diagonal of H; NaN for items solved
        directly), ``cond_est`` (Ritz estimate of the condition number of the
        preconditioned operator) and ``fallback`` (items solved by
        ``"block"``), each of shape ``(...)``, for ``"pcg"``/``"auto"``.

    Returns
    -------
    b : ndarray, shape (..., N-1, d, d). Not Hermitian in general.

    Raises
    ------
    RankDeficientError
        If X is rank deficient or numerically singular (cond > 1e14), or
        (``"pcg"`` only) if the iteration does not converge.
    """
    W = _prepare(W)
    tol, maxiter, b0, info = _options(W, tol, maxiter, b0, info)
    if method in ("auto", "pcg"):
        return _solve_iterative(W, method, tol=tol, maxiter=maxiter, b0=b0, info=info)
    if method == "dense":
        return _solve_dense(W)
    if method == "block":
        return _solve_block(W, _moments(W))
    if method == "normal":
        raise DLNError("method: 'normal' computes w_b directly and has no b; use fiber_gradient")
    raise DLNError(f"method: expected one of {SOLVERS}, got {method!r}")


def fiber_gradient(W, method: str = "auto", **kwargs) -> np.ndarray:
    """Riemannian gradient of (1/2)|W|^2 on the fiber F_X (LM Lemma 5).

    Parameters
    ----------
    W : array_like, shape (..., N, d, d), with full-rank X = end_to_end(W)
    method : {"auto", "pcg", "dense", "block", "normal"}
        See the module docstring; all agree to round-off for well-conditioned X.
    **kwargs
        Passed to :func:`regularizing_generator` (``tol``, ``maxiter``, ``b0``, ``info``).
        With ``"auto"``, ``tol`` is the target of the estimated error of w_b
        relative to |w_b| when the normal-space iteration runs, ``maxiter`` its
        cap, ``b0`` is used by the direct or fallback solve only, and ``info``
        also gets ``method`` (per item: ``"normal_pcg"`` or
        ``"regularizing_generator"``, the solve of H(b) = G); ``err_est`` is
        the estimated relative error of w_b for the normal-space items.

    Returns
    -------
    ndarray, shape (..., N, d, d): w_b, tangent to F_X (dphi(w_b) = 0).

    Raises
    ------
    RankDeficientError
        If X is rank deficient or numerically singular (cond > 1e14).
    """
    if method == "normal":
        W = _prepare(W)
        return _gradient_normal(W)
    if method == "auto":
        W = _prepare(W, check_rank=False)  # checked from the singular values the solver computes
        unknown = sorted(set(kwargs) - {"tol", "maxiter", "b0", "info"})
        if unknown:
            raise DLNError(f"fiber_gradient: unknown keyword(s) {unknown}; known: tol, maxiter, b0, info")
        tol, maxiter, b0, info = _options(
            W, kwargs.get("tol", PCG_TOL), kwargs.get("maxiter"), kwargs.get("b0"), kwargs.get("info")
        )
        return _gradient_auto(W, tol=tol, maxiter=maxiter, b0=b0, info=info)
    b = regularizing_generator(W, method=method, **kwargs)
    return _orbit_tangent(np.asarray(W, dtype=b.dtype), b)


def kirwan_ness_field(W) -> np.ndarray:
    """Right-hand side of the Kirwan-Ness flow (LM eq. 1.22).

    W'_k = 2 (W_k G_{k-1} - G_k W_k), with G_0 = G_N = 0; equals -w_{2G}, the
    negative fiber gradient of (1/2)|G|^2 (LM Thm 10).

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (..., N, d, d)
    """
    W = as_layers(W, "W")
    with np.errstate(over="ignore", invalid="ignore"):
        out = -2.0 * _orbit_tangent(W, _moments(W))
    return check_result(out, "W", W)


# ----------------------------------------------------------------------------- solvers


def _solve_dense(W: np.ndarray) -> np.ndarray:
    N, d = W.shape[-3], W.shape[-1]
    n_items = int(np.prod(W.shape[:-3], dtype=int))
    check_memory(
        2.0 * n_items * N * (N - 1) * float(d) ** 4 * W.itemsize,
        f"W: the dense least-squares solve ({n_items} item(s) at N = {N}, d = {d}: the N d^2 x (N - 1) d^2 matrix "
        "of the orbit map, twice)",
    )
    M = tangent_matrix(W)
    rhs = W.reshape(W.shape[:-3] + (N * d * d,))
    flatM = M.reshape((-1,) + M.shape[-2:])
    flatr = rhs.reshape((-1, rhs.shape[-1]))
    out = np.empty((flatM.shape[0], (N - 1) * d * d), dtype=W.dtype)
    for i in range(flatM.shape[0]):
        out[i] = np.linalg.lstsq(flatM[i], flatr[i], rcond=None)[0]
    return out.reshape(W.shape[:-3] + (N - 1, d, d))


def _blocks(W: np.ndarray):
    d = W.shape[-1]
    WWs = W @ H(W)  # W_k W_k^*
    WsW = H(W) @ W  # W_k^* W_k
    # c -> c W_k W_k^* + W_{k+1}^* W_{k+1} c
    D = _kron_right(WWs[..., :-1, :, :], d) + _kron_left(WsW[..., 1:, :, :], d)
    # coupling (k, k+1): c_{k+1} -> -W_{k+1}^* c_{k+1} W_{k+1}
    Wn = W[..., 1:-1, :, :]
    U = -np.einsum("...ij,...kl->...ikjl", H(Wn), np.swapaxes(Wn, -1, -2)).reshape(Wn.shape[:-2] + (d * d, d * d))
    return D, U


def block_solve_bytes(n_items: int, N: int, d: int, complex_: bool = False) -> float:
    """Memory of the direct block solve of H(b) = G for ``n_items`` batch items: its diagonal and coupling blocks
    and their Cholesky factors, 4 (N - 1) d^4 entries per item (float64 or complex128)."""
    return 4.0 * n_items * max(N - 1, 1) * float(d) ** 4 * (16 if complex_ else 8)


def _solve_block(W: np.ndarray, G: np.ndarray, why: str = "") -> np.ndarray:
    """The direct block solve, batch items in chunks of at most :data:`BLOCK_CHUNK_BYTES` and
    :func:`memory_budget` bytes (one item at least); :class:`MemoryLimitError` up front where one item does not
    fit in the budget."""
    N, d = W.shape[-3], W.shape[-1]
    n_items = int(np.prod(W.shape[:-3], dtype=int))
    if W.shape[:-3] and n_items == 0:
        return np.zeros(G.shape, dtype=W.dtype)
    per_item = block_solve_bytes(1, N, d, np.iscomplexobj(W))
    check_memory(
        per_item,
        f"W: {why}the direct block solve of H(b) = G at N = {N}, d = {d} (4 (N - 1) d^4 entries per batch item)",
    )
    Wf = W.reshape((-1, N, d, d))
    Gf = G.reshape((-1, N - 1, d * d))
    chunk = max(1, int(min(BLOCK_CHUNK_BYTES, memory_budget()) // per_item))
    out = np.empty(Gf.shape, dtype=np.result_type(W.dtype, G.dtype))
    for i in range(0, Wf.shape[0], chunk):
        D, U = _blocks(Wf[i : i + chunk])
        out[i : i + chunk] = block_cholesky_solve(D, U, Gf[i : i + chunk])
    return out.reshape(G.shape)


def _solve_iterative(W: np.ndarray, method: str, tol: float, maxiter, b0, info) -> np.ndarray:
    N, d = W.shape[-3], W.shape[-1]
    batch = W.shape[:-3]
    G = _moments(W)
    if b0 is not None:
        b0 = np.asarray(b0)
        if b0.shape[-3:] != G.shape[-3:]:
            raise DLNError(f"b0: expected shape (..., {N - 1}, {d}, {d}), got {b0.shape}")
    if method == "auto" and d <= AUTO_BLOCK_MAX_D:
        b = _solve_block(W, G)
        if info is not None:
            info.update(
                iterations=np.zeros(batch, int),
                err_est=np.full(batch, np.nan),
                cond_est=np.full(batch, np.nan),
                fallback=np.ones(batch, bool),
            )
        return b
    Wf = W.reshape((-1, N, d, d))
    Gf = G.reshape((-1, N - 1, d, d))
    b0f = None
    if b0 is not None:
        b0f = np.broadcast_to(b0, G.shape).reshape(Gf.shape)
    b, ok, stats = hat_pcg(Wf, Gf, tol=tol, maxiter=maxiter, b0=b0f, give_up=(method == "auto"))
    fallback = ~ok
    if np.any(fallback):
        worst = float(np.max(stats["err_est"][fallback]))
        kappa = stats["cond_est"][fallback]
        kappa = float(np.max(kappa[np.isfinite(kappa)])) if np.any(np.isfinite(kappa)) else float("nan")
        failure = (
            f"conjugate gradients on H(b) = G did not reach the tolerance {tol:.1e} for {int(fallback.sum())} "
            f"item(s) (estimated relative error {worst:.2e} after {int(np.max(stats['iterations']))} iterations, "
            f"estimated condition number of the preconditioned H {kappa:.2e})"
        )
        if method == "pcg":
            raise RankDeficientError(
                f"W: {failure}; X or the layers are too ill-conditioned for method='pcg'; use method='auto' or 'block'"
            )
        b[fallback] = _solve_block(Wf[fallback], Gf[fallback], why=f"{failure}; ")
    if info is not None:
        info.update(
            iterations=stats["iterations"].reshape(batch),
            err_est=np.where(fallback, np.nan, stats["err_est"]).reshape(batch),
            cond_est=stats["cond_est"].reshape(batch),
            fallback=fallback.reshape(batch),
        )
    return b.reshape(G.shape)


def auto_solves_directly(N: int, d: int, complex_: bool = False) -> bool:
    """Whether ``fiber_gradient(method="auto")`` solves H(b) = G up front (``regularizing_generator("auto")``)
    rather than iterating on the normal space: where the cost model predicts the direct block solve below
    AUTO_NORMAL_MARGIN times the setup and AUTO_NORMAL_TYPICAL_ITS iterations."""
    return _direct_is_cheaper(cost_model(N, d, complex_))


def _direct_is_cheaper(cost: dict) -> bool:
    return cost["block"] <= AUTO_NORMAL_MARGIN * (cost["setup"] + AUTO_NORMAL_TYPICAL_ITS * cost["iteration"])


def _gradient_auto(
    W: np.ndarray, tol: float = PCG_TOL, maxiter: int | None = None, b0=None, info: dict | None = None
) -> np.ndarray:
    """fiber_gradient(method="auto"): normal-space CG or the direct solve, chosen by the cost model."""
    N, d = W.shape[-3], W.shape[-1]
    batch = W.shape[:-3]
    if b0 is not None:
        b0 = np.asarray(b0)
        if b0.shape[-3:] != (N - 1, d, d):
            raise DLNError(f"b0: expected shape (..., {N - 1}, {d}, {d}), got {b0.shape}")
    cost = cost_model(N, d, np.iscomplexobj(W))
    if _direct_is_cheaper(cost) or 0 in batch:
        check_full_rank(end_to_end(W), "X = end_to_end(W)", max_cond=X_MAX_COND)
        sub: dict = {}
        b = _solve_iterative(W, "auto", tol=tol, maxiter=maxiter, b0=b0, info=sub)
        if info is not None:
            info.update(sub, method=np.full(batch, "regularizing_generator"))
        return _orbit_tangent(W, b)
    per_block = cost["block"] / cost["iteration"]  # iterations that cost one block solve
    if maxiter is None:
        cap = int(min(AUTO_NORMAL_MAXITER, max(AUTO_NORMAL_TYPICAL_ITS, AUTO_NORMAL_BUDGET * per_block)))
    else:
        cap = int(maxiter)
    Wf = W.reshape((-1, N, d, d))
    w, ok, stats = normal_pcg(
        Wf,
        tol=tol,
        maxiter=cap,
        give_up=True,
        max_remaining=max(AUTO_NORMAL_TYPICAL_ITS, AUTO_NORMAL_REMAINING * per_block),
        max_cond=X_MAX_COND,
    )
    fallback = ~ok
    if np.any(fallback):
        b0f = None if b0 is None else np.broadcast_to(b0, batch + (N - 1, d, d)).reshape((-1, N - 1, d, d))[fallback]
        try:
            if cost["block"] <= AUTO_DIRECT_MAX_SECONDS:  # the iteration failed: solve directly
                bf = _solve_block(
                    Wf[fallback],
                    _moments(Wf[fallback]),
                    why=f"the normal-space iteration did not reach the tolerance {tol:.1e} for "
                    f"{int(fallback.sum())} item(s); ",
                )
            else:
                bf = _solve_iterative(Wf[fallback], "auto", tol=tol, maxiter=maxiter, b0=b0f, info=None)
            w[fallback] = _orbit_tangent(Wf[fallback], bf)
        except (RankDeficientError, MemoryLimitError) as exc:
            # H numerically singular for the direct solve, or its blocks do not fit in memory: let the
            # normal-space iteration (O(N d^2) memory) run to its hard cap
            idx = np.flatnonzero(fallback)
            w2, ok2, stats2 = normal_pcg(Wf[idx], tol=tol, maxiter=max(cap, AUTO_NORMAL_MAXITER))
            if not np.all(ok2):
                raise type(exc)(
                    f"W: the normal-space iteration did not reach the tolerance {tol:.1e} "
                    f"({int(np.max(stats2['iterations']))} iterations, estimated relative error "
                    f"{float(np.max(stats2['err_est'])):.2e}), and the solve of H(b) = G that replaces it failed: {exc}"
                ) from exc
            w[idx] = w2
            for key in stats:
                stats[key][idx] = stats2[key]
            fallback[idx] = False
    if info is not None:
        info.update(
            iterations=stats["iterations"].reshape(batch),
            err_est=np.where(fallback, np.nan, stats["err_est"]).reshape(batch),
            cond_est=stats["cond_est"].reshape(batch),
            fallback=fallback.reshape(batch),
            method=np.where(fallback, "regularizing_generator", "normal_pcg").reshape(batch),
        )
    return w.reshape(W.shape)


def _gradient_normal(W: np.ndarray) -> np.ndarray:
    import scipy.linalg as sla

    N, d = W.shape[-3], W.shape[-1]
    P, Q = _partial_products(W)
    X = P[..., 0, :, :] @ W[..., 0, :, :]
    PP = P @ H(P)
    QQ = H(Q) @ Q
    # matrix of Y -> sum_k PP_k Y QQ_k in C-order vec coordinates: L[(i,j),(k,l)] = sum_m PP_m[i,k] QQ_m[l,j]
    L = np.einsum("...mik,...mlj->...ijkl", PP, QQ, optimize=True).reshape(X.shape[:-2] + (d * d, d * d))
    rhs = (N * X).reshape(X.shape[:-2] + (d * d,))
    flatL = L.reshape((-1, d * d, d * d))
    flatr = rhs.reshape((-1, d * d))
    Y = np.empty_like(flatr)
    for i in range(flatL.shape[0]):
        try:
            cf = sla.cho_factor(flatL[i])
        except np.linalg.LinAlgError as exc:
            raise RankDeficientError(
                "W: the normal-space operator L is numerically singular (cond(L) ~ cond(X)^2); "
                "use method='pcg' or 'dense'"
            ) from exc
        Y[i] = sla.cho_solve(cf, flatr[i])
    Y = Y.reshape(X.shape)
    return W - _dphi_adjoint(P, Q, Y)
