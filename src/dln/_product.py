"""The product map phi, its derivative and the moment map G.

Conventions (LM §1): ``W[..., k-1, :, :] = W_k``, first layer
first; X = W_N ... W_1; P_k = W_N ... W_{k+1} and Q_k = W_{k-1} ... W_1 (empty
products are the identity).
"""

from __future__ import annotations

import numpy as np

from ._errors import ShapeError, as_layers, as_square, check_result, common_batch
from ._linalg import H

__all__ = ["end_to_end", "moments", "partial_products", "dphi", "dphi_adjoint"]


def end_to_end(W) -> np.ndarray:
    """End-to-end matrix X = W_N ... W_1.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)
        Layers, ``W[..., k-1] = W_k``; real or complex.

    Returns
    -------
    X : ndarray, shape (..., d, d)
    """
    W = as_layers(W, "W")
    X = W[..., 0, :, :]
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, W.shape[-3]):
            X = W[..., k, :, :] @ X
    return check_result(X, "W", W)


def moments(W) -> np.ndarray:
    """Moment map G_k = W_k W_k* - W_{k+1}* W_{k+1}, k = 1..N-1.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)

    Returns
    -------
    G : ndarray, shape (..., N-1, d, d), Hermitian blocks, ``G[..., k-1] = G_k``.
    """
    W = as_layers(W, "W")
    with np.errstate(over="ignore", invalid="ignore"):
        return check_result(_moments(W), "W", W)


def _moments(W: np.ndarray) -> np.ndarray:
    lo = W[..., :-1, :, :]
    hi = W[..., 1:, :, :]
    return lo @ H(lo) - H(hi) @ hi


def partial_products(W) -> tuple[np.ndarray, np.ndarray]:
    """Products P_k = W_N ... W_{k+1} and Q_k = W_{k-1} ... W_1 for k = 1..N.

    Returns
    -------
    P, Q : ndarray, each of shape (..., N, d, d), ``P[..., k-1] = P_k``.
    """
    W = as_layers(W, "W")
    with np.errstate(over="ignore", invalid="ignore"):
        return check_result(_partial_products(W), "W", W)


def _partial_products(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    N = W.shape[-3]
    eye = np.broadcast_to(np.eye(W.shape[-1], dtype=W.dtype), W.shape[:-3] + W.shape[-2:])
    Q = np.empty_like(W)
    P = np.empty_like(W)
    Q[..., 0, :, :] = eye
    for k in range(1, N):
        Q[..., k, :, :] = W[..., k - 1, :, :] @ Q[..., k - 1, :, :]
    P[..., N - 1, :, :] = eye
    for k in range(N - 2, -1, -1):
        P[..., k, :, :] = P[..., k + 1, :, :] @ W[..., k + 1, :, :]
    return P, Q


def dphi(W, V) -> np.ndarray:
    """Derivative of phi at W applied to V: sum_k P_k V_k Q_k.

    Parameters
    ----------
    W, V : array_like, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (..., d, d)
    """
    W = as_layers(W, "W")
    V = as_layers(V, "V")
    if V.shape[-3:] != W.shape[-3:]:
        raise ShapeError(f"V: expected layers of shape {W.shape[-3:]}, got {V.shape[-3:]}")
    common_batch(("W", W, 3), ("V", V, 3))
    with np.errstate(over="ignore", invalid="ignore"):
        P, Q = _partial_products(W)
        return check_result((P @ V @ Q).sum(axis=-3), "W, V", W)


def dphi_adjoint(W, Y) -> np.ndarray:
    """Adjoint of dphi at W: Y -> (P_k* Y Q_k*)_k.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)
    Y : array_like, shape (..., d, d)

    Returns
    -------
    ndarray, shape (..., N, d, d)
    """
    W = as_layers(W, "W")
    Y = as_square(Y, "Y")
    if Y.shape[-1] != W.shape[-1]:
        raise ShapeError(f"Y: expected d = {W.shape[-1]}, got shape {Y.shape}")
    common_batch(("W", W, 3), ("Y", Y, 2))
    with np.errstate(over="ignore", invalid="ignore"):
        P, Q = _partial_products(W)
        return check_result(_dphi_adjoint(P, Q, Y), "W, Y", W)


def _dphi_adjoint(P: np.ndarray, Q: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return H(P) @ Y[..., None, :, :] @ H(Q)
