"""The Gaussian prior conditioned on the end-to-end matrix: the posterior on a fiber (LM section 4.3, eq. 4.5).

Target: the measure exp(-beta kappa |W|^2 / 2) H^n(dW) on the fiber F_X, n = (N-1) d^2 (real) or
2 (N-1) d^2 (complex), with the prior density of LM eq. (4.3) corrected by the factor 1/2 (claim LM-4.2).

Coordinates: W = A.C (LM Lemma 1), A in GL(d)^{N-1}, C the centre of F_X. Moving A to exp(e a) A moves W
with velocity w_a(W), so in these coordinates the Hausdorff measure is sqrt(det_R(w^T w)) times the Haar
measure of GL(d)^{N-1} (unimodular: left = right Haar). With the Gram operator H = w^* w (LM Def. 8),
sqrt(det_R) = det(H)^{m/2}, m = 1 (real) or 2 (complex, H complex Hermitian). So the density with respect
to Haar measure is

    pi(A) = exp(-beta kappa |A.C|^2 / 2) det H(A.C)^{m/2}.

Sampler: random-walk Metropolis on the group, A' = cay(xi) A with the Cayley map
cay(xi) = (I - xi/2)^{-1} (I + xi/2) and xi = s_h Herm(Z) + s_k Skew(Z) symmetric in law; cay(-xi) =
cay(xi)^{-1}, so the proposal is symmetric with respect to Haar measure and the acceptance ratio is
pi(A') / pi(A). Many chains advance together in one array. Step sizes adapt during burn-in only.

d = 1, N = 2 reference (claim LM-4.3): t = sqrt(x) e^u gives the posterior
exp(-beta kappa x cosh 2u) (2 x cosh 2u)^{m/2} du with G = 2 x sinh 2u, so E[G^2] -> 4x/(beta kappa).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._action import center
from ._errors import (
    DLNError,
    as_callable,
    as_int,
    as_layers,
    as_real,
    as_rng,
    as_square,
    call_checked,
    check_finite,
    finite_result,
)
from ._linalg import H, sqnorm
from ._product import _moments
from ._random import random_matrix
from ._tangent import gram_matrix

__all__ = [
    "fiber_log_density",
    "sample_fiber_posterior",
    "posterior_quadrature_d1",
    "integrated_autocorr_time",
    "effective_sample_size",
    "posterior_laplace_G2",
]


#: Largest step size of the Cayley random walk (|xi| ~ 1 keeps cay(xi) far from its saturation at -I).
MAX_STEP = 1.0


def _fast_act(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(A.C)_k = A_k C_k A_{k-1}^{-1} without validation (inner loop of the sampler)."""
    N = C.shape[-3]
    Ainv = np.linalg.inv(A)
    shape = np.broadcast_shapes(A.shape[:-3], C.shape[:-3]) + C.shape[-3:]
    W = np.empty(shape, dtype=np.result_type(A.dtype, C.dtype))
    W[..., 0, :, :] = A[..., 0, :, :] @ C[..., 0, :, :]
    if N > 2:
        W[..., 1 : N - 1, :, :] = A[..., 1:, :, :] @ C[..., 1 : N - 1, :, :] @ Ainv[..., :-1, :, :]
    W[..., N - 1, :, :] = C[..., N - 1, :, :] @ Ainv[..., N - 2, :, :]
    return W


@finite_result("W", "beta", "kappa")
def fiber_log_density(W: np.ndarray, beta: float, kappa: float) -> np.ndarray:
    """log pi = -beta kappa |W|^2 / 2 + (m/2) log det H(W), the posterior density w.r.t. Haar measure.

    Parameters
    ----------
    W : ndarray, shape (..., N, d, d), a point A.C of the fiber
    beta, kappa : float > 0

    Returns
    -------
    ndarray, shape (...)
    """
    W = as_layers(W, "W")
    beta = as_real(beta, "beta", low=0.0, low_open=True)
    kappa = as_real(kappa, "kappa", low=0.0, low_open=True)
    m = 2.0 if np.iscomplexobj(W) else 1.0
    sign, logdet = np.linalg.slogdet(gram_matrix(W))
    if np.any(sign == 0):
        raise DLNError("W: the Gram operator H(W) is singular (W is not on the fiber of a full-rank X)")
    return -0.5 * beta * kappa * sqnorm(W, 3) + 0.5 * m * logdet


def _cayley(xi: np.ndarray) -> np.ndarray:
    eye = np.eye(xi.shape[-1])
    return np.linalg.solve(eye - 0.5 * xi, eye + 0.5 * xi)


@finite_result("N", "beta", "kappa", "n_chains", "n_steps")
def sample_fiber_posterior(
    X,
    N: int,
    beta: float,
    kappa: float,
    rng: np.random.Generator,
    *,
    n_chains: int = 100,
    n_steps: int = 2000,
    n_burn: int | None = None,
    observe: Callable[[np.ndarray], np.ndarray] | None = None,
    target_accept: float = 0.3,
    progress: Callable[[float], object] | None = None,
) -> dict:
    """Random-walk Metropolis for the posterior exp(-beta kappa |W|^2/2) H^n(dW) on the fiber F_X.

    Parameters
    ----------
    X : array_like, shape (d, d), full rank (real or complex)
    N : int >= 2
    beta, kappa : float > 0
    rng : numpy.random.Generator
    n_chains : int
        Chains advanced together (one array).
    n_steps : int
        Recorded steps per chain after burn-in.
    n_burn : int, optional
        Burn-in steps (default ``n_steps // 2``), during which the per-chain step sizes adapt
        towards the acceptance rate ``target_accept``; they are frozen afterwards.
    observe : callable, optional
        Maps W of shape (n_chains, N, d, d) to an array of shape (n_chains, ...); default |G|^2.
    progress : callable, optional
        Called as ``progress(fraction)`` with the fraction of iterations done, every 1% of them.

    Returns
    -------
    dict with ``samples`` (n_steps, n_chains, ...) of the observable, ``accept`` (acceptance rate after
    burn-in), ``W`` (final states, (n_chains, N, d, d)), ``step_herm`` and ``step_skew`` (n_chains,).
    """
    X = as_square(X, "X")
    if X.ndim != 2:
        raise DLNError(f"X: expected one matrix of shape (d, d), got {X.shape}")
    N = as_int(N, "N", low=2, high=4096)
    beta = as_real(beta, "beta", low=0.0, low_open=True)
    kappa = as_real(kappa, "kappa", low=0.0, low_open=True)
    if not np.isfinite(beta * kappa):
        raise DLNError(f"beta, kappa: beta * kappa overflows (beta = {beta:g}, kappa = {kappa:g})")
    rng = as_rng(rng)
    n_chains = as_int(n_chains, "n_chains", low=1, high=10**8)
    n_steps = as_int(n_steps, "n_steps", low=1, high=10**10)
    n_burn = None if n_burn is None else as_int(n_burn, "n_burn", low=0, high=10**10)
    observe = as_callable(observe, "observe", optional=True)
    progress = as_callable(progress, "progress", optional=True)
    target_accept = as_real(target_accept, "target_accept", low=0.0, low_open=True, high=1.0)
    if n_chains < 1 or n_steps < 1:
        raise DLNError(f"n_chains, n_steps: expected positive integers, got {n_chains}, {n_steps}")
    n_burn = n_steps // 2 if n_burn is None else int(n_burn)
    C = center(X, N)
    d = X.shape[-1]
    field = "complex" if np.iscomplexobj(X) else "real"

    def obs(W):
        return sqnorm(_moments(W), 3) if observe is None else call_checked(observe, "observe", W)

    A = np.broadcast_to(np.eye(d, dtype=C.dtype), (n_chains, N - 1, d, d)).copy()
    W = _fast_act(A, C)
    logp = fiber_log_density(W, beta, kappa)
    lam2 = float(np.mean(np.abs(np.diagonal(C[1 if N > 2 else 0] @ H(C[1 if N > 2 else 0])))))
    s_h = np.full(n_chains, 0.8 / np.sqrt(1.0 + beta * kappa * lam2 * N))
    s_k = np.full(n_chains, 0.8 / np.sqrt(N))
    samples = []
    n_acc = np.zeros(n_chains)
    n_total = n_burn + n_steps
    report_every = max(1, n_total // 100)
    for it in range(n_total):
        if progress is not None and it % report_every == 0:
            progress(it / n_total)
        Z = random_matrix(rng, (n_chains, N - 1, d, d), field)
        herm = 0.5 * (Z + H(Z))
        skew = 0.5 * (Z - H(Z))
        xi = s_h[:, None, None, None] * herm + s_k[:, None, None, None] * skew
        A_new = _cayley(xi) @ A
        W_new = _fast_act(A_new, C)
        try:
            logp_new = fiber_log_density(W_new, beta, kappa)
        except DLNError as exc:
            raise DLNError(
                f"beta, kappa: the chains left the floating-point range at step {it} (beta kappa = "
                f"{beta * kappa:.3g}: a posterior this flat has no scale the walk can resolve; {exc})"
            ) from exc
        accept = np.log(rng.random(n_chains)) < logp_new - logp
        A[accept] = A_new[accept]
        W[accept] = W_new[accept]
        logp[accept] = logp_new[accept]
        if it < n_burn:
            # Robbins-Monro adaptation of the log step sizes during burn-in only.
            gain = 1.0 / np.sqrt(1.0 + it)
            f = np.exp(gain * (accept.astype(float) - target_accept))
            # Capped: the Cayley map saturates (cay(xi) -> -I) for large xi, where the acceptance is
            # spuriously high.
            s_h = np.minimum(s_h * f, MAX_STEP)
            s_k = np.minimum(s_k * f, MAX_STEP)
        else:
            n_acc += accept
            samples.append(np.asarray(obs(W)))
    return {
        "samples": np.stack(samples),
        "accept": float(n_acc.mean() / n_steps),
        "W": W,
        "step_herm": s_h,
        "step_skew": s_k,
    }


@finite_result("y", "c")
def integrated_autocorr_time(y: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time of chains ``y`` of shape (n_steps, n_chains).

    The autocovariance is averaged over chains (FFT, each chain centred at the grand mean) and summed
    with Sokal's automatic window: the smallest M with M >= c tau(M).
    """
    y = _chains(y)
    c = as_real(c, "c", low=0.0, low_open=True)
    n = y.shape[0]
    z = y - y.mean()
    f = np.fft.rfft(z, n=2 * n, axis=0)
    acov = np.fft.irfft(f * np.conj(f), axis=0)[:n].mean(axis=1) / n
    if acov[0] <= 0:
        return 1.0
    rho = acov / acov[0]
    taus = 2.0 * np.cumsum(rho) - 1.0
    window = np.arange(n) >= c * taus
    M = int(np.argmax(window)) if np.any(window) else n - 1
    return float(max(taus[M], 1.0))


def _chains(y) -> np.ndarray:
    """Chains of a scalar observable: a finite real array of shape (n_steps,) or (n_steps, n_chains)."""
    try:
        if np.asarray(y).dtype.kind not in "biuf":
            raise TypeError(f"dtype {np.asarray(y).dtype}")
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DLNError(f"y: expected a real array of shape (n_steps, n_chains), got {type(y).__name__}") from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise DLNError(f"y: expected shape (n_steps >= 2,) or (n_steps >= 2, n_chains), got {np.shape(y)}")
    return check_finite(arr, "y")


def effective_sample_size(y: np.ndarray) -> tuple[float, float, float]:
    """Mean, its standard error and the effective sample size of chains ``y`` of shape (n_steps, n_chains).

    ESS = n_steps n_chains / tau (:func:`integrated_autocorr_time`); SE = std / sqrt(ESS).
    """
    y = _chains(y)
    tau = integrated_autocorr_time(y)
    ess = y.size / tau
    return float(y.mean()), float(y.std() / np.sqrt(ess)), float(ess)


@finite_result("x", "beta", "kappa")
def posterior_quadrature_d1(x: float, beta: float, kappa: float, field: str = "real") -> dict:
    """Posterior moments of G for d = 1, N = 2 by quadrature (claim LM-4.3).

    With w_1 = sqrt(x) e^u, w_2 = sqrt(x) e^{-u} (x = |X| > 0): the density in u is
    exp(-beta kappa x cosh 2u) (2 x cosh 2u)^{m/2}, m = 1 (real) or 2 (complex), and G = 2 x sinh 2u.

    Returns
    -------
    dict with ``EG2`` (E[G^2]), ``EW2`` (E|W|^2) and ``ratio`` = beta kappa E[G^2] / x (-> 4 as beta -> inf).
    """
    from scipy.integrate import quad

    x = abs(as_real(x, "x"))
    if x <= 0:
        raise DLNError("x: the end-to-end scalar must be nonzero")
    beta = as_real(beta, "beta", low=0.0, low_open=True)
    kappa = as_real(kappa, "kappa", low=0.0, low_open=True)
    if not np.isfinite(beta * kappa * x):
        raise DLNError(f"beta, kappa, x: beta kappa x overflows ({beta:g} * {kappa:g} * {x:g})")
    if field not in ("real", "complex"):
        raise DLNError(f"field: expected 'real' or 'complex', got {field!r}")
    m = 1.0 if field == "real" else 2.0
    a = beta * kappa * x
    scale = 1.0 / np.sqrt(4.0 * a)  # Laplace width of u at large beta

    def w(u):
        return np.exp(-a * (np.cosh(2 * u) - 1.0)) * np.cosh(2 * u) ** (m / 2)

    U = min(40.0 * scale, 0.5 * np.arccosh(1.0 + 800.0 / a) + 1.0)
    opts = {"limit": 400, "epsabs": 0.0, "epsrel": 1e-12, "points": [0.0]}
    Z = quad(w, -U, U, **opts)[0]
    EG2 = quad(lambda u: w(u) * (2 * x * np.sinh(2 * u)) ** 2, -U, U, **opts)[0] / Z
    EW2 = quad(lambda u: w(u) * 2 * x * np.cosh(2 * u), -U, U, **opts)[0] / Z
    return {"EG2": EG2, "EW2": EW2, "ratio": beta * kappa * EG2 / x}


def _hermitian_basis(d: int, field: str) -> np.ndarray:
    """A real basis of the Hermitian (real: symmetric) d x d matrices, shape (n, d, d)."""
    basis = []
    for p in range(d):
        for q in range(p, d):
            E = np.zeros((d, d), dtype=complex if field == "complex" else float)
            E[p, q] = E[q, p] = 1.0
            basis.append(E)
            if field == "complex" and q > p:
                F = np.zeros((d, d), dtype=complex)
                F[p, q], F[q, p] = 1j, -1j
                basis.append(F)
    return np.stack(basis)


@finite_result("N")
def posterior_laplace_G2(X, N: int) -> float:
    """The large-beta constant c = lim beta kappa E|G|^2 of the fiber posterior (Laplace approximation).

    Near the minimizing orbit O_X the fiber is O_X times the slice h -> exp(h).C, h in herm(d)^{N-1}.
    With f(h) = |exp(h).C|^2 / 2, the posterior of h is asymptotically N(0, (beta kappa K)^{-1}),
    K_ij = <w_i C, w_j C> + <C, (w_i w_j + w_j w_i) C> / 2 (the Hessian of f), and G = L h + O(h^2) with
    L h = H_C(h) + H_C(h)^* (LM Lemma 4). Every point of O_X is unitarily equivalent to C, so
    beta kappa E|G|^2 -> c = tr(L K^{-1} L^T). For d = 1, N = 2, c = 4|x| (claim LM-4.3).

    Parameters
    ----------
    X : array_like, shape (d, d), full rank
    N : int >= 2
    """
    from ._tangent import gram_operator, orbit_tangent

    X = as_square(X, "X")
    if X.ndim != 2:
        raise DLNError(f"X: expected one matrix of shape (d, d), got {X.shape}")
    N = as_int(N, "N", low=2, high=4096)
    C = center(X, N)
    d = X.shape[-1]
    field = "complex" if np.iscomplexobj(X) else "real"
    hb = _hermitian_basis(d, field)
    basis = []
    for k in range(N - 1):
        for E in hb:
            a = np.zeros((N - 1, d, d), dtype=hb.dtype)
            a[k] = E
            basis.append(a)
    B = np.stack(basis)  # (n, N-1, d, d)
    Cb = np.broadcast_to(C, (B.shape[0],) + C.shape)
    wC = orbit_tangent(Cb, B)  # (n, N, d, d)
    n = B.shape[0]
    K = np.empty((n, n))
    for i in range(n):
        wiw = orbit_tangent(wC, np.broadcast_to(B[i], B.shape))  # w_i w_j C for all j
        K[i] = np.real(np.sum(np.conj(wC[i]) * wC, axis=(-3, -2, -1))) + np.real(
            np.sum(np.conj(C) * wiw, axis=(-3, -2, -1))
        )
    K = 0.5 * (K + K.T)  # (w_i w_j + w_j w_i) / 2 symmetrization
    Lh = gram_operator(Cb, B)
    Lh = Lh + H(Lh)
    Lm = Lh.reshape(n, -1)
    Lr = np.concatenate([Lm.real, Lm.imag], axis=1) if np.iscomplexobj(Lm) else Lm
    return float(np.trace(Lr.T @ np.linalg.solve(K, Lr)))
