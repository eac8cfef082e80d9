"""Gradients on the fiber F_X: the regularizing field (LM Lemma 5) and the Kirwan-Ness field (eq. 1.22).

grad_{F_X} (1/2)|W|^2 = w_b, where b in gl(d)^{N-1} solves the block-tridiagonal
system H(b) = G (LM eq. 2.19). Equivalently w_b is the orthogonal projection of W
onto the tangent space T F_X = range(w), i.e. b = argmin |W - w_b|.

Solvers (``method``):

``"pcg"`` (default, the fast method)
    Matrix-free preconditioned conjugate gradients on H b = G. One application of
    H costs O(N d^3); the preconditioner is the exact inverse of the block
    diagonal of H, a Sylvester operator c -> W_{k+1}^* W_{k+1} c + c W_k W_k^*,
    inverted in O(d^3) per block by two Hermitian eigendecompositions.
``"dense"``
    Reference: least squares min |W - w_b| with the dense (N d^2) x ((N-1) d^2)
    matrix of the orbit map, solved by LAPACK's QR/SVD least squares
    (condition number cond(w), not cond(w)^2).
``"block"``
    Block-Thomas elimination of the block-tridiagonal H with d^2 x d^2 blocks, O(N d^6).
``"normal"``
    The d x d normal-space system (THEOREMS.md NUM-proj): L(Y) = N X with
    L(Y) = sum_k P_k P_k^* Y Q_k^* Q_k, then w_b = W - dphi^*(Y). Fast for
    well-conditioned X but cond(L) ~ cond(X)^2; it does not return b.
"""

from __future__ import annotations

import numpy as np

from ._errors import DLNError, RankDeficientError, as_layers, check_full_rank
from ._linalg import H, inner
from ._product import _dphi_adjoint, _moments, _partial_products, end_to_end
from ._tangent import (
    _kron_left,
    _kron_right,
    _orbit_tangent,
    _orbit_tangent_adjoint,
    tangent_matrix,
)

__all__ = [
    "fiber_gradient",
    "regularizing_generator",
    "kirwan_ness_field",
    "SOLVERS",
]

SOLVERS = ("pcg", "dense", "block", "normal")


def _prepare(W, check_rank: bool = True) -> np.ndarray:
    W = as_layers(W, "W")
    if check_rank:
        check_full_rank(end_to_end(W), "X = end_to_end(W)", max_cond=1e14)
    return W


def regularizing_generator(W, method: str = "pcg", rtol: float = 1e-13, maxiter: int | None = None) -> np.ndarray:
    """Solve H(b) = G (LM eq. 2.19) for b in gl(d)^{N-1}.

    The regularizing flow (1.17) is W' = -w_b, i.e. the group velocity is -b.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d), full-rank X
    method : {"pcg", "dense", "block"}
    rtol : float
        Relative residual tolerance of ``"pcg"`` in the preconditioned norm.
    maxiter : int, optional
        Iteration cap of ``"pcg"`` (default ``50 N + 200``).

    Returns
    -------
    b : ndarray, shape (..., N-1, d, d). Not Hermitian in general.
    """
    W = _prepare(W)
    if method == "pcg":
        return _solve_pcg(W, _moments(W), rtol=rtol, maxiter=maxiter)
    if method == "dense":
        return _solve_dense(W)
    if method == "block":
        return _solve_block(W, _moments(W))
    if method == "normal":
        raise DLNError("method: 'normal' computes w_b directly and has no b; use fiber_gradient")
    raise DLNError(f"method: expected one of {SOLVERS}, got {method!r}")


def fiber_gradient(W, method: str = "pcg", **kwargs) -> np.ndarray:
    """Riemannian gradient of (1/2)|W|^2 on the fiber F_X (LM Lemma 5).

    Parameters
    ----------
    W : array_like, shape (..., N, d, d), with full-rank X = end_to_end(W)
    method : {"pcg", "dense", "block", "normal"}
        See the module docstring; all agree to round-off for well-conditioned X.

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
    return -2.0 * _orbit_tangent(W, _moments(W))


# ----------------------------------------------------------------------------- solvers


def _solve_dense(W: np.ndarray) -> np.ndarray:
    N, d = W.shape[-3], W.shape[-1]
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


def _solve_block(W: np.ndarray, G: np.ndarray) -> np.ndarray:
    N, d = W.shape[-3], W.shape[-1]
    m = d * d
    D, U = _blocks(W)
    g = G.reshape(G.shape[:-3] + (N - 1, m))
    S = [D[..., 0, :, :]]
    y = [g[..., 0, :]]
    for k in range(1, N - 1):
        Lk = H(np.linalg.solve(S[-1], U[..., k - 1, :, :]))  # H[k,k-1] S^{-1} with H[k,k-1] = U_{k-1}^*, S Hermitian
        S.append(D[..., k, :, :] - Lk @ U[..., k - 1, :, :])
        y.append(g[..., k, :] - (Lk @ y[-1][..., None])[..., 0])
    b = [None] * (N - 1)
    b[N - 2] = np.linalg.solve(S[N - 2], y[N - 2][..., None])[..., 0]
    for k in range(N - 3, -1, -1):
        b[k] = np.linalg.solve(S[k], (y[k] - (U[..., k, :, :] @ b[k + 1][..., None])[..., 0])[..., None])[..., 0]
    return np.stack(b, axis=-2).reshape(G.shape)


def _sylvester_precond(W: np.ndarray):
    """Exact inverse of the block diagonal of H: r -> c with W_{k+1}^*W_{k+1} c + c W_k W_k^* = r."""
    alpha, Ua = np.linalg.eigh(W[..., :-1, :, :] @ H(W[..., :-1, :, :]))
    beta, Ub = np.linalg.eigh(H(W[..., 1:, :, :]) @ W[..., 1:, :, :])
    denom = beta[..., :, None] + alpha[..., None, :]
    Ua_h, Ub_h = H(Ua), H(Ub)

    def apply(r: np.ndarray) -> np.ndarray:
        return Ub @ ((Ub_h @ r @ Ua) / denom) @ Ua_h

    return apply


def _solve_pcg(W: np.ndarray, G: np.ndarray, rtol: float = 1e-13, maxiter: int | None = None) -> np.ndarray:
    N = W.shape[-3]
    if maxiter is None:
        maxiter = 50 * N + 200
    Minv = _sylvester_precond(W)

    def Hop(c):
        return _orbit_tangent_adjoint(W, _orbit_tangent(W, c))

    x = Minv(G)
    r = G - Hop(x)
    z = Minv(r)
    p = z
    rz = inner(r, z, axes=3)
    rz0 = np.maximum(inner(G, Minv(G), axes=3), np.finfo(float).tiny)
    for _ in range(maxiter):
        if np.all(rz <= (rtol**2) * rz0):
            return x
        Hp = Hop(p)
        pHp = inner(p, Hp, axes=3)
        alpha = np.where(pHp > 0, rz / np.where(pHp > 0, pHp, 1.0), 0.0)
        x = x + alpha[..., None, None, None] * p
        r = r - alpha[..., None, None, None] * Hp
        z = Minv(r)
        rz_new = inner(r, z, axes=3)
        beta = np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        p = z + beta[..., None, None, None] * p
        rz = rz_new
    if np.all(rz <= (1e3 * rtol) ** 2 * rz0):
        return x
    raise RankDeficientError(
        f"W: conjugate gradients on H(b) = G did not converge in {maxiter} iterations "
        f"(relative residual {float(np.sqrt(np.max(rz / rz0))):.2e}); X is too ill-conditioned "
        "for method='pcg'; try method='dense' or 'block'"
    )


def _gradient_normal(W: np.ndarray) -> np.ndarray:
    import scipy.linalg as sla

    N, d = W.shape[-3], W.shape[-1]
    P, Q = _partial_products(W)
    X = P[..., 0, :, :] @ W[..., 0, :, :]
    PP = P @ H(P)
    QQ = H(Q) @ Q
    L = (_kron_left(PP, d) @ _kron_right(QQ, d)).sum(axis=-3)
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
