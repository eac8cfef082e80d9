"""Free energy F_beta = E - S_N / beta and its g^N-gradient flow on singular values (CKM; claims CKM-*).

Geometry. For X = U diag(sigma) V^* and Z = U diag(zeta) V^*, A_{N,X}(Z) = U diag(N sigma^{2-2/N} zeta) V^*,
so the chamber of singular values carries the metric induced by g^N (MY-metric, LM-Rem5)

    g = sum_i dsigma_i^2 / (N sigma_i^{2-2/N}),

which is flat: tau_i = sqrt(N) sigma_i^{1/N} are Euclidean coordinates. The g^N-gradient flow of a spectral
function F(sigma) is therefore (CKM-flow)

    sigma_i' = -N sigma_i^{2-2/N} dF/dsigma_i,   F = E - S_N / beta,

and U, V stay fixed along the matrix flow X' = -A_{N,X}(grad_X F), grad_X F = U diag(dF/dsigma) V^*.

Energies. ``energy`` is either a number p > 0 (Schatten energy E = (1/p) sum sigma_i^p, dE/dsigma = sigma^{p-1})
or a callable ``dE(sigma) -> dE/dsigma`` mapping (..., d) to (..., d) (the gradient of a symmetric function).

Equilibrium (CKM-Thm1.2): sigma_i = sigma_star for all i with sigma_star f'(sigma_star) = c, where
c = (d-1)(N-1)/(2 N beta) (real; O_d orbits) and c = d(N-1)/(N beta) (complex; U_d orbits, derived here).
Normalizations: E as above and S_N of :func:`dln.entropy` (natural log, volume of the orbit in the Euclidean
metric Re Tr(A^* B) on the layers). The additive constant in S_N plays no role. Scaling S_N by a factor
lambda multiplies c by lambda; the statements (unique equal-sigma equilibrium, 1-D reduction on the
diagonal, concavity) do not depend on it, the numbers (sigma_star, rates) do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._entropy import _check_field, _check_N, _check_sigma, _mult, entropy, entropy_gradient
from ._errors import (
    DLNError,
    as_callable,
    as_choice,
    as_int,
    as_real,
    as_square,
    as_times,
    call_checked,
    check_result,
    finite_result,
)

__all__ = [
    "entropic_constant",
    "chamber_metric",
    "free_energy",
    "free_energy_gradient",
    "free_energy_field",
    "free_energy_flow",
    "free_energy_jacobian",
    "equilibrium",
    "relaxation_rates",
    "equal_sv_solution",
    "infinite_depth_limits",
    "spectral_gradient",
    "matrix_free_energy_field",
    "matrix_free_energy_flow",
]

Energy = float | Callable[[np.ndarray], np.ndarray]


def _check_beta(beta) -> float:
    try:
        return as_real(beta, "beta", low=0.0, low_open=True)
    except DLNError:
        raise DLNError(f"beta: expected a positive inverse temperature, got {beta!r}") from None


def _check_energy(energy):
    if callable(energy):
        return energy
    try:
        p = float(energy)
    except (TypeError, ValueError) as exc:
        raise DLNError(f"energy: expected a Schatten exponent p > 0 or a callable dE(sigma), got {energy!r}") from exc
    if not (np.isfinite(p) and p > 0):
        raise DLNError(f"energy: the Schatten exponent p must be positive, got {energy!r}")
    return p


def _dE(energy, s: np.ndarray) -> np.ndarray:
    if callable(energy):
        g = call_checked(energy, "energy", s, shape=s.shape)
        if g.dtype.kind == "c":
            raise DLNError("energy: dE(sigma) must return real values, got complex")
        return g
    return s ** (energy - 1.0)


@finite_result("d", "N", "beta")
def entropic_constant(d: int, N: int, beta: float, field: str = "real") -> float:
    """c = sigma dS_N/dsigma_i / beta at equal singular values (CKM-Thm1.2).

    c = (d-1)(N-1)/(2 N beta) (real) and c = d(N-1)/(N beta) (complex).
    """
    field = _check_field(field)
    d = as_int(d, "d", low=1, high=10**6)
    N = _check_N(N)
    beta = _check_beta(beta)
    if field == "real":
        return (d - 1) * (N - 1) / (2 * N * beta)
    return d * (N - 1) / (N * beta)


def chamber_metric(sigma: ArrayLike, N: int) -> np.ndarray:
    """The diagonal of the inverse chamber metric, N sigma^{2-2/N}, shape (..., d).

    g^N(U diag(a) V^*, U diag(b) V^*) = sum_i a_i b_i / (N sigma_i^{2-2/N}); the g^N-gradient of a
    spectral function F on the chamber is N sigma^{2-2/N} dF/dsigma.
    """
    N = _check_N(N)
    s = _check_sigma(sigma)
    with np.errstate(over="ignore"):
        return check_result(N * s ** (2.0 - 2.0 / N), "sigma", s)


@finite_result("sigma", "N", "beta", "p")
def free_energy(
    sigma: ArrayLike, N: int, beta: float, p: float, field: str = "real", *, constant: bool = True
) -> np.ndarray:
    """F_beta = (1/p) sum sigma_i^p - S_N / beta for the Schatten-p energy, shape (...)."""
    s = _check_sigma(sigma)
    p = _check_energy(p)
    if callable(p):
        raise DLNError("p: free_energy needs a Schatten exponent (the value of a callable energy is unknown)")
    return np.sum(s**p, axis=-1) / p - entropy(s, N, field, constant=constant) / _check_beta(beta)


@finite_result("sigma", "N", "beta", "energy")
def free_energy_gradient(sigma: ArrayLike, N: int, beta: float, energy: Energy, field: str = "real") -> np.ndarray:
    """Euclidean gradient dF/dsigma = dE/dsigma - (1/beta) dS_N/dsigma, shape (..., d)."""
    s = _check_sigma(sigma)
    energy = _check_energy(energy)
    return _dE(energy, s) - entropy_gradient(s, N, field) / _check_beta(beta)


@finite_result("sigma", "N", "beta", "energy")
def free_energy_field(sigma: ArrayLike, N: int, beta: float, energy: Energy, field: str = "real") -> np.ndarray:
    """Right-hand side of the CKM-flow, sigma' = -N sigma^{2-2/N} (dE/dsigma - dS_N/dsigma / beta), shape (..., d)."""
    s = _check_sigma(sigma)
    return -chamber_metric(s, N) * free_energy_gradient(s, N, beta, energy, field)


@finite_result("N", "beta", "energy", "t")
def free_energy_flow(
    sigma0: ArrayLike,
    t: ArrayLike,
    N: int,
    beta: float,
    energy: Energy,
    field: str = "real",
    *,
    rtol: float = 1e-11,
    atol: float = 1e-13,
    method: str = "LSODA",
) -> np.ndarray:
    """Integrate the CKM-flow on singular values.

    Parameters
    ----------
    sigma0 : array_like, shape (..., d), positive
    t : array_like, shape (T,), increasing, t[0] is the initial time
    N, beta, energy, field : see :func:`free_energy_field`
    rtol, atol, method : passed to :func:`scipy.integrate.solve_ivp` (all starts in one system)

    Returns
    -------
    ndarray, shape (T, ..., d)
    """
    from scipy.integrate import solve_ivp

    s0 = _check_sigma(sigma0, "sigma0")
    N = _check_N(N)
    beta = _check_beta(beta)
    energy = _check_energy(energy)
    _check_field(field)
    rtol = as_real(rtol, "rtol", low=0.0, low_open=True)
    atol = as_real(atol, "atol", low=0.0)
    method = as_choice(method, "method", ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"))
    t = as_times(t, "t", nonnegative=False, increasing=False)
    if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0):
        raise DLNError(f"t: expected an increasing 1-D array of times, got shape {t.shape}")
    try:
        with np.errstate(all="ignore"):
            f0 = free_energy_field(s0, N, beta, energy, field)
    except DLNError as exc:
        raise type(exc)(f"sigma0, N, beta, energy: the field at sigma0 cannot be evaluated ({exc})") from None
    if not np.all(np.isfinite(f0)):
        raise DLNError(
            f"N, beta, energy: the free-energy field at sigma0 is not finite (beta = {beta!r}, energy = {energy!r}): "
            "these parameters are out of the floating-point range"
        )
    shape = s0.shape

    def rhs(_t, y):
        s = np.maximum(y.reshape(shape), 1e-300)
        return free_energy_field(s, N, beta, energy, field).ravel()

    if t.size == 1:
        return s0[None].copy()
    sol = solve_ivp(rhs, (t[0], t[-1]), s0.ravel(), t_eval=t, method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise DLNError(f"sigma0: the free-energy flow integration failed ({sol.message})")
    return sol.y.T.reshape((t.size,) + shape)


@finite_result("sigma", "N", "beta", "energy", "h")
def free_energy_jacobian(
    sigma: ArrayLike, N: int, beta: float, energy: Energy, field: str = "real", h: float = 1e-5
) -> np.ndarray:
    """Central finite-difference Jacobian of the CKM-flow field at sigma, shape (..., d, d)."""
    s = _check_sigma(sigma)
    h = as_real(h, "h", low=0.0, low_open=True, high=0.5)
    d = s.shape[-1]
    cols = []
    for i in range(d):
        e = np.zeros(d)
        e[i] = h * 1.0
        step = e * s[..., i : i + 1]
        fp = free_energy_field(s + step, N, beta, energy, field)
        fm = free_energy_field(s - step, N, beta, energy, field)
        cols.append((fp - fm) / (2 * step[..., i : i + 1]))
    return np.stack(cols, axis=-1)


@finite_result("d", "N", "beta", "energy")
def equilibrium(d: int, N: int, beta: float, energy: Energy, field: str = "real") -> float:
    """sigma_star of CKM-Thm1.2: the unique equilibrium is sigma_i = sigma_star, sigma_star f'(sigma_star) = c.

    For the Schatten energy sigma_star = c^{1/p}; for a callable energy the scalar equation
    sigma dE(sigma 1)_0 = c is solved by Brent's method (sigma dE must increase through c).
    """
    c = entropic_constant(d, N, beta, field)
    energy = _check_energy(energy)
    if not callable(energy):
        return c ** (1.0 / energy)
    from scipy.optimize import brentq

    def h(s):
        return float(s * _dE(energy, np.full(d, s))[0] - c)

    lo, hi = 1.0, 1.0
    for _ in range(200):
        if h(lo) < 0:
            break
        lo /= 2
    for _ in range(200):
        if h(hi) > 0:
            break
        hi *= 2
    if not (h(lo) < 0 < h(hi)):
        raise DLNError("energy: could not bracket sigma_star with sigma f'(sigma) = c")
    return brentq(h, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


@finite_result("d", "N", "beta", "energy")
def relaxation_rates(d: int, N: int, beta: float, energy: Energy, field: str = "real") -> tuple[float, float]:
    """Relaxation rates at sigma_star (CKM-Thm1.3): eigenvalues of -J, J the Jacobian of the CKM-flow.

    With s = sigma_star, K = N s^{2-2/N}, Hess E(s 1) = a I + b 1 1^T and h0 = m (N^2-1)/(6 N^2)
    (m = 1 real, 2 complex; the Hessian of S_N at s 1 is [h0 (d I - 1 1^T) - c beta I] / s^2):

        r_1    = K (a + d b + c / s^2)                       (uniform mode, multiplicity 1),
        r_perp = K (a + c / s^2 - h0 d / (beta s^2))          (relative modes, multiplicity d - 1).

    Schatten p (a = (p-1) s^{p-2}, b = 0, s^p = c): r_1 = p N c s^{-2/N} and
    r_perp = N s^{-2/N} (p c - h0 d / beta), which for the real field equals
    N s^{-2/N} (N-1)/beta [(p-1)(d-1)/(2N) + ((d-1)(2N-1) - (N+1))/(6N^2)].
    For a callable energy a and b come from a central finite difference of dE at s 1.

    Returns
    -------
    (r_1, r_perp) : floats
    """
    energy = _check_energy(energy)
    N = _check_N(N)
    beta = _check_beta(beta)
    c = entropic_constant(d, N, beta, field)
    s = equilibrium(d, N, beta, energy, field)
    if callable(energy):
        h = 1e-5 * s
        e0 = np.zeros(d)
        e0[0] = h
        col = (_dE(energy, s + e0) - _dE(energy, s - e0)) / (2 * h)
        b = col[1] if d > 1 else 0.0
        a = col[0] - b
    else:
        a, b = (energy - 1.0) * s ** (energy - 2.0), 0.0
    K = N * s ** (2.0 - 2.0 / N)
    h0 = _mult(field) * (N**2 - 1) / (6.0 * N**2)
    r1 = K * (a + d * b + c / s**2)
    rp = K * (a + c / s**2 - h0 * d / (beta * s**2))
    return float(r1), float(rp)


@finite_result("sigma0", "d", "N", "beta", "p")
def equal_sv_solution(
    t: ArrayLike, sigma0: float, d: int, N: int, beta: float, p: float, field: str = "real"
) -> np.ndarray:
    """Exact solution of the CKM-flow on the equal-singular-value set D (CKM-Thm1.7), Schatten-p energy.

    On D, v = sigma^{2/N} solves v' = -2 (v^q - c) with q = pN/2 and c = :func:`entropic_constant`.
    For q = 1 (p = 2/N): v(t) = c + (v0 - c) e^{-2t}. Otherwise the separable equation is solved as
    t = (1/(2a)) log((v0 - v*)/(v - v*)) + (1/2) int_v^{v0} [1/(u^q - c) - 1/(a (u - v*))] du,
    a = q v*^{q-1}, v* = c^{1/q}, with the smooth remainder integrated by adaptive quadrature and the
    relation inverted by Brent's method (accuracy ~1e-13).

    Parameters
    ----------
    t : array_like, shape (T,), times >= 0 (from sigma0 at t = 0)
    sigma0 : float > 0

    Returns
    -------
    ndarray, shape (T,): sigma(t) (every singular value).
    """
    import warnings

    from scipy.integrate import IntegrationWarning, quad
    from scipy.optimize import brentq

    t = as_times(t, "t", increasing=False)
    N = _check_N(N)
    if callable(p):
        raise DLNError("p: equal_sv_solution needs a Schatten exponent")
    p = as_real(p, "p", low=0.0, low_open=True)
    sigma0 = as_real(sigma0, "sigma0", low=0.0, low_open=True)
    c = entropic_constant(d, N, beta, field)
    q = p * N / 2.0
    v0 = sigma0 ** (2.0 / N)
    vs = c ** (1.0 / q)
    if abs(q - 1.0) < 1e-14:
        v = c + (v0 - c) * np.exp(-2.0 * t)
        return v ** (N / 2.0)
    if v0 == vs:
        return np.full(t.shape, sigma0)
    a = q * vs ** (q - 1.0)

    def r(u):
        du = u - vs
        if abs(du) < 1e-7 * vs:  # Taylor: 1/(u^q - c) - 1/(a du) -> -(q-1)/(2 vs a) + O(du)
            return -(q - 1.0) / (2.0 * vs * a) + (q - 1.0) * (q + 1.0) * du / (12.0 * vs**2 * a)
        return 1.0 / (u**q - c) - 1.0 / (a * du)

    def R(v):
        with warnings.catch_warnings():  # round-off warnings at the 1e-14 level are expected and harmless
            warnings.simplefilter("ignore", IntegrationWarning)
            return quad(r, v, v0, epsabs=1e-14, epsrel=1e-13, limit=200)[0]

    D0 = v0 - vs

    def F(y, tt):  # y = log((v - vs)/(v0 - vs)) <= 0; F increasing in y
        v = vs + D0 * math.exp(y)
        return y + 2.0 * a * tt - a * R(v)

    out = np.empty(t.shape)
    for idx, tt in np.ndenumerate(t):
        if tt == 0:
            out[idx] = v0
            continue
        hi = 0.0
        lo = -2.0 * a * tt - 1.0
        while F(lo, tt) > 0:
            lo = 2 * lo - 1.0
        y = brentq(F, lo, hi, args=(tt,), xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
        out[idx] = vs + D0 * math.exp(y)
    return out ** (N / 2.0)


@finite_result("d", "p", "beta")
def infinite_depth_limits(d: int, p: float, beta: float, field: str = "real") -> dict:
    """N -> infinity limits (CKM-Rmk1.4) for the Schatten-p energy.

    Returns a dict with
    - ``c``: lim c = (d-1)/(2 beta) (real), d/beta (complex), so sigma_star^p -> c;
    - ``sigma_star``: c^{1/p};
    - ``r1_over_N``: lim r_1 / N = p c;
    - ``rperp_over_N``: lim r_perp / N = p c - m d / (6 beta) (m = 1 real, 2 complex).
    Rates grow like N, so time should be rescaled by N.
    """
    field = _check_field(field)
    d = as_int(d, "d", low=1, high=10**6)
    beta = _check_beta(beta)
    p = _check_energy(p)
    if callable(p):
        raise DLNError("p: expected a Schatten exponent p > 0, got a callable")
    c = (d - 1) / (2 * beta) if field == "real" else d / beta
    return {
        "c": c,
        "sigma_star": c ** (1.0 / p),
        "r1_over_N": p * c,
        "rperp_over_N": p * c - _mult(field) * d / (6 * beta),
    }


# ----------------------------------------------------------------------------------------------
# matrix level


def spectral_gradient(X: ArrayLike, dfdsigma: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Euclidean gradient (inner product Re Tr(A^* B)) of a spectral function: U diag(df/dsigma) V^*.

    Parameters
    ----------
    X : array_like, shape (..., d, d), full rank with distinct singular values where f is not smooth
    dfdsigma : callable (..., d) -> (..., d)

    Returns
    -------
    ndarray, shape (..., d, d)
    """
    X = as_square(X, "X")
    dfdsigma = as_callable(dfdsigma, "dfdsigma")
    U, s, Vh = np.linalg.svd(X)
    g = call_checked(dfdsigma, "dfdsigma", s, shape=s.shape)
    return check_result((U * g[..., None, :]) @ Vh, "X", X)


def matrix_free_energy_field(X: ArrayLike, N: int, beta: float, energy: Energy, field: str | None = None) -> np.ndarray:
    """X' = -A_{N,X}(grad_X F_beta(X)), the g^N-gradient flow of F_beta on M_d, shape (..., d, d).

    ``field`` defaults to the dtype of X (complex X: U_d orbits in S_N).
    """
    from ._metric import riemannian_gradient

    X = as_square(X, "X")
    if field is None:
        field = "complex" if np.iscomplexobj(X) else "real"
    energy = _check_energy(energy)
    U, s, Vh = np.linalg.svd(X)
    try:
        g = free_energy_gradient(s, N, beta, energy, field)
    except DLNError as exc:
        raise type(exc)(str(exc).replace("sigma", "X (its singular values)", 1)) from None
    return check_result(-riemannian_gradient(X, (U * g[..., None, :]) @ Vh, N), "X", X)


@finite_result("N", "beta", "energy", "t")
def matrix_free_energy_flow(
    X0: ArrayLike,
    t: ArrayLike,
    N: int,
    beta: float,
    energy: Energy,
    field: str | None = None,
    *,
    rtol: float = 1e-11,
    atol: float = 1e-13,
    max_evaluations: int = 20_000,
) -> np.ndarray:
    """Integrate X' = -A_{N,X}(grad_X F_beta) with scipy's DOP853 (CKM, the flow of Fig. 1 on matrices).

    Parameters
    ----------
    X0 : array_like, shape (d, d), full rank
    t : array_like, shape (n_t,), increasing
    N, beta, energy, field : as in :func:`matrix_free_energy_field`
    rtol, atol : float
        Tolerances of the integrator.
    max_evaluations : int
        Budget of field evaluations; a flow that needs more (a stiff or diverging field) raises
        :class:`DLNError` instead of running on.

    Returns
    -------
    ndarray, shape (n_t, d, d)
    """
    from scipy.integrate import solve_ivp

    X0 = as_square(X0, "X0")
    t = as_times(t, "t", nonnegative=False, increasing=False)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise DLNError(f"t: expected an increasing 1-D array of >= 2 times, got shape {t.shape}")
    rtol = as_real(rtol, "rtol", low=0.0, low_open=True)
    atol = as_real(atol, "atol", low=0.0)
    max_evaluations = as_int(max_evaluations, "max_evaluations", low=1)
    try:
        with np.errstate(all="ignore"):
            f0 = matrix_free_energy_field(X0, N, beta, energy, field)
    except DLNError as exc:
        raise DLNError(f"N, beta, energy: the field at X0 cannot be evaluated ({exc})") from exc
    if not np.all(np.isfinite(f0)):
        raise DLNError(
            f"N, beta, energy: the matrix free-energy field at X0 is not finite (beta = {beta!r}, "
            f"energy = {energy!r}): these parameters are out of the floating-point range"
        )
    cplx = np.iscomplexobj(X0)
    shape = X0.shape
    calls = [0]

    def pack(Z):
        return np.concatenate([Z.real.ravel(), Z.imag.ravel()]) if cplx else Z.ravel()

    def unpack(y):
        if cplx:
            n = y.size // 2
            return (y[:n] + 1j * y[n:]).reshape(shape)
        return y.reshape(shape)

    class _Budget(Exception):
        pass

    def rhs(_t, y):
        calls[0] += 1
        if calls[0] > max_evaluations:
            raise _Budget(_t)
        return pack(matrix_free_energy_field(unpack(y), N, beta, energy, field))

    try:
        sol = solve_ivp(rhs, (t[0], t[-1]), pack(X0), t_eval=t, method="DOP853", rtol=rtol, atol=atol)
    except _Budget as exc:
        raise DLNError(
            f"max_evaluations: the matrix free-energy flow used {max_evaluations} field evaluations and reached "
            f"only t = {float(exc.args[0]):.6g} of {t[-1]:g} (a stiff or diverging flow)"
        ) from None
    if not sol.success:
        raise DLNError(f"X0: the matrix free-energy flow integration failed ({sol.message})")
    return np.stack([unpack(y) for y in sol.y.T])
