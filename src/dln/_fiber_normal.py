"""Preconditioned conjugate gradients for the fiber gradient on the normal space (private).

The fiber gradient w_b is the orthogonal projection of W onto T_W F_X = ker dphi,
so W - w_b = dphi^*(Y) lies in the normal space range(dphi^*), whose dimension is
d^2 whatever N is, and Y solves dphi(W - dphi^*(Y)) = 0, i.e.

    L(Y) = sum_k P_k P_k^* Y Q_k^* Q_k = sum_k P_k W_k Q_k = N X,

with P_k = W_N ... W_{k+1}, Q_k = W_{k-1} ... W_1 (:mod:`dln._product`).

Coordinates. With the SVD X = U diag(s) V^*, the system is written for
Yhat = U^* Y V in terms of F_k = U^* P_k and E_k = Q_k V, which are accumulated
along the chain (F_N = U^*, F_k = F_{k+1} W_{k+1}; E_1 = V, E_{k+1} = W_k E_k):

    Lhat(Yhat) = sum_k Ahat_k Yhat Bhat_k,   Ahat_k = F_k F_k^*,   Bhat_k = E_k^* E_k,
    rhs = sum_k F_k W_k E_k = F_0 E_1 + sum_{k >= 2} F_{k-1} E_k,     F_0 = F_1 W_1,
    w_b = W - (F_k^* Yhat E_k^*)_k.

At a balanced point (W_k = U_k diag(s)^{1/N} U_{k-1}^*) every Ahat_k and Bhat_k is
diagonal, so Lhat is the elementwise multiplication by
D[i, j] = sum_k Ahat_k[i, i] Bhat_k[j, j]; this D is the Jacobi preconditioner,
exact there. Away from the minimizing orbit the two-sided block preconditioner
(:meth:`NormalSystem.block_preconditioner`) keeps the full Ahat_k (Bhat_k) and
only the diagonals of the other side: it needs 1.5-10 times fewer iterations
than Jacobi (10 times on far-from-balanced, individually ill-conditioned layers)
and is also exact at balanced points; its O(d^4) setup decides when it is used
(:func:`normal_pcg`, ``preconditioner="auto"``).

Accuracy. Accumulating the chain in the rotated frame keeps the rows of F_k and
the columns of E_k graded (row i of F_k ~ s_i^{(N-k)/N} near the minimizing
orbit), so the entries of Ahat_k and Bhat_k carry errors relative to
sqrt(Ahat_k[i, i] Ahat_k[l, l]) (Cauchy-Schwarz bounds every entry of a Gram
matrix by that), and the Jacobi-scaled operator is applied with a normwise
relative error of order eps, although cond(L) ~ cond(X)^2. W - w_b = dphi^*(Y)
is normal to the fiber to round-off whatever the error of Y, and the error of
w_b is the energy-norm error of Y, which CG minimizes. Measured: relative
errors of w_b <= 6e-12 against dense least squares at cond(X) = 1e12, and on
far-from-balanced layers with cond(W_k) ~ 1e3 closer to dense (1e-13) than the
block Cholesky solve of H (1e-9) (tests/test_fiber_normal.py,
benchmarks/fiber_auto_table.py).

Cost. Setup: three chains of N products, one SVD, the 2N Gram products Ahat_k,
Bhat_k. One CG iteration: the N products Yhat Bhat_k (one batched matmul) and one
(d x Nd) by (Nd x d) product: 2 N d^3 multiply-adds, about half a Kirwan-Ness
field evaluation; the block preconditioner adds 4 d^4 to the setup and 4 d^3
per iteration.

Stopping rule. The error of w_b is the L-energy norm of the error of Y:
|w_b - w_b^*| = |Y - Y^*|_L <= |r|_{M^{-1}} / sqrt(lambda_min), lambda_min the
smallest eigenvalue of M^{-1/2} Lhat M^{-1/2} (M the preconditioner), replaced by the smallest Ritz
value of the CG Lanczos matrix. The iteration stops when this estimate is below
``tol * |w_b| + floor * |W|`` (|w_b|^2 = |W|^2 - <Y, L Y>). The estimate is
checked every ``check_every`` iterations and, once a Ritz value is known, at the
iteration where the residual (known at every iteration) meets the target with
that Ritz value; the check refreshes the Ritz value (smaller, so the stop may
come later). The final estimate uses the recomputed true residual and the
explicitly formed w_b.
"""

from __future__ import annotations

import numpy as np

from ._errors import check_result, check_singular_values
from ._fiber_cg import _ritz
from ._linalg import H

__all__ = ["normal_pcg", "cost_model", "NORMAL_FLOOR", "BLOCK_PREC_MAX_D_PER_N"]

#: ``normal_pcg(preconditioner="auto")`` uses the block preconditioner where d <= this times N
BLOCK_PREC_MAX_D_PER_N = 1

#: ``normal_pcg(preconditioner="auto")`` with d > BLOCK_PREC_MAX_D_PER_N N: Jacobi up to the horizon
#: SWITCH_ITERATIONS + SWITCH_PER_D_OVER_N d / N iterations (the block setup costs ~3 d / N iterations), then the
#: block preconditioner for the items not solved by then or predicted by the convergence bound not to be
SWITCH_ITERATIONS = 40
SWITCH_PER_D_OVER_N = 3.0

#: absolute error floor of the stopping rule, in units of |W| (round-off of W - dphi^*(Y) is ~eps |W|)
NORMAL_FLOOR = 64 * np.finfo(float).eps


class NormalSystem:
    """The normal-space system in the SVD frame of X for a flat batch of layers.

    Parameters
    ----------
    W : ndarray, shape (B, N, d, d)

    Attributes
    ----------
    F, E : ndarray, shape (B, N, d, d)
        F_k = U^* P_k and E_k = Q_k V.
    Bm : ndarray, shape (B, N, d, d)
        Bhat_k = E_k^* E_k.
    Ah : ndarray, shape (B, d, N d)
        [Ahat_1 | ... | Ahat_N].
    s : ndarray, shape (B, d)
        The singular values of X, descending.
    D : ndarray, shape (B, d, d), float64
        Jacobi preconditioner D[i, j] = sum_k Ahat_k[i, i] Bhat_k[j, j].
    rhs : ndarray, shape (B, d, d)
    """

    def __init__(self, W: np.ndarray):
        nb, N, d = W.shape[0], W.shape[1], W.shape[-1]
        X = W[:, 0]
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(1, N):
                X = W[:, k] @ X
        check_result(X, "W", W)  # an overflowing product: the NonFiniteError of end_to_end, before the SVD
        U, self.s, Vh = np.linalg.svd(X)
        F = np.empty_like(W)
        E = np.empty_like(W)
        E[:, 0] = H(Vh)
        for k in range(1, N):
            E[:, k] = W[:, k - 1] @ E[:, k - 1]
        F[:, N - 1] = H(U)
        for k in range(N - 2, -1, -1):
            F[:, k] = F[:, k + 1] @ W[:, k + 1]
        A = F @ H(F)
        Bm = H(E) @ E
        a = np.einsum("bkii->bki", A).real
        bdiag = np.einsum("bkii->bki", Bm).real
        self.D = np.einsum("bki,bkj->bij", a, bdiag)
        self.rhs = (F[:, 0] @ W[:, 0]) @ E[:, 0]
        if N > 1:
            self.rhs += (F[:, :-1] @ E[:, 1:]).sum(axis=1)
        self.Ah = np.ascontiguousarray(A.transpose(0, 2, 1, 3).reshape(nb, d, N * d))
        self.Bm, self.F, self.E = Bm, F, E
        self.W = W
        self._A, self._a, self._b = A, a, bdiag
        self.Cinv = self.Rinv = None

    def subset(self, idx: np.ndarray) -> NormalSystem:
        """The system of the batch items ``idx`` (arrays sliced, no new setup)."""
        out = object.__new__(NormalSystem)
        for key in ("D", "rhs", "Ah", "Bm", "F", "E", "W", "s", "_A", "_a", "_b"):
            setattr(out, key, getattr(self, key)[idx])
        out.Cinv = None if self.Cinv is None else self.Cinv[idx]
        out.Rinv = None if self.Rinv is None else self.Rinv[idx]
        return out

    def block_preconditioner(self) -> np.ndarray:
        """Set up the two-sided block preconditioner; returns the items (B,) where it is usable.

        Left: Lhat with every Bhat_k replaced by its diagonal is block diagonal in the
        columns of Yhat, column j having the block C_j = sum_k Bhat_k[j, j] Ahat_k. Right:
        with every Ahat_k replaced by its diagonal, row i has R_i = sum_k Ahat_k[i, i] Bhat_k.
        The preconditioner is (1/2)(left^{-1} + right^{-1}), symmetric positive definite,
        exact at balanced points. The blocks are inverted by Cholesky after scaling to unit
        diagonal (:func:`_inverse_scaled`). Cost: 2 N d^3 to form the blocks, 2 d inversions of
        d x d (~3 d^4), 4 d^3 per application.
        """
        A, a, bdiag, Bm = self._A, self._a, self._b, self.Bm
        nb, N, d = Bm.shape[0], Bm.shape[1], Bm.shape[-1]
        C = (np.swapaxes(bdiag, 1, 2).astype(A.dtype) @ A.reshape(nb, N, d * d)).reshape(nb, d, d, d)
        R = (np.swapaxes(a, 1, 2).astype(Bm.dtype) @ Bm.reshape(nb, N, d * d)).reshape(nb, d, d, d)

        self.Cinv, self.Rinv = _inverse_scaled(C), _inverse_scaled(R)
        return np.all(np.isfinite(self.Cinv), axis=(-3, -2, -1)) & np.all(np.isfinite(self.Rinv), axis=(-3, -2, -1))

    def make_prec(self, sel: np.ndarray):
        """The preconditioner (block if set up, else Jacobi) restricted to the batch items ``sel``."""
        full = sel.size == self.D.shape[0]
        if self.Cinv is None:
            Dinv = 1.0 / (self.D if full else self.D[sel])
            return lambda r: r * Dinv
        Ci = self.Cinv if full else self.Cinv[sel]
        Ri = self.Rinv if full else self.Rinv[sel]

        def prec(r: np.ndarray) -> np.ndarray:
            left = np.swapaxes((Ci @ np.swapaxes(r, -1, -2)[..., :, :, None])[..., 0], -1, -2)
            right = (r[..., :, None, :] @ Ri)[..., 0, :]
            return 0.5 * (left + right)

        return prec

    def make_op(self, sel: np.ndarray):
        """Lhat restricted to the batch items ``sel``: Yhat -> [Ahat_1 | ...] [Yhat Bhat_1; ...]."""
        full = sel.size == self.D.shape[0]
        Ah = self.Ah if full else self.Ah[sel]
        Bm = self.Bm if full else self.Bm[sel]
        nb, N, d = Bm.shape[0], Bm.shape[1], Bm.shape[-1]
        buf = np.empty((nb, N, d, d), dtype=Bm.dtype)
        flat = buf.reshape(nb, N * d, d)

        if nb == 1:
            Ah0, Bm0, buf0, flat0 = Ah[0], Bm[0], buf[0], flat[0]

            def op(Y: np.ndarray) -> np.ndarray:
                np.matmul(Y[0], Bm0, out=buf0)
                return (Ah0 @ flat0)[None]

            return op

        def op(Y: np.ndarray) -> np.ndarray:
            np.matmul(Y[:, None], Bm, out=buf)
            return Ah @ flat

        return op

    def gradient(self, Y: np.ndarray) -> np.ndarray:
        """w_b = W - (F_k^* Yhat E_k^*)_k, shape (B, N, d, d)."""
        return self.W - H(self.F) @ Y[:, None] @ H(self.E)


def _inverse_scaled(M: np.ndarray) -> np.ndarray:
    """Inverses of Hermitian positive definite matrices M (..., m, m) via Cholesky of the unit-diagonal scaling.

    With S = diag(M)^{-1/2}, M^{-1} = S (L L^*)^{-1} S for the Cholesky factor L of S M S, and
    (L L^*)^{-1} = L^{-*} L^{-1} (LAPACK trtri, then one batched product). Items whose
    scaled matrix is not numerically positive definite get NaN.
    """
    from scipy.linalg import lapack

    diag = np.einsum("...ii->...i", M).real
    with np.errstate(invalid="ignore", divide="ignore"):
        sc = 1.0 / np.sqrt(diag)
    Mt = M * sc[..., :, None]
    Mt *= sc[..., None, :]
    shape, m = Mt.shape, Mt.shape[-1]
    flat = Mt.reshape((-1, m, m))
    L = np.full_like(flat, np.nan)
    fin = np.all(np.isfinite(flat), axis=(-2, -1))
    try:
        L[fin] = np.linalg.cholesky(flat[fin])
    except np.linalg.LinAlgError:
        for i in np.flatnonzero(fin):
            try:
                L[i] = np.linalg.cholesky(flat[i])
            except np.linalg.LinAlgError:
                pass
    trtri = lapack.ztrtri if np.iscomplexobj(L) else lapack.dtrtri
    for i in range(L.shape[0]):
        if np.isfinite(L[i, 0, 0]):
            Li, info = trtri(L[i], lower=1)
            L[i] = Li if info == 0 else np.nan
    L = np.tril(L)
    out = (H(L) @ L).reshape(shape)
    out *= sc[..., :, None]
    out *= sc[..., None, :]
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Re <a, b> over the trailing two axes, as float64, shape (B,)."""
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        return np.einsum("bij,bij->b", a.conj(), b).real
    return np.einsum("bij,bij->b", a, b)


def _cg(sysn, good, tol, cap, floor, wnorm2, check_every, give_up, Y0, predict_every=None, max_remaining=None):
    """Batched preconditioned CG on Lhat Yhat = rhs from Y0 with the stopping rule of the module docstring.

    Returns
    -------
    Y : ndarray, shape (B, d, d)
    iters : ndarray of int, shape (B,)
    lam_min, lam_max : ndarray, shape (B,), extreme Ritz values of the last Lanczos matrix
    done : ndarray of bool, shape (B,), the error estimate met the target
    """
    g = sysn.rhs
    nb = g.shape[0]
    maxit = int(np.max(cap)) if nb else 0
    tiny = np.finfo(float).tiny
    Y_full = Y0.copy()
    sel = np.arange(nb)
    op = sysn.make_op(sel)
    Y = Y_full.copy()
    r = g - op(Y) if np.any(Y) else g.copy()
    prec = sysn.make_prec(sel)
    capc, gc, flc, wn2 = cap, g, floor, wnorm2
    z = prec(r)
    p = z.copy()
    rz = _dot(r, z)
    active = good & (cap > 0) & (rz > 0)
    iters = np.zeros(nb, dtype=int)
    lam_min = np.full(nb, np.nan)
    lam_max = np.full(nb, np.nan)
    done = np.zeros(nb, dtype=bool)
    alphas = np.ones((maxit + 1, nb))
    betas = np.zeros((maxit + 1, nb))
    # squared preconditioned residual at which the estimate with the last Ritz value meets the target: tested
    # every iteration (no cost), so the check with a refreshed Ritz value comes at that iteration
    stop_r2 = np.full(nb, -1.0)
    it = 0
    while np.any(active) and it < maxit:
        if sel.size > 1 and 2 * np.count_nonzero(active) <= sel.size:
            keep = np.flatnonzero(active)
            Y_full[sel] = Y
            sel, Y, r, p, rz, active = sel[keep], Y[keep], r[keep], p[keep], rz[keep], active[keep]
            stop_r2 = stop_r2[keep]
            capc, gc, flc, wn2 = cap[sel], g[sel], floor[sel], wnorm2[sel]
            op = sysn.make_op(sel)
            prec = sysn.make_prec(sel)
        if sel.size == 1:  # one item: scalar recurrences up to the next check point
            i0 = sel[0]
            stop_at = min(maxit, int(capc[0]), (it // check_every + 1) * check_every)
            rzs, hit_r2 = float(rz[0]), float(stop_r2[0])
            while it < stop_at:
                Ap = op(p)
                pAp = float(np.vdot(p, Ap).real)
                if not pAp > 0:  # breakdown
                    alphas[it, i0], betas[it, i0] = 1.0, 0.0
                    it += 1
                    active[0] = False
                    break
                a_s = rzs / pAp
                Y += a_s * p
                Ap *= a_s
                r -= Ap
                z = prec(r)
                rzn = float(np.vdot(r, z).real)
                b_s = rzn / rzs if rzs > 0 else 0.0
                p *= b_s
                p += z
                alphas[it, i0], betas[it, i0] = a_s, b_s
                rzs = rzn
                it += 1
                if rzs <= hit_r2:
                    break
            iters[i0] = it
            rz = np.array([rzs])
        else:
            Ap = op(p)
            pAp = _dot(p, Ap)
            ok = active & (pAp > 0)
            alpha = np.where(ok, rz / np.where(ok, pAp, 1.0), 0.0)
            Y += alpha[:, None, None] * p
            r -= alpha[:, None, None] * Ap
            z = prec(r)
            rz_new = _dot(r, z)
            beta = np.where(ok & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
            p = z + beta[:, None, None] * p
            rz = rz_new
            alphas[it, sel] = np.where(ok, alpha, 1.0)
            betas[it, sel] = beta
            it += 1
            iters[sel[active]] = it
            active &= pAp > 0
        capped = active & (capc <= it)
        if it % check_every == 0 or np.any(capped) or np.any(active & (rz <= stop_r2)):
            energy = _dot(Y, gc) - _dot(Y, r)  # <Y, L Y>
            wb = np.sqrt(np.maximum(wn2 - energy, 0.0))
            periodic = give_up and it % (predict_every or 5 * check_every) == 0
            for j in np.flatnonzero(active):
                i = sel[j]
                target = tol * wb[j] + flc[j]
                res = np.sqrt(max(rz[j], 0.0))
                if np.isfinite(lam_min[i]) and not (res <= target * np.sqrt(lam_min[i]) or capped[j] or periodic):
                    continue  # the stale (optimistic) Ritz value does not meet the target yet
                lam_min[i] = _ritz(alphas, betas, i, it, "min")
                if not lam_min[i] > 0:
                    active[j] = False
                    continue
                stop_r2[j] = target**2 * lam_min[i]
                est = res / np.sqrt(lam_min[i])
                if est <= target or capped[j]:
                    active[j] = False
                    done[i] = est <= target
                elif periodic:
                    lam_max[i] = _ritz(alphas, betas, i, it, "max")
                    need = 0.5 * np.sqrt(lam_max[i] / lam_min[i]) * np.log(2.0 * est / max(target, tiny))
                    if it + need > capc[j] or (max_remaining is not None and need > max_remaining):
                        active[j] = False
    Y_full[sel] = Y
    for i in range(nb):
        if iters[i] > 0:
            lam_min[i] = _ritz(alphas, betas, i, int(iters[i]), "min")
            lam_max[i] = _ritz(alphas, betas, i, int(iters[i]), "max")
    return Y_full, iters, lam_min, lam_max, done


def _residual_norm(sysn, Y: np.ndarray) -> np.ndarray:
    """|rhs - Lhat Y|_{M^{-1}} per item, M the preconditioner of ``sysn``, shape (B,)."""
    sel = np.arange(Y.shape[0])
    r = sysn.rhs - sysn.make_op(sel)(Y)
    return np.sqrt(np.maximum(_dot(r, sysn.make_prec(sel)(r)), 0.0))


def normal_pcg(
    W: np.ndarray,
    tol: float = 1e-11,
    maxiter: int | np.ndarray = 500,
    check_every: int = 10,
    give_up: bool = False,
    preconditioner: str = "auto",
    max_remaining: float | None = None,
    max_cond: float | None = None,
):
    """Fiber gradient w_b by preconditioned CG on the normal space (see the module docstring).

    Parameters
    ----------
    W : ndarray, shape (B, N, d, d) (one flat batch axis)
    tol : float
        Target of the estimated error of w_b relative to |w_b| (plus an absolute
        floor :data:`NORMAL_FLOOR` |W| set by round-off).
    maxiter : int or ndarray of int, shape (B,)
        Iteration cap (per item).
    check_every : int
        How often (in iterations) the error estimate is checked before the target is in sight (see the
        module docstring: afterwards it is checked where the residual meets the target).
    give_up : bool
        Stop an item early when the CG convergence bound, with the condition
        number estimated from the Ritz values, predicts more than ``maxiter``
        iterations.
    preconditioner : {"auto", "block", "jacobi"}
        ``"jacobi"``: the elementwise D; ``"block"``: the two-sided block
        preconditioner (:meth:`NormalSystem.block_preconditioner`, Jacobi where
        it is not usable); ``"auto"``: ``"block"`` where d <=
        :data:`BLOCK_PREC_MAX_D_PER_N` N (its O(d^4) setup is then below the
        cost of the iterations it saves), else ``"jacobi"`` up to the horizon
        ``SWITCH_ITERATIONS + SWITCH_PER_D_OVER_N d / N`` and ``"block"``, from
        the Jacobi iterate, for the items not solved by then or predicted (from
        the Ritz values, every ``2 check_every`` iterations) not to be.
    max_remaining : float, optional
        With ``give_up``: also stop an item when the bound predicts that it needs
        more than this many further iterations (a caller that has a cheaper
        alternative for what remains sets it from the cost of that alternative).
    max_cond : float, optional
        Raise :class:`~dln.RankDeficientError` before iterating if cond(X) of an
        item exceeds this (from the singular values the setup computes).

    Returns
    -------
    w_b : ndarray, shape (B, N, d, d)
    converged : ndarray of bool, shape (B,)
    info : dict with ``iterations``, ``err_est`` (estimated error of w_b relative
        to |w_b|), ``cond_est`` (Ritz estimate of the condition number of the
        preconditioned operator), each of shape (B,)
    """
    nb, N, d = W.shape[0], W.shape[1], W.shape[-1]
    sysn = NormalSystem(W)
    if max_cond is not None:
        check_singular_values(sysn.s, "X = end_to_end(W)", max_cond)
    D, g = sysn.D, sysn.rhs
    good = np.all(D > 0, axis=(-2, -1)) & np.all(np.isfinite(D), axis=(-2, -1))
    sysn.D = np.where(D > 0, D, np.inf)
    cap = np.broadcast_to(np.asarray(maxiter, dtype=int), (nb,)).copy()
    tiny = np.finfo(float).tiny
    wnorm2 = np.einsum("bkij,bkij->b", W.conj(), W).real if np.iscomplexobj(W) else np.einsum("bkij,bkij->b", W, W)
    floor = NORMAL_FLOOR * np.sqrt(wnorm2)
    switch = preconditioner == "auto" and d > BLOCK_PREC_MAX_D_PER_N * N and nb > 0
    if preconditioner == "auto":
        preconditioner = "jacobi" if switch else "block"
    if preconditioner == "block" and nb:
        usable = sysn.block_preconditioner()
        if not np.all(usable[good]):
            sysn.Cinv = sysn.Rinv = None
    Y = np.zeros_like(g)
    if switch:  # Jacobi first; the items it will not solve within the horizon continue with the blocks
        first = np.minimum(cap, int(SWITCH_ITERATIONS + SWITCH_PER_D_OVER_N * d / N))
        Y, iters, lam_min, lam_max, done = _cg(
            sysn, good, tol, first, floor, wnorm2, check_every, True, Y, predict_every=2 * check_every
        )
        first = np.minimum(first, iters)
        res = _residual_norm(sysn, Y)
        rest = np.flatnonzero(good & ~done & (cap > first))
        if rest.size:
            sub = sysn.subset(rest)
            if np.all(sub.block_preconditioner()):
                Y2, it2, lmin2, lmax2, _ = _cg(
                    sub,
                    good[rest],
                    tol,
                    cap[rest] - first[rest],
                    floor[rest],
                    wnorm2[rest],
                    check_every,
                    give_up,
                    Y[rest],
                    max_remaining=max_remaining,
                )
                Y[rest], iters[rest], lam_min[rest], lam_max[rest] = Y2, iters[rest] + it2, lmin2, lmax2
                res[rest] = _residual_norm(sub, Y2)
    else:
        Y, iters, lam_min, lam_max, _ = _cg(
            sysn, good, tol, cap, floor, wnorm2, check_every, give_up, Y, max_remaining=max_remaining
        )
        res = _residual_norm(sysn, Y)
    w = sysn.gradient(Y)
    wb = np.sqrt(np.einsum("bkij,bkij->b", w.conj(), w).real)
    lm = np.where(iters > 0, lam_min, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = res / np.sqrt(np.where(lm > 0, lm, np.nan))
        err_rel = est / np.maximum(wb, tiny)
    converged = good & (est <= 10.0 * (tol * wb + floor))
    converged &= np.all(np.isfinite(w), axis=(-3, -2, -1))
    return w, converged, {"iterations": iters, "err_est": err_rel, "cond_est": lam_max / lam_min}


def cost_model(N: int, d: int, complex_: bool = False) -> dict:
    """Predicted seconds (one core) of the block solve, the setup and one iteration of :func:`normal_pcg`.

    Fitted (least squares in relative error) on one idle core of the development machine (OpenBLAS,
    one thread; ``benchmarks/fiber_cost_fit.py`` measures and refits); model / measured in a later
    run of that benchmark: 0.67-1.17 for the block solve (d in 6..32, N in {3, 6}) and the iteration
    (d in 8..128, N in {4, 16}), real and complex:

    - block Cholesky: 0.1 ms + (N-1) (30 us + 17 ns d^4 + 0.047 ns d^6), complex
      1.6 times the d^4 and 2.9 times the d^6 term;
    - one Jacobi CG iteration: 8 us (complex 11 us) of overhead + 0.25 us N + 0.065 ns N d^3
      + 0.024 ns d^3, complex arithmetic 3.2 times the flop terms;
    - the setup (chains, SVD, Gram products): 0.25 ms + N (10 us + 0.5 ns d^3) + 1.5 ns d^3,
      complex 3 times the flop terms.

    Only the ratios matter: they decide whether ``"auto"`` solves directly up front and
    where it stops iterating.

    Returns
    -------
    dict with ``block``, ``setup``, ``iteration`` (seconds)
    """
    c4, c6, ci, cs = (1.6, 2.9, 3.2, 3.0) if complex_ else (1.0, 1.0, 1.0, 1.0)
    d = float(d)
    return {
        "block": 1e-4 + max(N - 1, 1) * (3e-5 + c4 * 17e-9 * d**4 + c6 * 0.047e-9 * d**6),
        "setup": 2.5e-4 + N * (1e-5 + cs * 0.5e-9 * d**3) + cs * 1.5e-9 * d**3,
        "iteration": (11e-6 if complex_ else 8e-6) + 0.25e-6 * N + ci * (0.065e-9 * N * d**3 + 0.024e-9 * d**3),
    }
