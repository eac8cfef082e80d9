"""Tangent vectors to group orbits (= fibers) and the Gram operator H (LM Def. 8).

Orbit tangent (LM eq. 2.3): (w_a)_k = a_k W_k - W_k a_{k-1}, k = 1..N, a_0 = a_N = 0.
Adjoint: (w^*V)_k = V_k W_k^* - W_{k+1}^* V_{k+1}, k = 1..N-1, so w^*(W) = G (LM Lemma 2).
Gram operator H = w^* w (LM Def. 8 / Lemma 3).
"""

from __future__ import annotations

import numpy as np

from ._errors import ShapeError, as_layers, check_entries, check_result, common_batch
from ._linalg import H

__all__ = ["orbit_tangent", "orbit_tangent_adjoint", "gram_operator", "gram_matrix", "tangent_matrix"]


def _check_algebra(W: np.ndarray, a, name: str) -> np.ndarray:
    a = as_layers(a, name, min_layers=1)
    N, d = W.shape[-3], W.shape[-1]
    if a.shape[-3:] != (N - 1, d, d):
        raise ShapeError(f"{name}: expected shape (..., {N - 1}, {d}, {d}), got {a.shape}")
    common_batch(("W", W, 3), (name, a, 3))
    return a


def orbit_tangent(W, a) -> np.ndarray:
    """Infinitesimal action w_a at W (LM eq. 2.3).

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)
    a : array_like, shape (..., N-1, d, d), element of gl(d)^{N-1}

    Returns
    -------
    ndarray, shape (..., N, d, d)
    """
    W = as_layers(W, "W")
    a = _check_algebra(W, a, "a")
    with np.errstate(over="ignore", invalid="ignore"):
        return check_result(_orbit_tangent(W, a), "W, a", W)


def _orbit_tangent(W: np.ndarray, a: np.ndarray) -> np.ndarray:
    batch = np.broadcast_shapes(W.shape[:-3], a.shape[:-3])
    out = np.zeros(batch + W.shape[-3:], dtype=np.result_type(W.dtype, a.dtype))
    out[..., :-1, :, :] += a @ W[..., :-1, :, :]
    out[..., 1:, :, :] -= W[..., 1:, :, :] @ a
    return out


def orbit_tangent_adjoint(W, V) -> np.ndarray:
    """Adjoint w^* of the orbit map: (w^*V)_k = V_k W_k^* - W_{k+1}^* V_{k+1}.

    Parameters
    ----------
    W, V : array_like, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (..., N-1, d, d)
    """
    W = as_layers(W, "W")
    V = as_layers(V, "V")
    if V.shape[-3:] != W.shape[-3:]:
        raise ShapeError(f"V: expected layers of shape {W.shape[-3:]}, got {V.shape[-3:]}")
    common_batch(("W", W, 3), ("V", V, 3))
    with np.errstate(over="ignore", invalid="ignore"):
        return check_result(_orbit_tangent_adjoint(W, V), "W, V", W)


def _orbit_tangent_adjoint(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    return V[..., :-1, :, :] @ H(W[..., :-1, :, :]) - H(W[..., 1:, :, :]) @ V[..., 1:, :, :]


def gram_operator(W, c) -> np.ndarray:
    """The operator H of LM Def. 8, H = w^* w, applied to c.

    H_k(c) = -W_k c_{k-1} W_k^* + c_k W_k W_k^* + W_{k+1}^* W_{k+1} c_k - W_{k+1}^* c_{k+1} W_{k+1}.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)
    c : array_like, shape (..., N-1, d, d)

    Returns
    -------
    ndarray, shape (..., N-1, d, d)
    """
    W = as_layers(W, "W")
    c = _check_algebra(W, c, "c")
    with np.errstate(over="ignore", invalid="ignore"):
        return check_result(_orbit_tangent_adjoint(W, _orbit_tangent(W, c)), "W, c", W)


def _kron_left(A: np.ndarray, d: int) -> np.ndarray:
    """Matrix of c -> A c in C-order vec coordinates: A kron I."""
    return np.einsum("...ij,kl->...ikjl", A, np.eye(d)).reshape(A.shape[:-2] + (d * d, d * d))


def _kron_right(B: np.ndarray, d: int) -> np.ndarray:
    """Matrix of c -> c B in C-order vec coordinates: I kron B^T."""
    return np.einsum("ij,...lk->...ikjl", np.eye(d), B).reshape(B.shape[:-2] + (d * d, d * d))


def tangent_matrix(W) -> np.ndarray:
    """Dense matrix of a -> w_a in C-order vec coordinates, shape (..., N d^2, (N-1) d^2)."""
    W = as_layers(W, "W")
    N, d = W.shape[-3], W.shape[-1]
    m = d * d
    check_entries(np.prod(W.shape[:-3], dtype=float) * N * (N - 1) * m * m, "W")
    M = np.zeros(W.shape[:-3] + (N * m, (N - 1) * m), dtype=W.dtype)
    for k in range(1, N + 1):  # row block k: a_k W_k - W_k a_{k-1}
        Wk = W[..., k - 1, :, :]
        if k <= N - 1:
            M[..., (k - 1) * m : k * m, (k - 1) * m : k * m] = _kron_right(Wk, d)
        if k >= 2:
            M[..., (k - 1) * m : k * m, (k - 2) * m : (k - 1) * m] = -_kron_left(Wk, d)
    return M


def gram_matrix(W) -> np.ndarray:
    """Dense Hermitian matrix of H (LM Def. 8), shape (..., (N-1) d^2, (N-1) d^2).

    Blocks in C-order vec coordinates (claim LM-Def8):
    (k,k) = I kron (W_k W_k^*)^T + (W_{k+1}^* W_{k+1}) kron I,
    (k,k-1) = -W_k kron conj(W_k), (k,k+1) = -W_{k+1}^* kron W_{k+1}^T.
    """
    M = tangent_matrix(W)
    with np.errstate(over="ignore", invalid="ignore"):
        return check_result(H(M) @ M, "W", W)
