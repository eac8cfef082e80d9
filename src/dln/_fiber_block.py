"""Direct block-Cholesky solver of the block-tridiagonal system H(b) = G (private).

H (LM Def. 8) is Hermitian positive definite and block tridiagonal with
d^2 x d^2 blocks (C-order vec coordinates, :func:`dln._fiber._blocks`):
diagonal blocks D_k, super-diagonal blocks U_k = H[k, k+1], sub-diagonal U_k^*.
Its block Cholesky factor is block lower-bidiagonal with diagonal blocks
L_k = chol(S_k), S_0 = D_0, S_k = D_k - Z_k^* Z_k, and sub-diagonal blocks
Z_k^* with Z_k = L_{k-1}^{-1} U_{k-1}. Cost O(N d^6) flops, O(N d^4) memory;
backward stable because no pivoting is needed for a positive definite matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from ._errors import RankDeficientError
from ._linalg import H

__all__ = ["block_cholesky_solve"]


def _chol(S: np.ndarray, k: int) -> np.ndarray:
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError as exc:
        raise RankDeficientError(
            "W: the Gram operator H of the orbit map is numerically singular "
            f"(block Cholesky failed at block {k + 1}); the layers or X = end_to_end(W) are too ill-conditioned"
        ) from exc


def block_cholesky_solve(D: np.ndarray, U: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve the block-tridiagonal Hermitian positive definite system.

    Parameters
    ----------
    D : ndarray, shape (..., n, m, m), diagonal blocks
    U : ndarray, shape (..., n-1, m, m), super-diagonal blocks H[k, k+1]
    g : ndarray, shape (..., n, m), right-hand side

    Returns
    -------
    x : ndarray, shape (..., n, m)
    """
    n = D.shape[-3]
    L = [_chol(D[..., 0, :, :], 0)]
    Z = [None]
    for k in range(1, n):
        Zk = solve_triangular(L[-1], U[..., k - 1, :, :], lower=True, check_finite=False)
        Z.append(Zk)
        L.append(_chol(D[..., k, :, :] - H(Zk) @ Zk, k))
    y = [solve_triangular(L[0], g[..., 0, :, None], lower=True, check_finite=False)]
    for k in range(1, n):
        y.append(solve_triangular(L[k], g[..., k, :, None] - H(Z[k]) @ y[-1], lower=True, check_finite=False))
    x = [None] * n
    x[n - 1] = solve_triangular(H(L[n - 1]), y[n - 1], lower=False, check_finite=False)
    for k in range(n - 2, -1, -1):
        x[k] = solve_triangular(H(L[k]), y[k] - Z[k + 1] @ x[k + 1], lower=False, check_finite=False)
    return np.stack([xk[..., 0] for xk in x], axis=-2)
