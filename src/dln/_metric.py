"""The operator A_{N,X}, its inverse and the metric g^N on M_d (LM Remark 5, Menon-Yu).

A_{N,X}(P) = sum_{j=1}^N (X X^*)^{(N-j)/N} P (X^* X)^{(j-1)/N}.

With the SVD X = U Sigma V^*, A_{N,X}(P) = U [ K o (U^* P V) ] V^* where
K_il = sum_{j=1}^N sigma_i^{2(N-j)/N} sigma_l^{2(j-1)/N} (a Hadamard product), so
A, its inverse and g^N cost one SVD and four matrix products: O(d^3).
"""

from __future__ import annotations

import numpy as np

from ._errors import (
    DLNError,
    ShapeError,
    as_square,
    as_values,
    check_entries,
    check_full_rank,
    check_result,
    common_batch,
)
from ._linalg import H, inner

__all__ = [
    "A_operator",
    "A_operator_inverse",
    "metric_gN",
    "end_to_end_velocity",
    "spectral_kernel",
    "riemannian_gradient",
    "horizontal_lift",
]


def _check_N(N) -> int:
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise DLNError(f"N: expected an integer number of layers >= 1, got {N!r}")
    check_entries(N, "N")
    return int(N)


def spectral_kernel(sigma: np.ndarray, N: int) -> np.ndarray:
    """K_il = sum_{j=1}^N sigma_i^{2(N-j)/N} sigma_l^{2(j-1)/N}, shape (..., d, d).

    Evaluated stably as (lam_i^{2N} - lam_l^{2N}) / (lam_i^2 - lam_l^2) with lam = sigma^{1/N}
    off the diagonal when the values are well separated, by the sum otherwise.
    """
    N = _check_N(N)
    s = as_values(sigma, "sigma", low=0.0)
    check_entries(float(s.size) * s.shape[-1] * N, "N")
    return check_result(_kernel(s, N), "sigma", s)


def _kernel(s: np.ndarray, N: int) -> np.ndarray:
    li = s[..., :, None] ** (2.0 / N)
    ll = s[..., None, :] ** (2.0 / N)
    j = np.arange(1, N + 1)
    return np.sum(li[..., None] ** (N - j) * ll[..., None] ** (j - 1), axis=-1)


def _svd(X: np.ndarray):
    check_full_rank(X, "X")
    U, s, Vh = np.linalg.svd(X)
    return U, s, H(Vh)


def _apply(X, P, N, name: str, inverse: bool = False) -> np.ndarray:
    X = as_square(X, "X")
    P = as_square(P, name)
    if P.shape[-1] != X.shape[-1]:
        raise ShapeError(f"{name}: expected d = {X.shape[-1]}, got shape {P.shape}")
    common_batch(("X", X, 2), (name, P, 2))
    N = _check_N(N)
    U, s, V = _svd(X)
    K = _kernel(s, N)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = U @ ((H(U) @ P @ V) / K if inverse else K * (H(U) @ P @ V)) @ H(V)
    return check_result(out, f"X, {name}", X)


def A_operator(X, P, N: int) -> np.ndarray:
    """A_{N,X}(P) (LM Remark 5).

    Parameters
    ----------
    X : array_like, shape (..., d, d), full rank
    P : array_like, shape (..., d, d)
    N : int >= 1

    Returns
    -------
    ndarray, shape (..., d, d)
    """
    return _apply(X, P, N, "P")


def A_operator_inverse(X, Z, N: int) -> np.ndarray:
    """Inverse of A_{N,X} applied to Z, shape (..., d, d)."""
    return _apply(X, Z, N, "Z", inverse=True)


def metric_gN(X, Z1, Z2, N: int) -> np.ndarray:
    """g^N_X(Z1, Z2) = Re Tr(Z1^* A_{N,X}^{-1} Z2) (Menon-Yu), shape (...)."""
    Z1 = as_square(Z1, "Z1")
    Z2 = as_square(Z2, "Z2")
    if Z1.shape[-1] != Z2.shape[-1]:
        raise ShapeError(f"Z1: expected d = {Z2.shape[-1]}, got shape {Z1.shape}")
    common_batch(("X", np.asarray(X), 2), ("Z1", Z1, 2), ("Z2", Z2, 2))
    return check_result(inner(Z1, _apply(X, Z2, N, "Z2", inverse=True)), "X, Z1, Z2", Z1)


def end_to_end_velocity(X, gradE, N: int) -> np.ndarray:
    """Right-hand side of the induced end-to-end flow X' = -A_{N,X}(grad E(X)) (LM Remark 5)."""
    return -_apply(X, gradE, N, "gradE")


def riemannian_gradient(X, gradE, N: int) -> np.ndarray:
    """g^N-gradient of a function on M_d from its Euclidean gradient: A_{N,X}(grad E), shape (..., d, d).

    g^N_X(A_{N,X}(G), Z) = Re Tr(G^* Z) for every Z, so A_{N,X}(grad E) is the Riemannian gradient
    (MY-metric). For a spectral E, grad E = U diag(dE/dsigma) V^* and the result is
    U diag(N sigma^{2-2/N} dE/dsigma) V^*.
    """
    return _apply(X, gradE, N, "gradE")


def horizontal_lift(W, Z) -> np.ndarray:
    """Horizontal lift dphi^*(A_{N,X}^{-1} Z) of a tangent vector Z at X = phi(W) (MY-metric).

    At a balanced W (G = 0), dphi dphi^* = A_{N,X}, so the lift maps to Z, is orthogonal to the fiber
    (the orbit tangent vectors w_a) and has squared norm g^N_X(Z, Z).

    Parameters
    ----------
    W : array_like, shape (..., N, d, d), balanced
    Z : array_like, shape (..., d, d)

    Returns
    -------
    ndarray, shape (..., N, d, d)
    """
    from ._errors import as_layers
    from ._product import dphi_adjoint, end_to_end

    W = as_layers(W, "W")
    Z = as_square(Z, "Z")
    common_batch(("W", W, 3), ("Z", Z, 2))
    X = end_to_end(W)
    try:
        Y = _apply(X, Z, W.shape[-3], "Z", inverse=True)
    except DLNError as exc:
        raise type(exc)(str(exc).replace("X:", "X = end_to_end(W):", 1)) from None
    return check_result(dphi_adjoint(W, Y), "W, Z", W)
