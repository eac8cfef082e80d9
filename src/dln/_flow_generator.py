"""Batched direct solve of H(b) = G for small networks: the assembled Gram matrix, one LAPACK call.

The regularizing flow needs the generator b of H(b) = G (LM eq. 2.19) at every
stage of every step. For small d and N the block-tridiagonal H, of size
n = (N-1) d^2, is cheapest as one dense matrix: it is assembled for the whole
batch with a handful of broadcast products (no Python loop over items or blocks)
and solved by one batched LU call, so a solve costs a few NumPy calls whatever
the batch size.

In C-order vec coordinates (vec(c)[i d + j] = c_ij), with P_k = W_k W_k^* and
Q_k = W_{k+1}^* W_{k+1} (k = 1..N-1),

    H(a)_k = a_k P_k + Q_k a_k - W_k a_{k-1} W_k^* - W_{k+1}^* a_{k+1} W_{k+1},

so the (k, k) block is [ij, pq] = delta_ip (P_k)_qj + (Q_k)_ip delta_jq, the
(k, k-1) block is -(W_k)_ip conj(W_k)_jq and the (k-1, k) block is its
conjugate transpose (H is Hermitian positive definite for full-rank X).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg

from . import _linalg as la
from ._errors import RankDeficientError

__all__ = ["DENSE_MAX", "DENSE_MAX_COMPLEX", "gram_matrix_batched", "generator_dense", "use_dense"]

#: largest n = (N-1) d^2 for which the assembled dense solve is preferred to block elimination
#: (its O(n^3) LAPACK cost then stays below the per-block overhead of a block-tridiagonal solve)
DENSE_MAX = 128

#: the same bound for complex layers: from n ~ 64 on, OpenBLAS runs the complex Cholesky
#: factorization multithreaded, which costs ~5x more than one thread on a busy 2-core machine
DENSE_MAX_COMPLEX = 48


@functools.lru_cache(maxsize=64)
def _layout(N: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat positions in the n x n matrix H of its nonzero entries, as three index arrays.

    ``ip[k, i, j, q]``: entry (k, ij; k, iq), where the P_k term of the (k, k) block sits;
    ``iq[k, i, j, p]``: entry (k, ij; k, pj), the Q_k term; ``off[0, k, i, j, p, q]``:
    entry (k+1, ij; k, pq) of a (k+1, k) block and ``off[1, k, i, j, p, q]`` the entry
    (k, pq; k+1, ij) of its conjugate transpose.
    """
    nb, m = N - 1, d * d
    n = nb * m
    r = np.arange(d)
    k5, i5, j5, p5, q5 = np.ix_(np.arange(nb), r, r, r, r)
    k4, i4, j4, q4 = np.ix_(np.arange(nb), r, r, r)
    ip = (k4 * m + i4 * d + j4) * n + k4 * m + i4 * d + q4
    iq = (k4 * m + i4 * d + j4) * n + k4 * m + q4 * d + j4  # q4 plays p
    k5 = k5[:-1]
    sub = ((k5 + 1) * m + i5 * d + j5) * n + k5 * m + p5 * d + q5
    sup = (k5 * m + p5 * d + q5) * n + (k5 + 1) * m + i5 * d + j5
    out = (ip, iq, np.stack([sub, sup]))
    for a in out:
        a.setflags(write=False)
    return out


def _assemble(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H as a dense (..., n, n) matrix, G as (..., n, 1)) from one set of products."""
    N, d = W.shape[-3], W.shape[-1]
    batch = W.shape[:-3]
    n = (N - 1) * d * d
    ip, iq, off = _layout(N, d)
    lo, hi = W[..., :-1, :, :], W[..., 1:, :, :]
    P = lo @ la.H(lo)
    Q = la.H(hi) @ hi
    Hflat = np.zeros(batch + (n * n,), dtype=P.dtype)
    Hflat[..., ip] = np.swapaxes(P, -1, -2)[..., :, None, :, :]  # delta_ip (P_k)_qj
    Hflat[..., iq] += Q[..., :, :, None, :]  # (Q_k)_ip delta_jq
    if N > 2:
        Wm = -W[..., 1:-1, :, :]
        sub = Wm[..., :, :, None, :, None] * W[..., 1:-1, None, :, None, :].conj()  # -(W_k)_ip conj(W_k)_jq
        Hflat[..., off] = (
            np.stack([sub, sub.conj()], axis=-6) if np.iscomplexobj(sub) else sub[..., None, :, :, :, :, :]
        )
    return Hflat.reshape(batch + (n, n)), (P - Q).reshape(batch + (n, 1))


def gram_matrix_batched(W: np.ndarray) -> np.ndarray:
    """The Gram operator H = w^* w as a dense matrix for every item of a batch.

    Parameters
    ----------
    W : ndarray, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (..., (N-1) d^2, (N-1) d^2)
        H in C-order vec coordinates of gl(d)^{N-1}: ``(H @ a.reshape(..., -1, 1))``
        is ``H(a)`` flattened.
    """
    return _assemble(np.asarray(W))[0]


#: smallest n for which the items of a batch are factored one by one (Cholesky, half the flops of
#: the batched LU); below it one batched LU call is cheaper than the per-item Python overhead
_CHOLESKY_MIN = 24


def _singular() -> RankDeficientError:
    return RankDeficientError(
        "W: the Gram operator H of the orbit map is singular (X became rank deficient along the flow)"
    )


@functools.lru_cache(maxsize=8)
def _cholesky_funcs(char: str):
    return scipy.linalg.lapack.get_lapack_funcs(("potrf", "potrs"), dtype=np.dtype(char))


def _solve_hpd(Hm: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve Hm x = g for Hermitian positive definite Hm of shape (..., n, n), g of shape (..., n, 1)."""
    n = Hm.shape[-1]
    if n >= _CHOLESKY_MIN:
        potrf, potrs = _cholesky_funcs(Hm.dtype.char)
        Hs, gs = Hm.reshape((-1, n, n)), g.reshape((-1, n, 1))
        out = np.empty(gs.shape, dtype=np.result_type(Hm, g))
        for idx in range(Hs.shape[0]):
            c, info = potrf(Hs[idx], lower=False, clean=False, overwrite_a=False)
            if info != 0:
                break
            out[idx], info = potrs(c, gs[idx], lower=False)
            if info != 0:
                break
        else:
            return out.reshape(g.shape)
        # not numerically positive definite: LU with partial pivoting decides (singular or merely indefinite)
    try:
        return np.linalg.solve(Hm, g)
    except np.linalg.LinAlgError as exc:
        raise _singular() from exc


def generator_dense(W: np.ndarray) -> np.ndarray:
    """Solve H(b) = G (LM eq. 2.19) with the assembled H, batched over the leading axes.

    Cost O(((N-1) d^2)^3) per item with no Python loop over blocks: the fastest
    direct solve while (N-1) d^2 <= :data:`DENSE_MAX`. Cholesky (for n >= 24, one
    LAPACK call per item) and LU with partial pivoting (smaller n, one batched call;
    also the fallback when the Cholesky factorization breaks down) are backward
    stable, so the forward error is ~cond(H) eps, as for the block-tridiagonal
    elimination.

    Parameters
    ----------
    W : ndarray, shape (..., N, d, d) with full-rank X

    Returns
    -------
    b : ndarray, shape (..., N-1, d, d)

    Raises
    ------
    RankDeficientError
        If H is singular to working precision (X rank deficient).
    """
    W = np.asarray(W)
    N, d = W.shape[-3], W.shape[-1]
    Hm, g = _assemble(W)
    return _solve_hpd(Hm, g).reshape(W.shape[:-3] + (N - 1, d, d))


#: largest batch size times n^3 for which the dense solve is preferred: beyond it the per-item LAPACK work
#: of the dense matrices outweighs the per-block overhead of the block elimination (which is batched)
_DENSE_WORK_MAX = 4e6


def use_dense(W: np.ndarray) -> bool:
    """Whether :func:`generator_dense` is the cheapest direct solve of H(b) = G for layers of this shape.

    Parameters
    ----------
    W : ndarray, shape (..., N, d, d)
    """
    n = (W.shape[-3] - 1) * W.shape[-1] ** 2
    items = int(np.prod(W.shape[:-3], dtype=np.int64))
    n_max = DENSE_MAX_COMPLEX if np.iscomplexobj(W) else DENSE_MAX
    return n <= n_max and items * float(n) ** 3 <= _DENSE_WORK_MAX
