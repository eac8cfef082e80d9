"""Boltzmann entropy S_N of the minimizing orbits of the DLN (Menon-Yu, Theorem 4; claims MY-Thm4, MY-complex).

The minimizing orbit O_X = phi^{-1}(X) cap M is the orbit of the compact group K^{N-1} (K = O_d over R,
K = U_d over C) through a balanced point Q.C. The action is free, so with the Euclidean metric
<A, B> = Re Tr(A^* B) on the layers

    vol(O_X) = c_d^{N-1} * sqrt(det Gram),     Gram_{ab} = <w_{e_a}, w_{e_b}>,

where (e_a) is an orthonormal basis of k^{N-1} (k = so(d) or u(d), inner product Re Tr(a^* b)), w_a is the
orbit tangent vector (LM eq. 2.3), and c_d = vol(K) in the bi-invariant metric Re Tr(a^* b). The Gram
determinant does not depend on the point of the orbit, and it is explicit (MY-Jacobi): in the basis
(E_ij - E_ji)/sqrt 2 (and i(E_ij + E_ji)/sqrt 2, i E_ii over C) the Gram matrix at C splits into
(N-1)x(N-1) Jacobi blocks with diagonal lam_i^2 + lam_j^2 and off-diagonal -lam_i lam_j (lam = sigma^{1/N}),
of determinant

    D_ij = (lam_i^{2N} - lam_j^{2N}) / (lam_i^2 - lam_j^2) = sum_{k=0}^{N-1} lam_i^{2k} lam_j^{2(N-1-k)}.

Hence (MY-Thm4, real; MY-complex)

    real:    S_N = (N-1) log c_d + 1/2 sum_{i<j} log D_ij
                 = (N-1) log c_d + 1/2 log( van(Sigma^2) / van(Sigma^{2/N}) ),
    complex: S_N = (N-1) log c_d +     sum_{i<j} log D_ij + 1/2 sum_i log(N sigma_i^{2(N-1)/N}).

Normalization (a choice; only an additive constant): c_d = vol(O_d) = 2 * 2^{d(d-1)/4} prod_{k=1}^{d-1} |S^k|
over R (the full orthogonal group, both components, Frobenius metric Tr(a^T b)), and
c_d = vol(U_d) = 2^{d(d-1)/2} prod_{k=1}^{d} |S^{2k-1}| over C (metric Re Tr(a^* b)). Pass
``constant=False`` to drop (N-1) log c_d, which gives the log-volume density 1/2 log det Gram. Gradients,
Hessians, flows, equilibria and rates do not depend on this constant.

Stable evaluation uses x = log sigma and delta = x_i - x_j (MY-log form):
1/2 log D_ij = (N-1)/(2N) (x_i + x_j) + 1/2 g_N(delta), g_N(delta) = log(sinh delta / sinh(delta/N)),
which is smooth and even with g_N(0) = log N, so equal singular values are regular points.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ._errors import (
    DLNError,
    NonFiniteError,
    ShapeError,
    as_bool,
    as_int,
    as_layers,
    as_rng,
    as_square,
    as_values,
    check_entries,
    check_result,
    common_batch,
)

__all__ = [
    "group_volume",
    "entropy",
    "entropy_gradient",
    "entropy_hessian",
    "entropy_infinite_depth",
    "entropy_log_depth_coefficient",
    "orbit_volume_gram",
    "orbit_gram_matrix",
    "jacobi_block",
]

_FIELDS = ("real", "complex")


def _check_field(field: str) -> str:
    if field not in _FIELDS:
        raise DLNError(f"field: expected 'real' or 'complex', got {field!r}")
    return field


def _check_N(N, minimum: int = 1) -> int:
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < minimum:
        raise DLNError(f"N: expected an integer number of layers >= {minimum}, got {N!r}")
    return int(N)


def _check_sigma(sigma: ArrayLike, name: str = "sigma") -> np.ndarray:
    s = np.asarray(sigma)
    if s.dtype.kind not in "biuf":
        raise DLNError(f"{name}: expected real singular values, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if s.ndim < 1 or s.shape[-1] < 1:
        raise ShapeError(f"{name}: expected shape (..., d) with d >= 1, got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise NonFiniteError(f"{name}: contains NaN or Inf entries")
    if np.any(s <= 0):
        raise DLNError(f"{name}: singular values must be positive (full-rank X), got min {float(np.min(s)):.3g}")
    return s


def _mult(field: str) -> int:
    """Number of real orbit directions per off-diagonal (i, j) sector: 1 (so(d)) or 2 (u(d))."""
    return 1 if field == "real" else 2


# ----------------------------------------------------------------------------------------------
# scalar special functions (vectorized, stable at 0 and for large arguments)


def _log_sinhc(u: np.ndarray) -> np.ndarray:
    """log(sinh(u)/u), even, 0 at u = 0, absolute accuracy ~ eps for all u."""
    a = np.abs(np.asarray(u, dtype=float))
    small = a < 20.0
    a_s = np.where(small, a, 1.0)
    a_s = np.where(a_s == 0, 1.0, a_s)
    val_small = np.where(a == 0, 0.0, np.log(np.sinh(a_s) / a_s))
    a_l = np.where(small, 20.0, a)
    val_large = a_l - math.log(2.0) - np.log(a_l) + np.log1p(-np.exp(-2.0 * a_l))
    return np.where(small, val_small, val_large)


def _langevin(u: np.ndarray) -> np.ndarray:
    """L(u) = coth(u) - 1/u (odd, smooth), series for |u| < 0.1."""
    u = np.asarray(u, dtype=float)
    small = np.abs(u) < 0.1
    us = np.where(small, u, 0.0)
    u2 = us * us
    series = us * (1 / 3 + u2 * (-1 / 45 + u2 * (2 / 945 + u2 * (-1 / 4725 + u2 * (2 / 93555)))))
    ul = np.where(small, 1.0, u)
    direct = 1.0 / np.tanh(ul) - 1.0 / ul
    return np.where(small, series, direct)


def _langevin_prime(u: np.ndarray) -> np.ndarray:
    """L'(u) = 1/u^2 - 1/sinh(u)^2 (even, smooth, L'(0) = 1/3), series for |u| < 0.2."""
    u = np.asarray(u, dtype=float)
    small = np.abs(u) < 0.2
    u2 = np.where(small, u * u, 0.0)
    series = 1 / 3 + u2 * (-1 / 15 + u2 * (2 / 189 + u2 * (-1 / 675 + u2 * (2 / 10395))))
    ul = np.where(small, 1.0, np.minimum(np.abs(u), 300.0))
    direct = 1.0 / ul**2 - 1.0 / np.sinh(ul) ** 2
    return np.where(small, series, direct)


def _g(delta: np.ndarray, N: int) -> np.ndarray:
    """g_N(delta) = log(sinh(delta)/sinh(delta/N)) = log N + log sinhc(delta) - log sinhc(delta/N)."""
    return math.log(N) + _log_sinhc(delta) - _log_sinhc(delta / N)


def _g1(delta: np.ndarray, N: int) -> np.ndarray:
    """g_N'(delta) = coth(delta) - coth(delta/N)/N = L(delta) - L(delta/N)/N."""
    return _langevin(delta) - _langevin(delta / N) / N


def _g2(delta: np.ndarray, N: int) -> np.ndarray:
    """g_N''(delta) = L'(delta) - L'(delta/N)/N^2; g_N''(0) = (N^2 - 1)/(3 N^2)."""
    return _langevin_prime(delta) - _langevin_prime(delta / N) / N**2


# ----------------------------------------------------------------------------------------------
# the group volume c_d


def group_volume(d: int, field: str = "real") -> float:
    """Volume c_d of O_d (real) or U_d (complex) in the bi-invariant metric Re Tr(a^* b).

    c_d = 2 * 2^{d(d-1)/4} prod_{k=1}^{d-1} |S^k| (O_d, both components) and
    c_d = 2^{d(d-1)/2} prod_{k=1}^{d} |S^{2k-1}| (U_d), with |S^k| = 2 pi^{(k+1)/2} / Gamma((k+1)/2).
    Values: 17.7715 (O_2), 446.647 (O_3), 24936.7 (O_4); 2 pi (U_1).

    Parameters
    ----------
    d : int >= 1
    field : {"real", "complex"}
    """
    field = _check_field(field)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise DLNError(f"d: expected an integer >= 1, got {d!r}")
    d = as_int(d, "d", high=10**5)
    return math.exp(_log_group_volume(d, field))


def _log_sphere(k: int) -> float:
    return math.log(2.0) + 0.5 * (k + 1) * math.log(math.pi) - math.lgamma(0.5 * (k + 1))


def _log_group_volume(d: int, field: str) -> float:
    if field == "real":
        return math.log(2.0) + d * (d - 1) / 4 * math.log(2.0) + sum(_log_sphere(k) for k in range(1, d))
    return d * (d - 1) / 2 * math.log(2.0) + sum(_log_sphere(2 * k - 1) for k in range(1, d + 1))


# ----------------------------------------------------------------------------------------------
# closed form, gradient and Hessian


def entropy(sigma: ArrayLike, N: int, field: str = "real", *, constant: bool = True) -> np.ndarray:
    """Boltzmann entropy S_N(X) = log vol(O_X) from the singular values (MY-Thm4, MY-complex).

    Parameters
    ----------
    sigma : array_like, shape (..., d)
        Positive singular values of X (any order; S_N is symmetric). Equal values are allowed.
    N : int >= 1
        Number of layers (N = 1 gives S = 0: the orbit is a point).
    field : {"real", "complex"}
        O_d^{N-1}-orbits (real) or U_d^{N-1}-orbits (complex).
    constant : bool
        Include (N-1) log c_d (:func:`group_volume`). ``False`` gives 1/2 log det Gram, the
        log-volume density that :func:`orbit_volume_gram` measures.

    Returns
    -------
    ndarray, shape (...)
        real:    (N-1) log c_d + 1/2 sum_{i<j} log D_ij,
        complex: (N-1) log c_d + sum_{i<j} log D_ij + 1/2 sum_i log(N sigma_i^{2(N-1)/N}),
        with D_ij = (sigma_i^2 - sigma_j^2)/(sigma_i^{2/N} - sigma_j^{2/N}).
    """
    field = _check_field(field)
    N = _check_N(N)
    s = _check_sigma(sigma)
    constant = as_bool(constant, "constant")
    d = s.shape[-1]
    x = np.log(s)
    iu, ju = np.triu_indices(d, 1)
    delta = x[..., iu] - x[..., ju]
    half_logD = (N - 1) / (2 * N) * (x[..., iu] + x[..., ju]) + 0.5 * _g(delta, N)
    m = _mult(field)
    S = m * np.sum(half_logD, axis=-1)
    if field == "complex":
        S = S + 0.5 * np.sum(math.log(N) + 2.0 * (N - 1) / N * x, axis=-1)
    if constant:
        S = S + (N - 1) * _log_group_volume(d, field)
    return check_result(S, "sigma", s)


def _dS_dx(x: np.ndarray, N: int, field: str) -> np.ndarray:
    d = x.shape[-1]
    delta = x[..., :, None] - x[..., None, :]
    m = _mult(field)
    pair = (N - 1) / (2 * N) + 0.5 * _g1(delta, N)
    off = ~np.eye(d, dtype=bool)
    out = m * np.sum(np.where(off, pair, 0.0), axis=-1)
    if field == "complex":
        out = out + (N - 1) / N
    return out


def _d2S_dx2(x: np.ndarray, N: int, field: str) -> np.ndarray:
    d = x.shape[-1]
    delta = x[..., :, None] - x[..., None, :]
    m = _mult(field)
    off = ~np.eye(d, dtype=bool)
    c = np.where(off, 0.5 * m * _g2(delta, N), 0.0)  # coupling of each pair (i, j)
    return np.eye(d) * np.sum(c, axis=-1)[..., None] - c


def entropy_gradient(sigma: ArrayLike, N: int, field: str = "real") -> np.ndarray:
    """Euclidean gradient dS_N/dsigma_i, shape (..., d).

    dS/dsigma_i = (1/sigma_i) [ m sum_{j != i} ((N-1)/(2N) + 1/2 g_N'(x_i - x_j)) + [complex] (N-1)/N ]
    with x = log sigma, g_N' (delta) = coth(delta) - coth(delta/N)/N, m = 1 (real) or 2 (complex).
    At equal singular values sigma: dS/dsigma_i = (d-1)(N-1)/(2 N sigma) (real), d(N-1)/(N sigma) (complex).
    """
    field = _check_field(field)
    N = _check_N(N)
    s = _check_sigma(sigma)
    return check_result(_dS_dx(np.log(s), N, field) / s, "sigma", s)


def entropy_hessian(sigma: ArrayLike, N: int, field: str = "real", coords: str = "sigma") -> np.ndarray:
    """Hessian of S_N on the chamber, shape (..., d, d).

    Parameters
    ----------
    sigma : array_like, shape (..., d)
    N : int >= 1
    field : {"real", "complex"}
    coords : {"sigma", "log", "tau"}
        "sigma": the Euclidean Hessian d^2 S / dsigma_i dsigma_j (CKM: concave in the chamber);
        "log": in x_i = log sigma_i;
        "tau": in tau_i = sqrt(N) sigma_i^{1/N}, the Euclidean coordinates of the flat chamber metric
        sum dsigma_i^2 / (N sigma_i^{2-2/N}) induced by g^N, so this is the Riemannian Hessian of S_N
        on the chamber (CKM: indefinite).
    """
    field = _check_field(field)
    N = _check_N(N)
    s = _check_sigma(sigma)
    x = np.log(s)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return check_result(_entropy_hessian(s, x, N, field, coords), "sigma", s)


def _entropy_hessian(s: np.ndarray, x: np.ndarray, N: int, field: str, coords: str) -> np.ndarray:
    Hx = _d2S_dx2(x, N, field)
    if coords == "log":
        return Hx
    g = _dS_dx(x, N, field)
    if coords == "sigma":
        # x = log sigma: d^2S/dsigma^2 = Hx / (s_i s_j) - diag(dS/dx / s^2)
        return Hx / (s[..., :, None] * s[..., None, :]) - np.eye(s.shape[-1]) * (g / s**2)[..., None, :]
    if coords == "tau":
        # x = N log(tau / sqrt N): dx/dtau = N/tau, d^2x/dtau^2 = -N/tau^2
        tau = math.sqrt(N) * s ** (1.0 / N)
        J = N / tau
        return Hx * J[..., :, None] * J[..., None, :] - np.eye(s.shape[-1]) * (g * N / tau**2)[..., None, :]
    raise DLNError(f"coords: expected 'sigma', 'log' or 'tau', got {coords!r}")


def entropy_infinite_depth(sigma: ArrayLike, field: str = "real") -> np.ndarray:
    """Infinite-depth limit of the log-volume density (CKM Rmk 1.4), shape (...).

    lim_{N -> inf} [ S_N - (N-1) log c_d - k_d log N ], with k_d = d(d-1)/4 (real), d^2/2 (complex), equals
        real:    1/2 sum_{i<j} log[ (sigma_i^2 - sigma_j^2) / (2 log(sigma_i/sigma_j)) ],
        complex:     sum_{i<j} log[ (sigma_i^2 - sigma_j^2) / (2 log(sigma_i/sigma_j)) ] + sum_i log sigma_i.
    The pair term is log(sigma_i sigma_j) + log(sinh(delta)/delta), delta = log(sigma_i/sigma_j) (regular at 0).
    See :func:`entropy_log_depth_coefficient` for k_d.
    """
    field = _check_field(field)
    s = _check_sigma(sigma)
    x = np.log(s)
    d = s.shape[-1]
    iu, ju = np.triu_indices(d, 1)
    pair = x[..., iu] + x[..., ju] + _log_sinhc(x[..., iu] - x[..., ju])
    out = 0.5 * _mult(field) * np.sum(pair, axis=-1)
    if field == "complex":
        out = out + np.sum(x, axis=-1)
    return check_result(out, "sigma", s)


def entropy_log_depth_coefficient(d: int, field: str = "real") -> float:
    """k_d with S_N - (N-1) log c_d = k_d log N + O(1) as N -> inf: d(d-1)/4 (real), d^2/2 (complex)."""
    field = _check_field(field)
    d = as_int(d, "d", low=1, high=10**5)
    return d * (d - 1) / 4 if field == "real" else d * d / 2


# ----------------------------------------------------------------------------------------------
# numerical orbit volume from the Gram determinant


def _algebra_basis(d: int, field: str) -> np.ndarray:
    """Orthonormal basis of so(d) or u(d) for Re Tr(a^* b), shape (n, d, d), sector by sector.

    Order: for each pair i < j: (E_ij - E_ji)/sqrt 2 [, i(E_ij + E_ji)/sqrt 2]; then i E_ii (complex).
    """
    basis = []
    r = 1.0 / math.sqrt(2.0)
    for i in range(d):
        for j in range(i + 1, d):
            a = np.zeros((d, d), dtype=complex if field == "complex" else float)
            a[i, j], a[j, i] = r, -r
            basis.append(a)
            if field == "complex":
                b = np.zeros((d, d), dtype=complex)
                b[i, j], b[j, i] = 1j * r, 1j * r
                basis.append(b)
    if field == "complex":
        for i in range(d):
            b = np.zeros((d, d), dtype=complex)
            b[i, i] = 1j
            basis.append(b)
    return np.array(basis).reshape((-1, d, d)) if basis else np.zeros((0, d, d))


def orbit_gram_matrix(W: ArrayLike, field: str | None = None) -> np.ndarray:
    """Gram matrix of the orbit tangent vectors w_e over an orthonormal basis e of k^{N-1}.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)
        Layers (normally balanced, on the minimizing orbit).
    field : {"real", "complex"}, optional
        k = so(d) (real) or u(d) (complex); default: from the dtype of W. A real W with
        field="complex" is treated as a complex point (its U_d^{N-1}-orbit).

    Returns
    -------
    ndarray, shape (..., n, n), n = (N-1) dim k, real symmetric. Basis order: slot k = 1..N-1 outer,
    then the sector order of the so(d)/u(d) basis (pairs i < j first, then the diagonal i E_ii).
    """
    W = as_layers(W, "W")
    if field is None:
        field = "complex" if np.iscomplexobj(W) else "real"
    field = _check_field(field)
    if field == "real" and np.iscomplexobj(W):
        raise DLNError("field: 'real' orbits need real layers W; got complex W")
    if field == "complex":
        W = W.astype(np.complex128)
    N, d = W.shape[-3], W.shape[-1]
    from ._tangent import orbit_tangent

    b = _algebra_basis(d, field)
    nb = b.shape[0]
    check_entries(np.prod(W.shape[:-3], dtype=float) * (N - 1) * nb * N * d * d, "W")
    # e_{k, alpha}: basis element alpha in slot k
    E = np.zeros(((N - 1) * nb, N - 1, d, d), dtype=b.dtype)
    for k in range(N - 1):
        E[k * nb : (k + 1) * nb, k] = b
    w = orbit_tangent(W[..., None, :, :, :], E)  # (..., n, N, d, d)
    w = w.reshape(w.shape[:-3] + (N * d * d,))
    if np.iscomplexobj(w):  # Re <a, b> = <(Re a, Im a), (Re b, Im b)>
        w = np.concatenate([w.real, w.imag], axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        return check_result(w @ np.swapaxes(w, -1, -2), "W", W)


def orbit_volume_gram(
    X: ArrayLike,
    N: int | None = None,
    field: str | None = None,
    rng: np.random.Generator | None = None,
    *,
    constant: bool = False,
) -> np.ndarray:
    """Numerical log-volume density 1/2 log det Gram of the minimizing orbit (MY-Thm4 check).

    Parameters
    ----------
    X : array_like
        Either end-to-end matrices of shape (..., d, d) (when ``N`` is given; the Gram matrix is built at
        the balanced point Q.C = :func:`dln.balanced_point` (X, N, rng)), or balanced layers W of shape
        (..., N, d, d) (when ``N`` is None).
    N : int >= 2, optional
    field : {"real", "complex"}, optional
        Orbit of O_d^{N-1} (real) or U_d^{N-1} (complex); default from the dtype of the input.
    rng : numpy.random.Generator, optional
        Random Q for the balanced point (None: the centre C itself).
    constant : bool
        Add (N-1) log c_d (same convention as :func:`entropy`), giving a numerical S_N.

    Returns
    -------
    ndarray, shape (...): 1/2 log det Gram [+ (N-1) log c_d]. Compare with ``entropy(sigma, N, field,
    constant=False)``.
    """
    constant = as_bool(constant, "constant")
    rng = None if rng is None else as_rng(rng)
    if N is None:
        W = as_layers(X, "X")
    else:
        N = _check_N(N, 2)
        X = as_square(X, "X")
        if field is None:
            field = "complex" if np.iscomplexobj(X) else "real"
        field = _check_field(field)
        if field == "complex":
            X = X.astype(np.complex128)
        from ._action import balanced_point

        W = balanced_point(X, N, rng)
    if field is None:
        field = "complex" if np.iscomplexobj(W) else "real"
    G = orbit_gram_matrix(W, field)
    sign, logdet = np.linalg.slogdet(G)
    if np.any(sign <= 0):
        raise DLNError("X: the orbit Gram matrix is singular (rank-deficient X or non-balanced W)")
    out = 0.5 * logdet
    if constant:
        out = out + (W.shape[-3] - 1) * _log_group_volume(W.shape[-1], _check_field(field))
    return out


def jacobi_block(lam_i: ArrayLike, lam_j: ArrayLike, N: int) -> np.ndarray:
    """The (N-1)x(N-1) Jacobi block of one (i, j) sector (MY-Jacobi), shape (..., N-1, N-1).

    Diagonal lam_i^2 + lam_j^2, off-diagonal -lam_i lam_j; determinant
    D_ij = sum_{k=0}^{N-1} lam_i^{2k} lam_j^{2(N-1-k)}. For i = j (the diagonal u(1) directions, complex
    only) this is lam^2 tridiag(-1, 2, -1) with determinant N lam^{2(N-1)}.
    """
    N = _check_N(N, 2)
    li = as_values(lam_i, "lam_i", low=0.0, min_ndim=0)
    lj = as_values(lam_j, "lam_j", low=0.0, min_ndim=0)
    batch = common_batch(("lam_i", li, 0), ("lam_j", lj, 0))
    check_entries(np.prod(batch, dtype=float) * float(N - 1) ** 2, "N")
    li, lj = li[..., None, None], lj[..., None, None]
    n = N - 1
    eye = np.eye(n)
    sub = np.eye(n, k=1) + np.eye(n, k=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        out = (li**2 + lj**2) * eye - li * lj * sub
    return check_result(out, "lam_i, lam_j", np.concatenate([li.ravel(), lj.ravel()]))
