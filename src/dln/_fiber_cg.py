"""Preconditioned conjugate gradients for H(b) = G in per-layer eigenbases (private).

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
orders of magnitude (tests/test_fiber_solvers.py, benchmarks/). Only the
smallest Ritz value is needed, by bisection, and only when the estimate with
the previous (larger, hence optimistic) value already meets ``tol``.

Mixed precision (d >= ``MIXED_MIN_D``). The matrix products dominate the
cost of an iteration and run twice as fast in single precision, so the CG
recurrences run in float32/complex64 on the correction to a float64 iterate
("reliable updates", :func:`_rpcg`): whenever the residual has fallen by
100 since the last update, the correction is added to the float64 iterate and
the float64 residual replaces the recursive one, keeping the search direction.
This needs the iterations of a float64 CG (measured: the same counts at
d = 32, N = 16), at ~0.6 times the time per iteration, and convergence is
declared, and the error estimate computed, only on float64 residuals.
When the recursion claims convergence, an item stops as soon as its float64
estimate passes the final check (<= ``ACCEPT`` tol; the float64 CG's recursive
residual likewise stops it at tol while its float64 estimate may be up to
``ACCEPT`` tol). Where the float64 residual has reached its round-off floor
(long chains near the identity, d = 64, N = 32) it could not fall to tol, and
more single-precision iterations would only add spurious small Ritz values,
which make the iteration give up. Items the mixed iteration does not converge on
are solved again in float64 from their last iterate (:func:`hat_pcg`).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dstebz as _stebz

from ._linalg import H

__all__ = ["hat_pcg", "MIXED_MIN_D"]

#: an item has converged when its final error estimate, from the recomputed float64 residual, is at most ACCEPT tol
#: (the iterations aim at tol; the recursive residual that stops them can run ahead of the float64 one)
ACCEPT = 10.0

#: ``hat_pcg(precision="auto")`` runs the single-precision recurrences (:func:`_rpcg`) from this layer size on
MIXED_MIN_D = 16


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
    """Re <a, b> over the trailing three axes (one leading batch axis), as float64."""
    if a.shape[0] == 1:
        return np.array([float(np.vdot(a, b).real)])
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        return np.einsum("...kij,...kij->...", a.conj(), b).real.astype(float)
    return np.einsum("...kij,...kij->...", a, b).astype(float)


def _ritz(alphas: np.ndarray, betas: np.ndarray, idx: int, n: int, which: str = "min") -> float:
    """One extreme eigenvalue (``"min"`` or ``"max"``) of the CG Lanczos tridiagonal of item ``idx`` after ``n`` steps.

    Bisection (LAPACK stebz) for the one eigenvalue only: O(n) per bisection
    step instead of the O(n^2) of the full spectrum.
    """
    a = alphas[:n, idx]
    bt = betas[: n - 1, idx]
    diag = 1.0 / a
    diag[1:] += bt / a[:-1]
    if diag.size == 1:
        return float(diag[0])
    off = np.sqrt(np.maximum(bt, 0.0)) / a[:-1]
    if not np.isfinite(diag.sum() + off.sum()):
        return float("nan")
    k = 1 if which == "min" else n  # LAPACK's 1-based index
    m, w, _, _, info = _stebz(diag, off, 2, 0.0, 0.0, k, k, 0.0, b"E")  # range 2: by index
    return float(w[0]) if info == 0 and m == 1 else float("nan")


def _ritz_extremes(alphas: np.ndarray, betas: np.ndarray, idx: int, n: int) -> tuple[float, float]:
    """Extreme eigenvalues of the CG Lanczos tridiagonal of batch item ``idx`` after ``n`` steps."""
    return _ritz(alphas, betas, idx, n, "min"), _ritz(alphas, betas, idx, n, "max")


def _pcg(
    make_op,
    Dg: np.ndarray,
    g: np.ndarray,
    x0: np.ndarray | None,
    tol,
    maxiter,
    give_up: bool,
    check_every: int,
):
    """Batched Jacobi-preconditioned CG on A(x) = g with diagonal Dg; see the module docstring.

    ``make_op(sel)`` returns the operator restricted to the batch items ``sel``
    (an index array). Converged items are dropped from the working set once at
    most half of it is still active, so one slow item does not make the whole
    batch pay for its iterations. ``tol`` and ``maxiter`` may be per-item
    arrays. ``x0=None`` starts from zero. The final error estimate uses the
    recomputed true residual.

    The smallest Ritz value is refreshed (by bisection) only when the error
    estimate with the previous, larger, value already meets ``tol``: the Ritz
    values decrease monotonically, so the stale estimate is optimistic and the
    refreshed one decides.
    """
    nb = g.shape[0]
    tol = np.broadcast_to(np.asarray(tol, dtype=float), (nb,))
    cap = np.broadcast_to(np.asarray(maxiter, dtype=int), (nb,))
    maxit = int(np.max(cap)) if nb else 0
    tiny = np.finfo(float).tiny
    sel = np.arange(nb)
    Aop = make_op(sel)
    Dinv = 1.0 / Dg
    if x0 is None:
        x_full = np.zeros_like(g)
        r = g.copy()
    else:
        x_full = x0.copy()
        r = g - Aop(x_full)
    x = x_full
    Dc, Dic, tolc, capc = Dg, Dinv, tol, cap
    z = r * Dic
    p = z.copy()
    tmp = np.empty_like(r)
    rz = _dot(r, z)
    gnorm2 = np.maximum(_dot(g, g * Dinv), tiny)
    active = ~(rz <= (np.finfo(float).eps ** 2) * gnorm2)  # zero right-hand side or exact initial guess
    active &= capc > 0
    iters = np.zeros(nb, dtype=int)
    lam_min = np.full(nb, np.nan)
    lam_max = np.full(nb, np.nan)
    err_est = np.full(nb, np.inf)
    alphas = np.ones((maxit + 1, nb))
    betas = np.zeros((maxit + 1, nb))
    it = 0
    while np.any(active) and it < maxit:
        if sel.size > 1 and 2 * np.count_nonzero(active) <= sel.size:
            keep = np.flatnonzero(active)
            x_full[sel] = x
            sel, x, r, p, rz, active = sel[keep], x[keep], r[keep], p[keep], rz[keep], active[keep]
            Dc, Dic, tolc, capc = Dg[sel], Dinv[sel], tol[sel], cap[sel]
            z, tmp = np.empty_like(r), np.empty_like(r)
            Aop = make_op(sel)
        if sel.size == 1:  # one item: scalar recurrences, run to the next check point
            i0 = sel[0]
            stop_at = min(maxit, int(capc[0]), (it // check_every + 1) * check_every)
            rzs = float(rz[0])
            while it < stop_at:
                Ap = Aop(p)
                pAp = float(np.vdot(p, Ap).real)
                if not pAp > 0:  # breakdown
                    alphas[it, i0], betas[it, i0] = 1.0, 0.0
                    it += 1
                    active[0] = False
                    break
                a = rzs / pAp
                np.multiply(p, a, out=tmp)
                x += tmp
                np.multiply(Ap, a, out=tmp)
                r -= tmp
                np.multiply(r, Dic, out=z)
                rzn = float(np.vdot(r, z).real)
                bt = rzn / rzs if rzs > 0 else 0.0
                p *= bt
                p += z
                alphas[it, i0], betas[it, i0] = a, bt
                rzs = rzn
                it += 1
            iters[i0] = it
            rz = np.array([rzs])
        else:
            Ap = Aop(p)
            pAp = _dot(p, Ap)
            ok = active & (pAp > 0)
            alpha = np.where(ok, rz / np.where(ok, pAp, 1.0), 0.0)
            a4 = alpha.astype(Dc.dtype)[:, None, None, None]
            x += a4 * p
            Ap *= a4
            r -= Ap
            np.multiply(r, Dic, out=z)
            rz_new = _dot(r, z)
            beta = np.where(ok & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
            p *= beta.astype(Dc.dtype)[:, None, None, None]
            p += z
            rz = rz_new
            alphas[it, sel] = np.where(ok, alpha, 1.0)
            betas[it, sel] = beta
            it += 1
            iters[sel[active]] = it
            active &= pAp > 0
        capped = active & (capc <= it)
        if it % check_every == 0 or it == maxit or np.any(capped):
            xD = np.sqrt(_dot(x, x * Dc))
            periodic = give_up and it % (5 * check_every) == 0
            for j in np.flatnonzero(active):
                i = sel[j]
                res = np.sqrt(max(rz[j], 0.0)) / max(xD[j], tiny)
                if np.isfinite(lam_min[i]) and not (res <= tolc[j] * lam_min[i] or capped[j] or periodic):
                    continue  # the stale (optimistic) estimate is not met yet
                lam_min[i] = _ritz(alphas, betas, i, it, "min")
                if not lam_min[i] > 0:
                    active[j] = False
                    continue
                err_est[i] = res / lam_min[i]
                if err_est[i] <= tolc[j]:
                    active[j] = False
                elif capped[j]:
                    active[j] = False
                elif periodic and it >= 5 * check_every:
                    lam_max[i] = _ritz(alphas, betas, i, it, "max")
                    need = 0.5 * np.sqrt(lam_max[i] / lam_min[i]) * np.log(err_est[i] / tolc[j])
                    if it + need > capc[j]:
                        active[j] = False
    x_full[sel] = x
    x = x_full
    for i in range(nb):
        if iters[i] > 0:
            lam_min[i], lam_max[i] = _ritz_extremes(alphas, betas, i, int(iters[i]))
    # verify with the true residual (the recursive one can drift or stagnate)
    r_true = g - make_op(np.arange(nb))(x)
    rz_true = _dot(r_true, r_true * Dinv)
    xD = np.sqrt(_dot(x, x * Dg))
    for i in range(nb):
        lm = 1.0 if iters[i] == 0 else lam_min[i]
        if not lm > 0:  # breakdown: H numerically singular along the Krylov space
            err_est[i] = np.inf
            continue
        err_est[i] = np.sqrt(max(rz_true[i], 0.0)) / (lm * max(xD[i], tiny))
    converged = err_est <= ACCEPT * tol
    return x, converged, {"iterations": iters, "err_est": err_est, "cond_est": lam_max / lam_min}


def _rpcg(
    make_op64,
    make_op32,
    Dg: np.ndarray,
    g: np.ndarray,
    x0: np.ndarray,
    tol: float,
    maxiter: int,
    give_up: bool,
    check_every: int,
    delta: float = 1e-2,
):
    """Mixed-precision PCG with reliable updates (residual replacement).

    The CG recurrences and the products run in single precision
    (float32/complex64) on the correction since the last update, in units of
    the residual norm ``s`` at that update; whenever the (preconditioned)
    residual of some item has dropped by ``delta`` since the last update, the
    correction is added to the float64 iterate, the residual is recomputed in
    float64 and replaces the single-precision one, and the search direction is
    kept (rescaled). Unlike restarted refinement this keeps the Krylov
    information, so it needs about the iterations of a float64 CG at half the
    cost of the products. Convergence is only declared on a freshly replaced
    (float64) residual; the error estimate and the final verification are those
    of :func:`_pcg`.
    """
    nb = g.shape[0]
    tiny = np.finfo(float).tiny
    low = np.complex64 if np.iscomplexobj(g) else np.float32
    Dinv = 1.0 / Dg
    D32, Dinv32 = Dg.astype(np.float32), Dinv.astype(np.float32)
    sel = np.arange(nb)
    x_full = x0.copy()
    r64 = g - make_op64(sel)(x_full)
    s = np.sqrt(_dot(r64, r64 * Dinv))
    iters = np.zeros(nb, dtype=int)
    lam_min = np.full(nb, np.nan)
    lam_max = np.full(nb, np.nan)
    err_est = np.full(nb, np.inf)
    gnorm = np.sqrt(_dot(g, g * Dinv))
    active = s > np.finfo(float).eps * gnorm  # zero right-hand side or exact initial guess
    alphas = np.ones((maxiter + 1, nb))
    betas = np.zeros((maxiter + 1, nb))
    s4 = np.where(s > 0, s, 1.0)[:, None, None, None]
    r = (r64 / s4).astype(low)
    z = r * Dinv32
    p = z.copy()
    rz = _dot(r, z)
    rz_ref = rz.copy()
    xl = np.zeros_like(r)
    tmp = np.empty_like(r)
    x = x_full
    Dc, Dic, Dic64, Dc64, gc = D32, Dinv32, Dinv, Dg, g
    Aop = make_op32(sel)
    it = 0

    def replace():
        nonlocal r, z, rz, rz_ref, s
        sc = s[:, None, None, None]
        x[...] += sc * xl
        xl[...] = 0
        rr = gc - make_op64(sel)(x)
        s_new = np.sqrt(_dot(rr, rr * Dic64))
        s_safe = np.where(s_new > 0, s_new, 1.0)
        fac = s / s_safe
        # updates come when the residual has fallen by ~1/delta; one that fell by far more in one step
        # (a Krylov space exhausted in a small system, or round-off): restart the direction there
        # instead of blowing it up
        restart = ~(fac <= 1e2 / delta)
        fac[restart] = 0.0
        p[...] *= fac.astype(Dc.dtype)[:, None, None, None]
        r = (rr / s_safe[:, None, None, None]).astype(low)
        z = r * Dic
        if np.any(restart):
            p[restart] = z[restart]
            betas[it - 1, sel[restart]] = 0.0  # a new Lanczos sequence starts there
        rz = _dot(r, z)
        rz_ref = rz.copy()
        s = s_new

    while np.any(active) and it < maxiter:
        if sel.size > 1 and 2 * np.count_nonzero(active) <= sel.size:
            keep = np.flatnonzero(active)
            x_full[sel] = x + s[:, None, None, None] * xl
            sel = sel[keep]
            x, xl, r, p, rz, rz_ref, s, active = (
                x_full[sel],
                np.zeros_like(xl[keep]),
                r[keep],
                p[keep],
                rz[keep],
                rz_ref[keep],
                s[keep],
                active[keep],
            )
            Dc, Dic, Dic64, Dc64, gc = D32[sel], Dinv32[sel], Dinv[sel], Dg[sel], g[sel]
            # x_full[sel] now holds the flushed iterate; xl restarts from zero
            Aop = make_op32(sel)
            z, tmp = r * Dic, np.empty_like(r)
        if sel.size == 1:  # one item: scalar recurrences, run to the next check point
            i0 = sel[0]
            stop_at = min(maxiter, (it // check_every + 1) * check_every)
            rzs, rzr = float(rz[0]), delta**2 * float(rz_ref[0])
            while it < stop_at:
                Ap = Aop(p)
                pAp = float(np.vdot(p, Ap).real)
                if not pAp > 0:  # breakdown
                    alphas[it, i0], betas[it, i0] = 1.0, 0.0
                    it += 1
                    active[0] = False
                    break
                a = rzs / pAp
                np.multiply(p, a, out=tmp)
                xl += tmp
                np.multiply(Ap, a, out=tmp)
                r -= tmp
                np.multiply(r, Dic, out=z)
                rzn = float(np.vdot(r, z).real)
                bt = rzn / rzs if rzs > 0 else 0.0
                p *= bt
                p += z
                alphas[it, i0], betas[it, i0] = a, bt
                rzs = rzn
                it += 1
                if rzs < rzr:
                    rz = np.array([rzs])
                    replace()
                    rzs, rzr = float(rz[0]), delta**2 * float(rz_ref[0])
            iters[i0] = it
            rz = np.array([rzs])
        else:
            Ap = Aop(p)
            pAp = _dot(p, Ap)
            ok = active & (pAp > 0)
            alpha = np.where(ok, rz / np.where(ok, pAp, 1.0), 0.0)
            a4 = alpha.astype(Dc.dtype)[:, None, None, None]
            xl += a4 * p
            Ap *= a4
            r -= Ap
            z = r * Dic
            rz_new = _dot(r, z)
            beta = np.where(ok & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
            p *= beta.astype(Dc.dtype)[:, None, None, None]
            p += z
            rz = rz_new
            alphas[it, sel] = np.where(ok, alpha, 1.0)
            betas[it, sel] = beta
            it += 1
            iters[sel[active]] = it
            active &= pAp > 0
            dropped = active & (rz < delta**2 * rz_ref)
            if np.any(dropped):
                replace()
        if it % check_every == 0 or it == maxiter:
            xt = x + s[:, None, None, None] * xl
            xD = np.maximum(np.sqrt(_dot(xt, xt * Dc64)), tiny)
            periodic = give_up and it % (5 * check_every) == 0
            cand = []
            for j in np.flatnonzero(active):
                i = sel[j]
                res = s[j] * np.sqrt(max(rz[j], 0.0)) / xD[j]
                if np.isfinite(lam_min[i]) and not (res <= tol * lam_min[i] or it == maxiter or periodic):
                    continue
                lam_min[i] = _ritz(alphas, betas, i, it, "min")
                if not lam_min[i] > 0:
                    active[j] = False
                    continue
                err_est[i] = res / lam_min[i]
                if err_est[i] <= tol:
                    cand.append(j)
                elif periodic and it >= 5 * check_every:
                    lam_max[i] = _ritz(alphas, betas, i, it, "max")
                    need = 0.5 * np.sqrt(lam_max[i] / lam_min[i]) * np.log(err_est[i] / tol)
                    if it + need > maxiter:
                        active[j] = False
            if cand:  # confirm on the float64 residual
                replace()
                xt = x
                xD = np.maximum(np.sqrt(_dot(xt, xt * Dc64)), tiny)
                for j in cand:
                    i = sel[j]
                    err_est[i] = s[j] * np.sqrt(max(rz[j], 0.0)) / (xD[j] * lam_min[i])
                    # the recursion claims convergence and the float64 residual passes the final check: at the
                    # float64 residual floor more single-precision iterations would not lower it, only add
                    # spurious small Ritz values (and a false give-up)
                    if err_est[i] <= ACCEPT * tol:
                        active[j] = False
    x_full[sel] = x + s[:, None, None, None] * xl
    x = x_full
    for i in range(nb):
        if iters[i] > 0:
            lam_min[i], lam_max[i] = _ritz_extremes(alphas, betas, i, int(iters[i]))
    r_true = g - make_op64(np.arange(nb))(x)
    rz_true = _dot(r_true, r_true * Dinv)
    xD = np.sqrt(_dot(x, x * Dg))
    for i in range(nb):
        lm = 1.0 if iters[i] == 0 else lam_min[i]
        if not lm > 0:
            err_est[i] = np.inf
            continue
        err_est[i] = np.sqrt(max(rz_true[i], 0.0)) / (lm * max(xD[i], tiny))
    converged = err_est <= ACCEPT * tol
    return x, converged, {"iterations": iters, "err_est": err_est, "cond_est": lam_max / lam_min}


class _SchurOps:
    """The red-black Schur complement S = D_k - B^* D_r^{-1} B and the couplings B, B^*, in one dtype.

    Red = even blocks 0, 2, ... (eliminated), black = odd blocks 1, 3, ... (kept).
    Edge j couples blocks j and j+1: even edges j = 2i join red i (left) and
    black i (right); odd edges j = 2i+1 join black i (left) and red i+1 (right).
    H[red, black] = -B. Copies of the coupling matrices are made contiguous in
    ``dtype`` once (float32/complex64 for the single-precision recurrences of :func:`_rpcg`).
    """

    def __init__(self, Me, Ne, Mo, No, Dr, Dk, dtype):
        real = np.float32 if np.dtype(dtype) in (np.float32, np.complex64) else np.float64

        def c(a, dt=dtype):
            return np.ascontiguousarray(a, dtype=dt)

        self.Me, self.Ne, self.MeH, self.NeH = c(Me), c(Ne), c(H(Me)), c(H(Ne))
        self.Mo, self.No, self.MoH, self.NoH = c(Mo), c(No), c(H(Mo)), c(H(No))
        self.Drinv, self.Dk, self.Dr = c(1.0 / Dr, real), c(Dk, real), c(Dr, real)
        self.ne, self.no = ne, no = Me.shape[1], Mo.shape[1]
        self.dtype = np.dtype(dtype)
        self.nb = nb = Dk.shape[0]
        d, nr = Dk.shape[-1], Dr.shape[1]
        # stacked right factors: [NeH_i; No_{i-1}] per red block i, [Ne_i; NoH_i] per black block i (0 if absent)
        self._R1 = np.zeros((nb, nr, 2 * d, d), dtype=dtype)
        self._R1[:, :ne, :d] = self.NeH
        self._R1[:, 1 : 1 + no, d:] = self.No
        self._R2 = np.zeros((nb, ne, 2 * d, d), dtype=dtype)
        self._R2[:, :, :d] = self.Ne
        self._R2[:, :no, d:] = self.NoH

    def _take(self, sel):
        names = ("Me", "Ne", "MeH", "NeH", "Mo", "No", "MoH", "NoH", "Drinv", "Dk")
        if sel is None or (sel.size == self.nb and np.array_equal(sel, np.arange(self.nb))):
            return [getattr(self, k) for k in names]
        return [getattr(self, k)[sel] for k in names]

    def B(self, ck: np.ndarray) -> np.ndarray:  # black -> red
        Me, Ne, MeH, NeH, Mo, No, MoH, NoH, Drinv, Dk = self._take(None)
        ne, no = self.ne, self.no
        out = np.zeros(self.Dr.shape, dtype=np.result_type(ck, Me))
        out[:, :ne] += MeH @ ck[:, :ne] @ NeH
        if no:
            out[:, 1 : 1 + no] += Mo @ ck[:, :no] @ No
        return out

    def BH(self, y: np.ndarray) -> np.ndarray:  # red -> black
        Me, Ne, MeH, NeH, Mo, No, MoH, NoH, Drinv, Dk = self._take(None)
        ne, no = self.ne, self.no
        out = np.zeros(self.Dk.shape, dtype=np.result_type(y, Me))
        out[:, :ne] += Me @ y[:, :ne] @ Ne
        if no:
            out[:, :no] += MoH @ y[:, 1 : 1 + no] @ NoH
        return out

    def make_sop(self, sel: np.ndarray):
        """S restricted to the batch items ``sel``; the returned array is reused by the next call.

        Each half of S is two batched left products written side by side into a
        (d, 2d) buffer and one right product with the stacked (2d, d) right
        factors, which also sums the two edges of a block: 6 BLAS calls, no adds.
        """
        if sel is None or (sel.size == self.nb and np.array_equal(sel, np.arange(self.nb))):
            L1a, L1b, R1, L2a, L2b, R2 = self.MeH, self.Mo, self._R1, self.Me, self.MoH, self._R2
            Drinv, Dk = self.Drinv, self.Dk
        else:
            L1a, L1b, R1, L2a, L2b, R2 = (a[sel] for a in (self.MeH, self.Mo, self._R1, self.Me, self.MoH, self._R2))
            Drinv, Dk = self.Drinv[sel], self.Dk[sel]
        ne, no = self.ne, self.no
        nb, nr, d = Drinv.shape[0], Drinv.shape[1], Drinv.shape[-1]
        dt = self.dtype
        buf1 = np.zeros((nb, nr, d, 2 * d), dtype=dt)  # [MeH_i c_i | Mo_{i-1} c_{i-1}] per red block i
        buf2 = np.zeros((nb, ne, d, 2 * d), dtype=dt)  # [Me_i y_i | MoH_i y_{i+1}] per black block i
        y = np.empty((nb, nr, d, d), dtype=dt)
        out = np.empty((nb, ne, d, d), dtype=dt)
        t = np.empty((nb, ne, d, d), dtype=dt)

        def Sop(ck: np.ndarray) -> np.ndarray:  # D_k ck - B^* D_r^{-1} B ck
            np.matmul(L1a, ck, out=buf1[:, :ne, :, :d])
            if no:
                np.matmul(L1b, ck[:, :no], out=buf1[:, 1 : 1 + no, :, d:])
            np.matmul(buf1, R1, out=y)
            np.multiply(y, Drinv, out=y)
            np.matmul(L2a, y[:, :ne], out=buf2[:, :, :, :d])
            if no:
                np.matmul(L2b, y[:, 1 : 1 + no], out=buf2[:, :no, :, d:])
            np.matmul(buf2, R2, out=out)
            np.multiply(Dk, ck, out=t)
            np.subtract(t, out, out=out)
            return out

        return Sop


def hat_pcg(
    W: np.ndarray,
    G: np.ndarray,
    tol: float = 1e-11,
    maxiter: int | None = None,
    b0: np.ndarray | None = None,
    check_every: int = 10,
    give_up: bool = False,
    reduce: bool = True,
    precision: str = "auto",
):
    """Solve H(b) = G by block-Jacobi PCG in per-layer eigenbases.

    Parameters
    ----------
    W : ndarray, shape (B, N, d, d) (one flat batch axis)
    G : ndarray, shape (B, N-1, d, d)
    tol : float
        Target for the estimated relative error of b in the D-norm; an item counts
        as converged when the estimate from its recomputed float64 residual is at
        most ``ACCEPT`` tol.
    maxiter : int, optional
        Iteration cap (default ``max(400, d**3 // 4)``, roughly where the
        direct block solver becomes cheaper) of one run; in mixed precision an
        item that the first run does not converge on gets a second, float64, run
        of at most as many iterations, so it may take up to ``2 maxiter``.
    b0 : ndarray, shape (B, N-1, d, d), optional
        Initial guess (e.g. the previous step of an integrator).
    check_every : int
        How often (in iterations) the error estimate is checked (the smallest
        Ritz value is recomputed only when the check may succeed).
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

    precision : {"auto", "mixed", "double"}
        ``"auto"``: ``"mixed"`` for d >= ``MIXED_MIN_D`` (where the matrix
        products dominate the cost), else ``"double"``.
        ``"mixed"`` (with ``reduce``): CG with reliable updates (:func:`_rpcg`):
        the recurrences and products run in single precision, at half the cost
        of the matrix products, on corrections of a float64 iterate whose float64
        residual replaces the recursive one every two orders of magnitude and
        decides convergence; about the iterations of ``"double"``, one float64 CG.

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
    g = H(Ub) @ G @ Ua
    x0 = None if b0 is None else H(Ub) @ b0.astype(g.dtype, copy=False) @ Ua

    if not reduce or n < 2:
        MH, NH = np.ascontiguousarray(H(M)), np.ascontiguousarray(H(Nn))

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
        # red = even blocks (eliminated), black = odd blocks (kept); even/odd edges, see _SchurOps
        Me, Ne, Mo, No = M[:, 0::2], Nn[:, 0::2], M[:, 1::2], Nn[:, 1::2]
        Dr, Dk = D[:, 0::2], D[:, 1::2]

        ops = _SchurOps(Me, Ne, Mo, No, Dr, Dk, g.dtype)
        gr, gk = g[:, 0::2], g[:, 1::2]
        rhs = gk + ops.BH(gr / Dr)
        xk0 = rhs / Dk if x0 is None else x0[:, 1::2].copy()
        if precision == "auto":
            precision = "mixed" if W.shape[-1] >= MIXED_MIN_D else "double"
        if precision == "mixed":
            low = np.complex64 if np.iscomplexobj(g) else np.float32
            ops32 = _SchurOps(Me, Ne, Mo, No, Dr, Dk, low)
            # Single precision can overflow or produce NaN on badly scaled inputs; such items fail the
            # float64 convergence test (a NaN error estimate is never <= tol) and are solved again below.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                xk, ok, stats = _rpcg(ops.make_sop, ops32.make_sop, Dk, rhs, xk0, tol, maxiter, give_up, check_every)
            finite = np.all(np.isfinite(xk), axis=(-3, -2, -1))
            ok &= finite
            redo = np.flatnonzero(~ok & ~bad_diag)
            if redo.size:
                # The single-precision recurrences can stall where float64 CG converges (spurious small Ritz
                # values make the iteration give up). Those items run again in float64, from their last iterate
                # where it is finite, for at most as many iterations as the mixed run spent (at least
                # 10 check_every): where the operator itself is too ill-conditioned, the float64 run gives up at
                # its first prediction (after 5 check_every iterations) and the caller solves directly.
                start = np.where(finite[redo, None, None, None], xk[redo], xk0[redo])
                cap = np.minimum(maxiter, np.maximum(stats["iterations"][redo], 10 * check_every))
                x2, ok2, st2 = _pcg(
                    lambda s: ops.make_sop(redo[s]), Dk[redo], rhs[redo], start, tol, cap, give_up, check_every
                )
                xk[redo], ok[redo] = x2, ok2
                stats["iterations"][redo] += st2["iterations"]
                stats["err_est"][redo] = st2["err_est"]
                stats["cond_est"][redo] = st2["cond_est"]
        else:
            xk, ok, stats = _pcg(ops.make_sop, Dk, rhs, xk0, tol, maxiter, give_up, check_every)
        x = np.empty_like(g)
        x[:, 1::2] = xk
        x[:, 0::2] = (gr + ops.B(xk)) / Dr
    ok &= ~bad_diag
    b = Ub @ x @ H(Ua)
    return b, ok, stats
