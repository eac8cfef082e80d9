"""Small batched linear-algebra helpers (private)."""

from __future__ import annotations

import numpy as np


def H(A: np.ndarray) -> np.ndarray:
    """Conjugate transpose of the last two axes (transpose for real arrays)."""
    return np.conj(np.swapaxes(A, -1, -2)) if np.iscomplexobj(A) else np.swapaxes(A, -1, -2)


def inner(A: np.ndarray, B: np.ndarray, axes: int = 2) -> np.ndarray:
    """Real inner product Re Tr(A* B) summed over the trailing ``axes`` axes."""
    prod = np.real(np.conj(A) * B) if (np.iscomplexobj(A) or np.iscomplexobj(B)) else A * B
    return prod.sum(axis=tuple(range(-axes, 0)))


def sqnorm(A: np.ndarray, axes: int = 2) -> np.ndarray:
    """Squared Frobenius norm over the trailing ``axes`` axes."""
    return inner(A, A, axes)


def norm(A: np.ndarray, axes: int = 2) -> np.ndarray:
    """Frobenius norm over the trailing ``axes`` axes."""
    return np.sqrt(sqnorm(A, axes))


def eye_like(A: np.ndarray) -> np.ndarray:
    """Identity matrices broadcastable against ``A`` of shape ``(..., d, d)``."""
    return np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape)


def result_dtype(*arrays) -> np.dtype:
    """complex128 if any argument is complex, else float64."""
    return np.complex128 if any(np.iscomplexobj(a) for a in arrays) else np.float64


def expm(A: np.ndarray) -> np.ndarray:
    """Batched matrix exponential of shape ``(..., d, d)``.

    Uses scipy's Pade implementation, which accepts leading batch axes.
    """
    from scipy.linalg import expm as _expm

    A = np.asarray(A)
    if A.ndim == 2:
        return _expm(A)
    flat = A.reshape((-1,) + A.shape[-2:])
    out = _expm(flat)
    return out.reshape(A.shape)
