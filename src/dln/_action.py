"""The GL(d)^{N-1} action on layers, the centre of a fiber and fiber coordinates.

Action (LM eq. 1.6): (A.W)_k = A_k W_k A_{k-1}^{-1}, k = 1..N, with A_0 = A_N = I.
Centre: X = Q_N Sigma Q_0*, Lambda = Sigma^{1/N}, C = (Lambda Q_0*, Lambda, ..., Lambda, Q_N Lambda)
(first layer first).
"""

from __future__ import annotations

import numpy as np

from ._errors import (
    DLNError,
    RankDeficientError,
    ShapeError,
    as_layers,
    as_rng,
    as_square,
    check_entries,
    check_full_rank,
    check_result,
    common_batch,
)
from ._linalg import H
from ._product import end_to_end

__all__ = ["act", "center", "fiber_coordinates", "balanced_point", "svd_center"]


def _check_group(A: np.ndarray, name: str) -> None:
    s = np.linalg.svd(A, compute_uv=False)
    bad = ~(s[..., -1] > s[..., 0] * 1e3 * np.finfo(np.float64).eps)
    if np.any(bad):
        raise RankDeficientError(f"{name}: group elements A_k must be invertible; found a singular A_k")


def act(A, W) -> np.ndarray:
    """GL(d)^{N-1} action of LM eq. (1.6): (A.W)_k = A_k W_k A_{k-1}^{-1}.

    Parameters
    ----------
    A : array_like, shape (..., N-1, d, d)
        ``A[..., k-1] = A_k``, each invertible.
    W : array_like, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape broadcast(...) + (N, d, d)
    """
    W = as_layers(W, "W")
    A = as_layers(A, "A", min_layers=1)
    N, d = W.shape[-3], W.shape[-1]
    if A.shape[-3:] != (N - 1, d, d):
        raise ShapeError(f"A: expected shape (..., {N - 1}, {d}, {d}) to act on N = {N} layers, got {A.shape}")
    batch = common_batch(("W", W, 3), ("A", A, 3))
    _check_group(A, "A")
    dtype = np.result_type(A.dtype, W.dtype)
    A = np.broadcast_to(A, batch + A.shape[-3:])
    W = np.broadcast_to(W, batch + W.shape[-3:])
    out = np.empty(batch + (N, d, d), dtype=dtype)
    # W_k A_{k-1}^{-1} = (A_{k-1}^{-T} W_k^T)^T
    with np.errstate(over="ignore", invalid="ignore"):
        right = np.swapaxes(np.linalg.solve(np.swapaxes(A, -1, -2), np.swapaxes(W[..., 1:, :, :], -1, -2)), -1, -2)
        out[..., 0, :, :] = A[..., 0, :, :] @ W[..., 0, :, :]
        out[..., 1 : N - 1, :, :] = A[..., 1:, :, :] @ right[..., : N - 2, :, :]
        out[..., N - 1, :, :] = right[..., N - 2, :, :]
    return check_result(out, "A, W", A)


def svd_center(X, N: int):
    """SVD X = Q_N Sigma Q_0* and Lambda = Sigma^{1/N}.

    Returns
    -------
    QN : (..., d, d), sigma : (..., d) descending, Q0 : (..., d, d), lam : (..., d)
    """
    X = as_square(X, "X")
    N = _check_N(N)
    check_full_rank(X, "X")
    U, s, Vh = np.linalg.svd(X)
    return U, s, H(Vh), s ** (1.0 / N)


def _check_N(N) -> int:
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)):
        raise DLNError(f"N: expected an integer number of layers, got {N!r} of type {type(N).__name__}")
    if N < 2:
        raise ShapeError(f"N: the network needs N >= 2 layers, got N = {N}")
    return int(N)


def center(X, N: int) -> np.ndarray:
    """Centre C of the fiber F_X (LM Lemma 1).

    Parameters
    ----------
    X : array_like, shape (..., d, d), full rank
    N : int >= 2

    Returns
    -------
    C : ndarray, shape (..., N, d, d) with C_1 = Lambda Q_0*, C_k = Lambda (1 < k < N),
        C_N = Q_N Lambda, so that C_N ... C_1 = X and G(C) = 0.
    """
    X = as_square(X, "X")
    N = _check_N(N)
    check_entries(np.prod(X.shape[:-2], dtype=float) * N * X.shape[-1] ** 2, "N")
    QN, _, Q0, lam = svd_center(X, N)
    d = QN.shape[-1]
    dtype = np.result_type(QN.dtype, np.float64)
    Lam = lam[..., :, None] * np.eye(d)
    C = np.empty(QN.shape[:-2] + (N, d, d), dtype=dtype)
    C[..., 0, :, :] = lam[..., :, None] * H(Q0)
    C[..., 1 : N - 1, :, :] = Lam[..., None, :, :]
    C[..., N - 1, :, :] = QN * lam[..., None, :]
    return C


def fiber_coordinates(W) -> np.ndarray:
    """Fiber coordinates A with ``act(A, center(end_to_end(W), N)) == W`` (LM Lemma 1, corrected).

    Construction (LM Lemma 1 with its proof corrected: claim LM-Lem1): A_{N-1} = W_N^{-1} Q_N Lambda, then
    A_{k-1} = W_k^{-1} A_k Lambda for k = N-1, ..., 2.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d) with full-rank X

    Returns
    -------
    A : ndarray, shape (..., N-1, d, d)
    """
    W = as_layers(W, "W")
    N = W.shape[-3]
    X = end_to_end(W)
    try:
        QN, _, _, lam = svd_center(X, N)
    except DLNError as exc:
        raise type(exc)(str(exc).replace("X:", "X = end_to_end(W):", 1)) from None
    A = np.empty(W.shape[:-3] + (N - 1,) + W.shape[-2:], dtype=np.result_type(W.dtype, QN.dtype))
    cur = np.linalg.solve(W[..., N - 1, :, :], QN * lam[..., None, :])
    A[..., N - 2, :, :] = cur
    for k in range(N - 1, 1, -1):
        cur = np.linalg.solve(W[..., k - 1, :, :], cur * lam[..., None, :])
        A[..., k - 2, :, :] = cur
    return check_result(A, "W", W)


def balanced_point(X, N: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """A point U.C of the minimizing orbit O_X with U_k Haar-random unitary (orthogonal if X is real).

    Parameters
    ----------
    X : array_like, shape (..., d, d), full rank
    N : int >= 2
    rng : numpy.random.Generator, optional; ``None`` returns the centre itself.

    Returns
    -------
    ndarray, shape (..., N, d, d), balanced (G = 0) with end-to-end matrix X.
    """
    rng = None if rng is None else as_rng(rng)
    C = center(X, N)
    if rng is None:
        return C
    from ._random import haar_unitary

    U = haar_unitary(rng, C.shape[:-3] + (N - 1,), C.shape[-1], complex_=np.iscomplexobj(C))
    return act(U, C)
