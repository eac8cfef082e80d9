"""Frozen copy of ``dln._fiber_cg`` before the mixed-precision rewrite (baseline for fiber_pcg_before_after.py).

float64 red-black PCG, full Lanczos spectrum for the Ritz values every ``check_every`` iterations.
Original docstring:

Preconditioned conjugate gradients for H(b) = G in per-layer eigenbases (private).

The Gram operator of LM Def. 8,

    H_k(c) = B_k c_k + c_k A_k - W_k c_{k-1} W_k^* - W_{k+1}^* c_{k+1} W_{k+1},
    A_k = W_k W_k^*,  B_k = W_{k+1}^* W_{k+1},

is written in the unitary coordinates c_k = Ub_k chat_k Ua_k^*, where
A_k = Ua_k diag(alpha_k) Ua_k^* and B_k = Ub_k diag(beta_k) Ub_k^*. The change of
coordinates is a Frobenius isometry, the block diagonal of H becomes the
elementwise multiplication by D_k[i, j] = beta_k[i] + alpha_k[j], and the
couplings become two-sided products with the precomputed matrices

    M_k = Ub_k^* W_k Ub_{k-1},   N_k = Ua_{k-1}^* W_k^* Ua_k     (k = 2..N-1).

So one application of H costs four batched d x d products and the exact
block-Jacobi (Sylvester) preconditioner is a free elementwise division.

Red-black reduction. Only consecutive blocks are coupled, so the even-numbered
blocks (whose diagonal blocks are diagonal here) are eliminated exactly and CG
runs on the Schur complement of the odd-numbered blocks (one step of block
cyclic reduction), which costs the same per iteration and needs about half the
iterations (:func:`hat_pcg`, ``reduce=True``).

Stopping rule. CG yields the Lanczos tridiagonal T of the preconditioned
operator D^{-1/2} S D^{-1/2}; its extreme eigenvalues (Ritz values) approach
that operator's extreme eigenvalues from inside. The D-norm error obeys
|x - x_*|_D <= |r|_{D^{-1}} / lambda_min, and with lambda_min replaced by the
smallest Ritz value this gives the error estimate used to stop (at ``tol``
relative to |x|_D). It is refreshed every ``check_every`` iterations from the
whole Lanczos matrix, and the final estimate uses the recomputed true residual,
so a stagnating or drifting recursion is never reported as converged.
Measured against the dense reference the estimate is pessimistic by 1-2
orders of magnitude (tests/test_fiber_solvers.py, benchmarks/).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import eigvalsh_tridiagonal

from dln._linalg import H

__all__ = ["hat_pcg"]


def _setup(W: np.ndarray):
    Wl, Wh = W[..., :-1, :, :], W[..., 1:, :, :]
    alpha, Ua = np.linalg.eigh(Wl @ H(Wl))
    beta, Ub = np.linalg.eigh(H(Wh) @ Wh)
    # eigh of a Gram matrix can return tiny negative round-off; the Sylvester
    # block is positive definite iff beta_i + alpha_j > 0.
    D = beta[..., :, None] + alpha[..., None, :]
    Wm = W[..., 1:-1, :, :]
    M = H(Ub[..., 1:, :, :]) @ Wm @ Ub[..., :-1, :, :]
    Nn = H(Ua[..., :-1, :, :]) @ H(Wm) @ Ua[..., 1:, :, :]
    return Ua, Ub, D, M, Nn


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Re <a, b> over the trailing three axes (one leading batch axis)."""
    if a.shape[0] == 1:
        return np.array([np.vdot(a, b).real])
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        return np.einsum("...kij,...kij->...", a.conj(), b).real
    return np.einsum("...kij,...kij->...", a, b)


def _ritz_extremes(alphas: np.ndarray, betas: np.ndarray, idx: int, n: int) -> tuple[float, float]:
    """Extreme eigenvalues of the CG Lanczos tridiagonal of batch item ``idx`` after ``n`` steps."""
    a = alphas[:n, idx]
    bt = betas[: n - 1, idx]
    diag = 1.0 / a
    diag[1:] += bt / a[:-1]
    off = np.sqrt(np.maximum(bt, 0.0)) / a[:-1]
    if diag.size == 1:
        return float(diag[0]), float(diag[0])
    ev = eigvalsh_tridiagonal(diag, off)
    return float(ev[0]), float(ev[-1])


def _pcg(
    make_op, Dg: np.ndarray, g: np.ndarray, x0: np.ndarray, tol: float, maxiter: int, give_up: bool, check_every: int
):
    """Batched Jacobi-preconditioned CG on A(x) = g with diagonal Dg; see the module docstring.

    ``make_op(sel)`` returns the operator restricted to the batch items ``sel``
    (an index array). Converged items are dropped from the working set once at
    most half of it is still active, so one slow item does not make the whole
    batch pay for its iterations.
    """
    nb = g.shape[0]
    tiny = np.finfo(float).tiny
    sel = np.arange(nb)
    Aop = make_op(sel)
    x_full = x0.copy()
    x = x_full
    Dc, gc = Dg, g
    r = gc - Aop(x)
    z = r / Dc
    p = z.copy()
    rz = _dot(r, z)
    gnorm2 = np.maximum(_dot(gc, gc / Dc), tiny)
    active = ~(rz <= (np.finfo(float).eps ** 2) * gnorm2)  # zero right-hand side or exact initial guess
    iters = np.zeros(nb, dtype=int)
    lam_min = np.full(nb, np.nan)
    lam_max = np.full(nb, np.nan)
    err_est = np.full(nb, np.inf)
    alphas = np.ones((maxiter + 1, nb))
    betas = np.zeros((maxiter + 1, nb))
    it = 0
    while np.any(active) and it < maxiter:
        if sel.size > 1 and 2 * np.count_nonzero(active) <= sel.size:
            keep = np.flatnonzero(active)
            x_full[sel] = x
            sel, x, r, p, rz, active = sel[keep], x[keep], r[keep], p[keep], rz[keep], active[keep]
            Dc, gc = Dg[sel], g[sel]
            Aop = make_op(sel)
        Ap = Aop(p)
        pAp = _dot(p, Ap)
        ok = active & (pAp > 0)
        alpha = np.where(ok, rz / np.where(ok, pAp, 1.0), 0.0)
        a4 = alpha[:, None, None, None]
        x += a4 * p
        Ap *= a4
        r -= Ap
        z = r / Dc
        rz_new = _dot(r, z)
        beta = np.where(ok & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        p *= beta[:, None, None, None]
        p += z
        rz = rz_new
        alphas[it, sel] = np.where(ok, alpha, 1.0)
        betas[it, sel] = beta
        it += 1
        iters[sel[active]] = it
        active &= pAp > 0
        if it % check_every == 0 or it == maxiter:
            xD = np.sqrt(_dot(x, x * Dc))
            for j in np.flatnonzero(active):
                i = sel[j]
                lam_min[i], lam_max[i] = _ritz_extremes(alphas, betas, i, it)
                if not lam_min[i] > 0:
                    active[j] = False
                    continue
                err_est[i] = np.sqrt(max(rz[j], 0.0)) / (lam_min[i] * max(xD[j], tiny))
                if err_est[i] <= tol:
                    active[j] = False
                elif give_up and it >= 3 * check_every:
                    need = 0.5 * np.sqrt(lam_max[i] / lam_min[i]) * np.log(err_est[i] / tol)
                    if it + need > maxiter:
                        active[j] = False
    x_full[sel] = x
    x = x_full
    # verify with the true residual (the recursive one can drift or stagnate)
    r_true = g - make_op(np.arange(nb))(x)
    rz_true = _dot(r_true, r_true / Dg)
    xD = np.sqrt(_dot(x, x * Dg))
    for i in range(nb):
        if iters[i] > 0:
            lam_min[i], lam_max[i] = _ritz_extremes(alphas, betas, i, int(iters[i]))
        lm = 1.0 if iters[i] == 0 else lam_min[i]
        if not lm > 0:  # breakdown: H numerically singular along the Krylov space
            err_est[i] = np.inf
            continue
        err_est[i] = np.sqrt(max(rz_true[i], 0.0)) / (lm * max(xD[i], tiny))
    converged = err_est <= 10.0 * tol
    return x, converged, {"iterations": iters, "err_est": err_est, "cond_est": lam_max / lam_min}


def hat_pcg(
    W: np.ndarray,
    G: np.ndarray,
    tol: float = 1e-11,
    maxiter: int | None = None,
    b0: np.ndarray | None = None,
    check_every: int = 10,
    give_up: bool = False,
    reduce: bool = True,
):
    """Solve H(b) = G by block-Jacobi PCG in per-layer eigenbases.

    Parameters
    ----------
    W : ndarray, shape (B, N, d, d) (one flat batch axis)
    G : ndarray, shape (B, N-1, d, d)
    tol : float
        Target for the estimated relative error of b in the D-norm.
    maxiter : int, optional
        Iteration cap (default ``max(400, d**3 // 4)``, roughly where the
        direct block solver becomes cheaper).
    b0 : ndarray, shape (B, N-1, d, d), optional
        Initial guess (e.g. the previous step of an integrator).
    check_every : int
        How often (in iterations) the Ritz-value error estimate is refreshed.
    give_up : bool
        Stop an item early when the CG convergence bound, with the condition
        number estimated from the Ritz values, predicts more than ``maxiter``
        iterations (used by ``method="auto"`` to switch to the direct solver).
    reduce : bool
        Eliminate the even-numbered blocks exactly (one step of block cyclic
        reduction, "red-black" ordering; their diagonal blocks are diagonal in
        these coordinates) and run CG on the Schur complement
        S = D_odd - B^* D_even^{-1} B of the odd-numbered blocks. For a chain
        whose Jacobi-scaled coupling has spectral radius 1 - delta, this turns
        a condition number ~2/delta into ~1/(2 delta) at the same cost per
        iteration: about half the iterations.

    Returns
    -------
    b : ndarray, shape (B, N-1, d, d)
    converged : ndarray of bool, shape (B,)
    info : dict with ``iterations`` (B,), ``err_est`` (B,), ``cond_est`` (B,)
    """
    N = W.shape[-3]
    n = N - 1
    if maxiter is None:
        maxiter = max(400, W.shape[-1] ** 3 // 4)
    Ua, Ub, D, M, Nn = _setup(W)
    bad_diag = ~np.all(D > 0, axis=(-3, -2, -1))
    D = np.where(D > 0, D, np.inf)  # items with a singular diagonal block are reported as not converged
    MH, NH = np.ascontiguousarray(H(M)), np.ascontiguousarray(H(Nn))
    g = H(Ub) @ G @ Ua
    x0 = None if b0 is None else H(Ub) @ b0.astype(g.dtype, copy=False) @ Ua

    if not reduce or n < 2:

        def make_hop(sel: np.ndarray):
            Ds, Ms, Ns, MHs, NHs = D[sel], M[sel], Nn[sel], MH[sel], NH[sel]

            def Hop(c: np.ndarray) -> np.ndarray:
                out = Ds * c
                if n > 1:
                    out[..., 1:, :, :] -= Ms @ c[..., :-1, :, :] @ Ns
                    out[..., :-1, :, :] -= MHs @ c[..., 1:, :, :] @ NHs
                return out

            return Hop

        x, ok, stats = _pcg(make_hop, D, g, g / D if x0 is None else x0, tol, maxiter, give_up, check_every)
    else:
        # red = even blocks 0, 2, ... (eliminated), black = odd blocks 1, 3, ... (kept).
        # Edge j couples blocks j and j+1: even edges j = 2i join red i (left) and black i (right);
        # odd edges j = 2i+1 join black i (left) and red i+1 (right).
        Me, Ne, MeH, NeH = M[:, 0::2], Nn[:, 0::2], MH[:, 0::2], NH[:, 0::2]
        Mo, No, MoH, NoH = M[:, 1::2], Nn[:, 1::2], MH[:, 1::2], NH[:, 1::2]
        ne, no = Me.shape[1], Mo.shape[1]
        Dr, Dk = D[:, 0::2], D[:, 1::2]

        def make_ops(sel: np.ndarray):
            MeHs, NeHs, Mos, Nos = MeH[sel], NeH[sel], Mo[sel], No[sel]
            Mes, Nes, MoHs, NoHs = Me[sel], Ne[sel], MoH[sel], NoH[sel]
            Drs, Dks = Dr[sel], Dk[sel]

            def Bop(ck: np.ndarray) -> np.ndarray:  # black -> red, H[red, black] = -B
                out = np.zeros(Drs.shape, dtype=np.result_type(ck, Mes))
                out[:, :ne] += MeHs @ ck[:, :ne] @ NeHs
                if no:
                    out[:, 1 : 1 + no] += Mos @ ck[:, :no] @ Nos
                return out

            def BHop(y: np.ndarray) -> np.ndarray:  # red -> black
                out = np.zeros(Dks.shape, dtype=np.result_type(y, Mes))
                out[:, :ne] += Mes @ y[:, :ne] @ Nes
                if no:
                    out[:, :no] += MoHs @ y[:, 1 : 1 + no] @ NoHs
                return out

            Drinv = 1.0 / Drs
            dtype = np.result_type(g, Mes)

            def Sop(ck: np.ndarray) -> np.ndarray:  # D_k ck - B^* D_r^{-1} B ck, fused (no zero fills)
                y = np.empty(Drs.shape, dtype=dtype)
                y[:, :ne] = MeHs @ ck[:, :ne] @ NeHs
                if y.shape[1] > ne:
                    y[:, ne:] = 0.0
                if no:
                    y[:, 1 : 1 + no] += Mos @ ck[:, :no] @ Nos
                y *= Drinv
                out = Mes @ y[:, :ne] @ Nes  # ne = number of black blocks
                if no:
                    out[:, :no] += MoHs @ y[:, 1 : 1 + no] @ NoHs
                np.subtract(Dks * ck, out, out=out)
                return out

            return Bop, BHop, Sop

        Bop, BHop, _ = make_ops(np.arange(g.shape[0]))

        gr, gk = g[:, 0::2], g[:, 1::2]
        rhs = gk + BHop(gr / Dr)
        xk0 = rhs / Dk if x0 is None else x0[:, 1::2].copy()
        xk, ok, stats = _pcg(lambda sel: make_ops(sel)[2], Dk, rhs, xk0, tol, maxiter, give_up, check_every)
        x = np.empty_like(g)
        x[:, 1::2] = xk
        x[:, 0::2] = (gr + Bop(xk)) / Dr
    ok &= ~bad_diag
    b = Ub @ x @ H(Ua)
    return b, ok, stats
