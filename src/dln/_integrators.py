"""Explicit Runge-Kutta integrators: vector-space and Lie-group (Runge-Kutta-Munthe-Kaas) versions.

Two integrators share one Butcher-tableau driver:

``integrate_vector``
    Classical explicit RK on arrays (real or complex; complex arrays are
    integrated natively, the error norm uses moduli). Used for flows that leave
    group orbits (learning flows, the induced end-to-end flow).
``integrate_group``
    Runge-Kutta-Munthe-Kaas (RKMK) on the group GL(d)^{N-1} acting on layers
    by (A.W)_k = A_k W_k A_{k-1}^{-1} (LM eq. 1.6), for flows W' = w_{xi(W)}
    whose velocity is an infinitesimal action (orbit flows: the regularizing
    flow, xi = -b, and the Kirwan-Ness flow, xi = -2G). Each step is
    W <- phi(u).W with u in gl(d)^{N-1} and phi = exp, the Cayley map or I + u, so the
    end-to-end matrix X = W_N ... W_1 is conserved to round-off
    (W_N E^{-1} E W_{N-1} ... cancels exactly in exact arithmetic), independent
    of the step size and tolerance.

RKMK stages (Munthe-Kaas 1999; Hairer-Lubich-Wanner, Geometric Numerical
Integration, IV.8): with u_1 = 0,

    u_i = h sum_j a_ij k_j,    k_i = dphi^{-1}_{u_i}( xi(phi(u_i).W) ),
    W_new = phi(h sum_j b_j k_j).W.

Exponential coordinates: dexp^{-1}_u(v) = v - [u,v]/2 + [u,[u,v]]/12 -
ad_u^4 v/720 + ad_u^6 v/30240 - ... is truncated after ad_u^{q-2} for order q
(ad_u^4 for RK4 and DP5(4), ad_u^6 for DOP853). Cayley coordinates
(Iserles 2001; phi(u) = (I - u/2)^{-1}(I + u/2)): dphi^{-1}_u(v) =
(I - u/2) v (I + u/2) exactly, so any tableau keeps its order; a Cayley stage
costs one batched inversion and four small products instead of a Pade
exponential and six commutators. Linear coordinates (phi(u) = I + u, a local
diffeomorphism at 0 with phi(0) = I and dphi_0 = id, which is all an RKMK method
needs): d/dt phi(u) phi(u)^{-1} = u' (I + u)^{-1}, so dphi^{-1}_u(v) = v (I + u)
exactly; a stage costs one batched inversion of half the size and three products,
about half a Cayley stage at d = 4 (the map is invertible for |u| < 1; a step that
makes I + u singular gives NaN, is rejected and retried smaller). The bracket on
gl(d)^{N-1} is componentwise [u_k, v_k] = u_k v_k - v_k u_k.

Step-size control (adaptive tableaus, Dormand-Prince 5(4) and 8(5,3)): the
embedded weights give the local error estimate e = h sum_j (b_j - bhat_j) k_j;
DOP853 combines its fifth- and third-order estimates e5, e3 into
err = r5^2 / sqrt(r5^2 + 0.01 r3^2) with r the scaled norms below (Hairer-Norsett-
Wanner II.10, as in scipy's DOP853).

* Vector space: err = max over the batch of the RMS of
  e / (atol + rtol max(|y_n|, |y_{n+1}|)) (scipy's norm, per batch item).
* Group: err = max over the batch of |e|_F / (atol sqrt(n) + rtol |u|_F),
  where u = h sum b_j k_j is the step's group increment and n the number of
  entries of u: the *relative* local error of the group increment is
  controlled. Along orbit flows that converge (|u| -> 0 like |G|), this keeps
  the relative accuracy of the decaying quantities (e.g. G(t) = G_0 e^{-2t})
  uniform in time, which a state-relative tolerance would not.

A step is accepted when err <= 1; the next step is
h * min(5, max(0.2, 0.9 err^{-1/(q+1)})) with q the order of the error estimate
(4 for DP5(4), 7 for DOP853; no growth right after a rejection).
The driver lands exactly on every requested output time (no interpolation).
One step size is used for the whole batch (the worst item decides).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._errors import DLNError, NonFiniteError, ShapeError

__all__ = [
    "Tableau",
    "RK4",
    "DP54",
    "DOP853",
    "TABLEAUS",
    "COORDINATES",
    "check_times",
    "progress_logger",
    "dexpinv",
    "dcayinv",
    "dlinearinv",
    "exp_act",
    "cay_act",
    "linear_act",
    "expm_batched",
    "integrate_vector",
    "integrate_group",
]


@dataclass(frozen=True)
class Tableau:
    """An explicit Butcher tableau, optionally with embedded error estimators.

    Attributes
    ----------
    name : str
    c : tuple of float, length s
    A : tuple of tuples, row i of length i (strictly lower triangular)
    b : tuple of float, length s
    bhat : tuple of float, length s, or None
        Embedded lower-order weights; the error estimate is h sum (b_j - bhat_j) k_j.
    order : int
        Order of the propagated solution.
    e : tuple of float, length s, or None
        Error weights used instead of b - bhat (DOP853's fifth-order estimator).
    e_low : tuple of float, length s, or None
        Second, lower-order error weights: the two estimates are combined as in
        Hairer-Norsett-Wanner's DOP853, err = r^2 / sqrt(r^2 + 0.01 r_low^2).
    err_order : int or None
        Order q of the error estimate (the step factor is err^{-1/(q+1)}); order - 1 when None.
    """

    name: str
    c: tuple
    A: tuple
    b: tuple
    bhat: tuple | None
    order: int
    e: tuple | None = None
    e_low: tuple | None = None
    err_order: int | None = None

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def adaptive(self) -> bool:
        return self.bhat is not None or self.e is not None

    @functools.cached_property
    def fsal(self) -> bool:
        """First stage of the next step = last stage of this one (c_s = 1, a_s = b)."""
        return self.c[-1] == 1.0 and tuple(self.A[-1]) == tuple(self.b[:-1]) and self.b[-1] == 0.0

    @property
    def error_order(self) -> int:
        return self.order - 1 if self.err_order is None else self.err_order

    @functools.cached_property
    def arrays(self) -> tuple:
        """(A, b, e, e_low) as float arrays: A of shape (s, s), the others (s,) (e_low may be None)."""
        s = self.stages
        A = np.zeros((s, s))
        for i, row in enumerate(self.A):
            A[i, : len(row)] = row
        b = np.asarray(self.b, dtype=np.float64)
        if self.e is not None:
            e = np.asarray(self.e, dtype=np.float64)
        elif self.bhat is not None:
            e = b - np.asarray(self.bhat, dtype=np.float64)
        else:
            e = None
        e_low = None if self.e_low is None else np.asarray(self.e_low, dtype=np.float64)
        return A, b, e, e_low


RK4 = Tableau(
    name="rk4",
    c=(0.0, 0.5, 0.5, 1.0),
    A=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
    bhat=None,
    order=4,
)

DP54 = Tableau(
    name="dp54",
    c=(0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0),
    A=(
        (),
        (1 / 5,),
        (3 / 40, 9 / 40),
        (44 / 45, -56 / 15, 32 / 9),
        (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
        (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
        (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
    ),
    b=(35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0),
    bhat=(5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40),
    order=5,
)

#: The weights b of DOP853 (its 13th stage has weight 0); the FSAL row of ``a`` is ``b[:12]``.
_DOP853_B = (
    0.054293734116568765,
    0.0,
    0.0,
    0.0,
    0.0,
    4.450312892752409,
    1.8915178993145003,
    -5.801203960010585,
    0.3111643669578199,
    -0.1521609496625161,
    0.20136540080403034,
    0.04471061572777259,
    0.0,
)

#: Dormand-Prince 8(5,3) (Hairer-Norsett-Wanner, Solving ODEs I, II.10; the coefficients of
#: scipy.integrate.DOP853), written with its 13th, FSAL stage (c = 1, a = b) so that the
#: derivative at the new point is reused as the next step's first stage.
DOP853 = Tableau(
    name="dop853",
    c=(
        0.0,
        0.05260015195876773,
        0.0789002279381516,
        0.1183503419072274,
        0.2816496580927726,
        0.3333333333333333,
        0.25,
        0.3076923076923077,
        0.6512820512820513,
        0.6,
        0.8571428571428571,
        1.0,
        1.0,
    ),
    A=(
        (),
        (0.05260015195876773,),
        (0.0197250569845379, 0.0591751709536137),
        (0.02958758547680685, 0.0, 0.08876275643042054),
        (0.2413651341592667, 0.0, -0.8845494793282861, 0.924834003261792),
        (0.037037037037037035, 0.0, 0.0, 0.17082860872947386, 0.12546768756682242),
        (0.037109375, 0.0, 0.0, 0.17025221101954405, 0.06021653898045596, -0.017578125),
        (
            0.03709200011850479,
            0.0,
            0.0,
            0.17038392571223998,
            0.10726203044637328,
            -0.015319437748624402,
            0.008273789163814023,
        ),
        (
            0.6241109587160757,
            0.0,
            0.0,
            -3.3608926294469414,
            -0.868219346841726,
            27.59209969944671,
            20.154067550477894,
            -43.48988418106996,
        ),
        (
            0.47766253643826434,
            0.0,
            0.0,
            -2.4881146199716677,
            -0.590290826836843,
            21.230051448181193,
            15.279233632882423,
            -33.28821096898486,
            -0.020331201708508627,
        ),
        (
            -0.9371424300859873,
            0.0,
            0.0,
            5.186372428844064,
            1.0914373489967295,
            -8.149787010746927,
            -18.52006565999696,
            22.739487099350505,
            2.4936055526796523,
            -3.0467644718982196,
        ),
        (
            2.273310147516538,
            0.0,
            0.0,
            -10.53449546673725,
            -2.0008720582248625,
            -17.9589318631188,
            27.94888452941996,
            -2.8589982771350235,
            -8.87285693353063,
            12.360567175794303,
            0.6433927460157636,
        ),
        _DOP853_B[:12],
    ),
    b=_DOP853_B,
    e=(
        0.01312004499419488,
        0.0,
        0.0,
        0.0,
        0.0,
        -1.2251564463762044,
        -0.4957589496572502,
        1.6643771824549864,
        -0.35032884874997366,
        0.3341791187130175,
        0.08192320648511571,
        -0.022355307863886294,
        0.0,
    ),
    e_low=(
        -0.18980075407240762,
        0.0,
        0.0,
        0.0,
        0.0,
        4.450312892752409,
        1.8915178993145003,
        -5.801203960010585,
        -0.4226823213237919,
        -0.1521609496625161,
        0.20136540080403034,
        0.02265179219836082,
        0.0,
    ),
    bhat=None,
    order=8,
    err_order=7,
)

TABLEAUS = {"rk4": RK4, "dp54": DP54, "dop853": DOP853}

_SAFETY, _FAC_MIN, _FAC_MAX = 0.9, 0.2, 5.0


def progress_logger(log: Callable[[str], None] = print, every: float = 10.0, name: str = "flow") -> Callable:
    """A ``progress(t, T, n_steps)`` callback that logs progress with an ETA at most every ``every`` seconds.

    The ETA extrapolates the wall-clock time per unit of flow time so far (a rough
    guide: adaptive steps usually grow as a flow converges). The final call (t = T)
    is always logged.

    Parameters
    ----------
    log : callable
        Receives one formatted line, e.g. ``logging.getLogger(__name__).info``.
    every : float
        Minimum number of seconds between two lines.
    name : str
        Prefix of each line.
    """
    import time

    from ._errors import as_callable, as_real

    log = as_callable(log, "log")
    every = as_real(every, "every", low=0.0, allow_inf=True)
    if not isinstance(name, str):
        raise DLNError(f"name: expected a str, got {name!r}")
    start = time.perf_counter()
    last = [start]

    def progress(t: float, T: float, n_steps: int) -> None:
        now = time.perf_counter()
        if now - last[0] < every and t < T:
            return
        last[0] = now
        elapsed = now - start
        eta = elapsed * (T - t) / t if t > 0 else float("nan")
        log(
            f"{name}: t = {t:.4g} / {T:.4g} ({100.0 * t / T:.1f}%), {n_steps} steps, "
            f"{elapsed:.1f} s elapsed, ETA {eta:.1f} s"
        )

    return progress


def check_times(t, name: str = "t") -> np.ndarray:
    """Validate output times: a finite 1-D array, t[0] = 0, strictly increasing.

    Returns
    -------
    ndarray of float64, shape (n_t,)
    """
    try:
        arr = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DLNError(f"{name}: expected a 1-D array of real times, got {t!r}") from exc
    if arr.ndim != 1 or arr.size < 1:
        raise ShapeError(f"{name}: expected a non-empty 1-D array of times, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(f"{name}: contains NaN or Inf times")
    if arr[0] != 0.0:
        raise DLNError(f"{name}: must start at t[0] = 0, got t[0] = {arr[0]!r}")
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        raise DLNError(f"{name}: times must be strictly increasing")
    return arr


_PADE = {
    3: (120.0, 60.0, 12.0, 1.0),
    5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
    7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
    9: (17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0, 110880.0, 3960.0, 90.0, 1.0),
    13: (
        64764752532480000.0,
        32382376266240000.0,
        7771770303897600.0,
        1187353796428800.0,
        129060195264000.0,
        10559470521600.0,
        670442572800.0,
        33522128640.0,
        1323241920.0,
        40840800.0,
        960960.0,
        16380.0,
        182.0,
        1.0,
    ),
}
_THETA = ((3, 1.495585217958292e-2), (5, 2.539398330063230e-1), (7, 9.504178996162932e-1), (9, 2.097847961257068))
_THETA13 = 5.371920351148152


def expm_batched(A: np.ndarray) -> np.ndarray:
    """Matrix exponential of a batch, shape (..., d, d): Higham's (2005) scaling and squaring.

    Pade degree m in {3, 5, 7, 9, 13} and the scaling 2^-s are chosen from the
    largest 1-norm in the batch (one choice for the whole batch, which only adds
    accuracy for the smaller items); pure NumPy, so small matrices cost a few
    batched products instead of one scipy call per matrix.
    """
    A = np.asarray(A)
    d = A.shape[-1]
    eye = np.eye(d, dtype=A.dtype)
    nrm = float(np.max(np.sum(np.abs(A), axis=-2))) if A.size else 0.0
    if not np.isfinite(nrm):
        return np.full(A.shape, np.nan, dtype=np.result_type(A.dtype, np.float64))
    if nrm == 0.0:
        return np.broadcast_to(eye, A.shape).copy()
    m, s = 13, 0
    for m_try, theta in _THETA:
        if nrm <= theta:
            m = m_try
            break
    if m == 13:
        s = max(0, int(np.ceil(np.log2(nrm / _THETA13))))
    As = A / (2.0**s) if s else A
    b = _PADE[m]
    A2 = As @ As
    if m < 13:
        powers = [eye, A2]
        for _ in range(2, m // 2 + 1):
            powers.append(powers[-1] @ A2)
        Uin = sum(b[2 * j + 1] * powers[j] for j in range(m // 2 + 1))
        V = sum(b[2 * j] * powers[j] for j in range(m // 2 + 1))
        U = As @ Uin
    else:
        A4 = A2 @ A2
        A6 = A4 @ A2
        U = As @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
        V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye
    try:
        R = np.linalg.solve(V - U, V + U)
    except np.linalg.LinAlgError:  # only for non-finite or absurdly large input
        return np.full(A.shape, np.nan, dtype=np.result_type(A.dtype, np.float64))
    for _ in range(s):
        R = R @ R
    return R


def _bracket(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u @ v - v @ u


#: B_k / k! for the even k >= 2 of the series dexp^{-1}_u = sum_k B_k / k! ad_u^k (B_1 / 1! = -1/2)
_BERNOULLI = {2: 1.0 / 12.0, 4: -1.0 / 720.0, 6: 1.0 / 30240.0, 8: -1.0 / 1209600.0}


def dexpinv(u: np.ndarray, v: np.ndarray, degree: int = 4) -> np.ndarray:
    """Truncated inverse derivative of exp on gl(d)^{N-1}: sum_{k <= degree} B_k / k! ad_u^k v.

    v - [u,v]/2 + [u,[u,v]]/12 - ad_u^4 v/720 (+ ad_u^6 v/30240 + ...). An RKMK
    method of order p needs the terms up to ad_u^{p-2}: ``degree = 4`` serves orders
    <= 6, ``degree = 6`` orders 7 and 8.

    Parameters
    ----------
    u, v : ndarray, shape (..., N-1, d, d) (componentwise brackets)
    degree : {2, 4, 6, 8}
        Highest power of ad_u kept.

    Returns
    -------
    ndarray, shape (..., N-1, d, d)
    """
    if degree not in _BERNOULLI:
        raise DLNError(f"degree: expected one of {sorted(_BERNOULLI)}, got {degree!r}")
    c = _bracket(u, v)
    out = v - 0.5 * c
    for k in range(2, degree + 1):
        c = _bracket(u, c)
        if k % 2 == 0:
            out = out + _BERNOULLI[k] * c
    return out


def dcayinv(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inverse (right-trivialized) derivative of the Cayley map: (I - u/2) v (I + u/2), exact.

    With cay(u) = (I - u/2)^{-1} (I + u/2), d/dt cay(u(t)) cay(u)^{-1} = v exactly when
    u' = dcayinv(u, v), so an RKMK method in Cayley coordinates keeps the order of
    its tableau without any truncation.

    Parameters
    ----------
    u, v : ndarray, shape (..., N-1, d, d)

    Returns
    -------
    ndarray, shape (..., N-1, d, d)
    """
    return _dcayinv_factors(_cayley_factors(u), v)


def _cayley_factors(u: np.ndarray) -> np.ndarray:
    """M = [I - u/2, I + u/2], shape (2,) + u.shape: cay(u) = M[0]^{-1} M[1], dcayinv(u, v) = M[0] v M[1]."""
    eye = _eye(u.shape[-1])
    M = np.empty((2,) + u.shape, dtype=np.result_type(u.dtype, np.float64))
    np.multiply(u, 0.5, out=M[1])
    np.subtract(eye, M[1], out=M[0])
    M[1] += eye
    return M


def _dcayinv_factors(M: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (M[0] @ v) @ M[1]


def dlinearinv(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inverse (right-trivialized) derivative of phi(u) = I + u: v (I + u), exact.

    d/dt (I + u(t)) (I + u)^{-1} = u' (I + u)^{-1} = v exactly when u' = dlinearinv(u, v).
    Shapes as in :func:`dcayinv`: u, v and the result (..., N-1, d, d).
    """
    return _dlinearinv_factors(u + _eye(u.shape[-1]), v)


def _dlinearinv_factors(M: np.ndarray, v: np.ndarray) -> np.ndarray:
    return v @ M


def exp_act(u: np.ndarray, W: np.ndarray) -> np.ndarray:
    """exp(u).W = (E_k W_k E_{k-1}^{-1})_k with E = expm(u), E_0 = E_N = I (LM eq. 1.6).

    Parameters
    ----------
    u : ndarray, shape (..., N-1, d, d)
    W : ndarray, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (..., N, d, d). The inverse is applied by an LU solve, so
    X = W_N ... W_1 is reproduced to round-off.
    """
    E = expm_batched(u)
    N = W.shape[-3]
    out = np.empty(np.broadcast_shapes(E.shape[:-3], W.shape[:-3]) + W.shape[-3:], dtype=np.result_type(E, W))
    # W_k E_{k-1}^{-1} = (E_{k-1}^{-T} W_k^T)^T for k = 2..N
    try:
        right = np.swapaxes(np.linalg.solve(np.swapaxes(E, -1, -2), np.swapaxes(W[..., 1:, :, :], -1, -2)), -1, -2)
    except np.linalg.LinAlgError:  # exp(u) is invertible; only reached for non-finite u
        out[...] = np.nan
        return out
    out[..., 0, :, :] = E[..., 0, :, :] @ W[..., 0, :, :]
    out[..., 1 : N - 1, :, :] = E[..., 1:, :, :] @ right[..., : N - 2, :, :]
    out[..., N - 1, :, :] = right[..., N - 2, :, :]
    return out


def cay_act(u: np.ndarray, W: np.ndarray) -> np.ndarray:
    """cay(u).W = (C_k W_k C_{k-1}^{-1})_k with C = (I - u/2)^{-1} (I + u/2), C_0 = C_N = I.

    C = 2 (I - u/2)^{-1} - I and C^{-1} = 2 (I + u/2)^{-1} - I come from one batched
    inversion, the action from two batched products.

    Parameters
    ----------
    u : ndarray, shape (..., N-1, d, d), with no eigenvalue of u equal to +-2
    W : ndarray, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (..., N, d, d); X = W_N ... W_1 is reproduced to round-off.
    """
    return _cay_act_factors(u, W)[0]


def _cay_act_factors(u: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cay(u).W, M) with M = [I - u/2, I + u/2], shape (2,) + u.shape: dcayinv(u, v) = M[0] v M[1]."""
    eye = _eye(W.shape[-1])
    M = _cayley_factors(u)
    try:
        CC = np.linalg.inv(M)  # [(C + I) / 2, (C^{-1} + I) / 2]
    except np.linalg.LinAlgError:  # cay(u) exists unless u has an eigenvalue +-2; only for huge or non-finite u
        return _nan_layers(u, W), M
    CC *= 2.0
    CC -= eye
    return _chain_action(CC[0], CC[1], W), M


def _chain_action(left: np.ndarray, right: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(left_k W_k right_{k-1})_k for k = 1..N with left_N = right_0 = I (two batched products).

    left, right : shape (..., N-1, d, d), the group element and its inverse; W : shape (..., N, d, d).
    """
    N = W.shape[-3]
    batch = W.shape[:-3] if left.shape[:-3] == W.shape[:-3] else np.broadcast_shapes(left.shape[:-3], W.shape[:-3])
    out = np.empty(batch + W.shape[-3:], dtype=np.result_type(left, right, W))
    np.matmul(left, W[..., : N - 1, :, :], out=out[..., : N - 1, :, :])
    out[..., N - 1, :, :] = W[..., N - 1, :, :]
    out[..., 1:, :, :] = out[..., 1:, :, :] @ right
    return out


def _nan_layers(u: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Layers of the broadcast shape of u and W, all NaN (the action of a singular group element)."""
    return np.full(np.broadcast_shapes(u.shape[:-3], W.shape[:-3]) + W.shape[-3:], np.nan, np.result_type(u, W))


def linear_act(u: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(I + u).W = ((I + u_k) W_k (I + u_{k-1})^{-1})_k, with u_0 = u_N = 0.

    Parameters
    ----------
    u : ndarray, shape (..., N-1, d, d), with I + u_k invertible
    W : ndarray, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (..., N, d, d); X = W_N ... W_1 is reproduced to round-off (all NaN when
    some I + u_k is singular).
    """
    return _linear_act_factors(u, W)[0]


def _linear_act_factors(u: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((I + u).W, I + u): dlinearinv(u, v) = v (I + u)."""
    M = u + _eye(W.shape[-1])
    try:
        Minv = np.linalg.inv(M)
    except np.linalg.LinAlgError:
        return _nan_layers(u, W), M
    return _chain_action(M, Minv, W), M


@functools.lru_cache(maxsize=32)
def _eye(d: int) -> np.ndarray:
    """The d x d identity (shared, read-only)."""
    eye = np.eye(d)
    eye.setflags(write=False)
    return eye


#: coordinate maps phi of the RKMK steps W <- phi(u).W (see integrate_group)
COORDINATES = ("exp", "cayley", "linear")


def _combine(coef: np.ndarray, K: np.ndarray, n: int, h: float) -> np.ndarray:
    """h sum_{j<n} coef_j K_j for K of shape (s, ...) (one BLAS call)."""
    if n == 1:
        return (h * coef[0]) * K[0]
    return (h * coef[:n]) @ K[:n].reshape(n, -1)


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.abs(a) ** 2))) if a.size else 0.0


def _rk_step(tab: Tableau, y, h, f_y, stage, update):
    """One explicit (RK or RKMK) step.

    stage(y, u, need_k) -> (k, f_raw, y_stage): the stage slope for the increment u, the raw
    field value and the stage state (k may be None when ``need_k`` is False: the FSAL stage
    of a tableau whose estimators do not weigh it); update(y, u) -> new state.
    Returns (y_new, u, e, e_low, f_new): u = h sum b_j k_j, e and e_low the embedded error
    increments (None when the tableau has none) and f_new the raw field at y_new when the
    tableau is FSAL (else None).
    """
    A, b, e_w, el_w = tab.arrays
    s = tab.stages
    shape = f_y.shape
    K = np.empty((s,) + shape, dtype=np.result_type(f_y.dtype, y.dtype))
    K[0] = f_y
    f_last = y_last = None
    u = None
    weighs_last = any(w is not None and w[-1] != 0.0 for w in (e_w, el_w))
    for i in range(1, s):
        ui = _combine(A[i], K, i, h).reshape(shape)
        last = tab.fsal and i == s - 1
        ki, f_last, y_last = stage(y, ui, weighs_last or not last)
        K[i] = 0.0 if ki is None else ki
        if last:
            u = ui  # the FSAL stage is evaluated at exactly the new state
    if tab.fsal:
        y_new = y_last
    else:
        u = _combine(b, K, s, h).reshape(shape)
        y_new = update(y, u)
    e = None if e_w is None else _combine(e_w, K, s, h).reshape(shape)
    e_low = None if el_w is None else _combine(el_w, K, s, h).reshape(shape)
    return y_new, u, e, e_low, (f_last if tab.fsal else None)


def _combined_error(r: np.ndarray, r_low: np.ndarray | None) -> np.ndarray:
    """The step's error measure from the scaled norms of the estimators (DOP853's combination with r_low)."""
    if r_low is None:
        return r
    denom = r**2 + 0.01 * r_low**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom == 0, 0.0, r**2 / np.sqrt(denom))


class _Driver:
    """Time stepping with exact landing on the output times, step-size control and state checks."""

    def __init__(self, name, t_out, rtol, atol, max_steps, progress, blowup):
        self.name = name
        self.t_out = t_out
        self.rtol = float(rtol)
        self.atol = float(atol)
        self.max_steps = int(max_steps)
        self.progress = progress
        self.blowup = float(blowup)
        self.stats = {"n_steps": 0, "n_rejected": 0, "n_evals": 0}
        if not (np.isfinite(self.rtol) and self.rtol > 0):
            raise DLNError(f"rtol: expected a positive finite relative tolerance, got {rtol!r}")
        if not (np.isfinite(self.atol) and self.atol >= 0):
            raise DLNError(f"atol: expected a non-negative finite absolute tolerance, got {atol!r}")

    def check_state(self, y: np.ndarray, t: float, ref: float) -> None:
        if not np.all(np.isfinite(y)):
            raise NonFiniteError(f"{self.name}: the state became NaN or Inf at t = {t:.6g}")
        size = float(np.max(np.abs(y))) if y.size else 0.0
        if size > self.blowup * (1.0 + ref):
            raise DLNError(
                f"{self.name}: the solution blew up at t = {t:.6g} (max |entry| {size:.3g} > "
                f"{self.blowup:.1e} x (1 + max |initial entry|))"
            )

    def guard(self, step, t, *args):
        """Run one step; a DLNError from the vector field is re-raised naming the flow and the time."""
        try:
            return step(*args)
        except DLNError as exc:
            raise type(exc)(f"{self.name}: in the step from t = {t:.6g}: {exc}") from exc

    def _accepted(self, y, t, ref, T):
        self.stats["n_steps"] += 1
        self.check_state(y, t, ref)
        if self.progress is not None:
            self.progress(t, T, self.stats["n_steps"])

    def run_fixed(self, y0, f0, step, dt: float):
        """step(y, h, f_y) -> (y_new, f_new or None)."""
        t_out = self.t_out
        out = np.empty((t_out.size,) + y0.shape, dtype=y0.dtype)
        out[0] = y0
        ref = float(np.max(np.abs(y0))) if y0.size else 0.0
        y, t, f_y, T = y0, 0.0, f0, float(t_out[-1])
        for i in range(1, t_out.size):
            target = float(t_out[i])
            n = max(1, int(np.ceil((target - t) / dt - 1e-9)))
            hs = (target - t) / n
            for j in range(n):
                with np.errstate(all="ignore"):
                    y, f_y = self.guard(step, t, y, hs, f_y)
                t = target if j == n - 1 else t + hs
                self._accepted(y, t, ref, T)
            out[i] = y
        return out

    def run_adaptive(self, y0, f0, step, err_order: int, h0: float):
        """step(y, h, f_y) -> (y_new, err, f_new or None)."""
        t_out = self.t_out
        out = np.empty((t_out.size,) + y0.shape, dtype=y0.dtype)
        out[0] = y0
        ref = float(np.max(np.abs(y0))) if y0.size else 0.0
        y, t, f_y, T = y0, 0.0, f0, float(t_out[-1])
        h = h0
        expo = -1.0 / (err_order + 1.0)
        rejected_last = False
        for i in range(1, t_out.size):
            target = float(t_out[i])
            while t < target:
                if self.stats["n_steps"] + self.stats["n_rejected"] >= self.max_steps:
                    raise DLNError(
                        f"{self.name}: exceeded max_steps = {self.max_steps} at t = {t:.6g} (step {h:.3g}); "
                        "the problem is stiff or the tolerances are too tight"
                    )
                land = target - t <= h * (1.0 + 1e-12)
                h_try = target - t if land else h
                with np.errstate(all="ignore"):
                    y_new, err, f_new = self.guard(step, t, y, h_try, f_y)
                if not np.isfinite(err):
                    err = np.inf
                if err <= 1.0:
                    t = target if land else t + h_try
                    y, f_y = y_new, f_new
                    fac = _FAC_MAX if err == 0.0 else min(_FAC_MAX, max(_FAC_MIN, _SAFETY * err**expo))
                    if rejected_last:
                        fac = min(fac, 1.0)
                    # a step shortened to land on an output time does not shrink the proposal
                    h = max(h, h_try * fac) if land else h_try * fac
                    rejected_last = False
                    self._accepted(y, t, ref, T)
                else:
                    self.stats["n_rejected"] += 1
                    h = h_try * (max(_FAC_MIN, _SAFETY * err**expo) if np.isfinite(err) else _FAC_MIN)
                    rejected_last = True
                    if h < 1e-14 * max(1.0, abs(t)):
                        raise DLNError(
                            f"{self.name}: step size underflow (h = {h:.3g}) at t = {t:.6g}; "
                            "the solution is probably blowing up or the tolerances are unreachable"
                        )
            out[i] = y
        return out


def _initial_step(f0_norm: float, y0_norm: float, order: int, rtol: float, span: float) -> float:
    """First trial step: the time scale |y|/|f| times rtol^{1/(q+1)}, capped by the time span."""
    if not (f0_norm > 0 and np.isfinite(f0_norm)):
        return span
    return float(min(span, max(y0_norm, 1e-3) / f0_norm * rtol ** (1.0 / (order + 1))))


def _resolve(tableau, dt):
    if isinstance(tableau, str):
        if tableau not in TABLEAUS:
            raise DLNError(f"method: expected one of {sorted(TABLEAUS)}, got {tableau!r}")
        tableau = TABLEAUS[tableau]
    if dt is not None:
        if not (isinstance(dt, (int, float, np.floating, np.integer)) and np.isfinite(dt) and dt > 0):
            raise DLNError(f"dt: expected a positive finite step size, got {dt!r}")
    elif not tableau.adaptive:
        raise DLNError(f"dt: the fixed-step scheme {tableau.name!r} needs a step size dt")
    return tableau


def integrate_vector(
    f: Callable[[np.ndarray], np.ndarray],
    y0: np.ndarray,
    t,
    *,
    n_state_axes: int,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str | Tableau = "dp54",
    dt: float | None = None,
    name: str = "flow",
    progress: Callable | None = None,
    max_steps: int = 1_000_000,
    blowup: float = 1e10,
    stats: dict | None = None,
) -> np.ndarray:
    """Integrate the autonomous ODE y' = f(y) with an explicit Runge-Kutta method.

    Parameters
    ----------
    f : callable, (..., *state) -> (..., *state)
    y0 : ndarray, shape (..., *state)
        The last ``n_state_axes`` axes form one state; leading axes are a batch
        sharing one step size (the worst item decides).
    t : array_like, shape (n_t,)
        Output times, t[0] = 0, strictly increasing; the integrator lands on each.
    rtol, atol : float
        Local error tolerances of the embedded pair: the per-item RMS of
        e / (atol + rtol max(|y_n|, |y_{n+1}|)) must be <= 1.
    method : {"dp54", "dop853", "rk4"} or Tableau
        ``"dp54"``: adaptive Dormand-Prince 5(4) (default); ``"dop853"``: adaptive
        Dormand-Prince 8(5,3); ``"rk4"``: classical RK4 with fixed step ``dt``.
    dt : float, optional
        Fixed step size; with ``dt`` the steps between consecutive output times
        are equal and at most ``dt`` (no error control).
    name : str
        Named in error messages.
    progress : callable, optional
        ``progress(t, T, n_steps)`` after every accepted step.
    max_steps : int
        Cap on attempted steps.
    blowup : float
        The state may not exceed ``blowup * (1 + max|y0|)`` in any entry.
    stats : dict, optional
        Filled with ``n_steps``, ``n_rejected`` and ``n_evals``.

    Returns
    -------
    ndarray, shape (n_t, ..., *state), dtype of ``y0``.
    """
    t_out = check_times(t)
    y0 = np.asarray(y0)
    tab = _resolve(method, dt)
    drv = _Driver(name, t_out, rtol, atol, max_steps, progress, blowup)
    axes = tuple(range(y0.ndim - n_state_axes, y0.ndim))

    def feval(y):
        drv.stats["n_evals"] += 1
        v = np.asarray(f(y))
        if v.shape != y.shape:
            raise ShapeError(f"{name}: the vector field returned shape {v.shape}, expected {y.shape}")
        return v

    def stage(y, u, need_k):
        ys = y + u
        v = feval(ys)
        return v, v, ys

    def update(y, u):
        return y + u

    f0 = feval(y0)
    if dt is not None:

        def step_fixed(y, h, f_y):
            y_new, _, _, _, f_new = _rk_step(tab, y, h, f_y if f_y is not None else feval(y), stage, update)
            return y_new, f_new

        out = drv.run_fixed(y0, f0, step_fixed, float(dt))
    else:

        def scaled_rms(e, scale):
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(e == 0, 0.0, np.abs(e) / scale)
            return np.sqrt(np.mean(r**2, axis=axes))

        def step(y, h, f_y):
            y_new, _, e, e_low, f_new = _rk_step(tab, y, h, f_y if f_y is not None else feval(y), stage, update)
            if not e.size:
                return y_new, 0.0, f_new
            scale = drv.atol + drv.rtol * np.maximum(np.abs(y), np.abs(y_new))
            r = _combined_error(scaled_rms(e, scale), None if e_low is None else scaled_rms(e_low, scale))
            return y_new, float(np.max(r)), f_new

        span = float(t_out[-1]) if t_out.size > 1 else 1.0
        h0 = _initial_step(_rms(f0), _rms(y0), tab.order, drv.rtol, span)
        out = drv.run_adaptive(y0, f0, step, tab.error_order, h0)
    if stats is not None:
        stats.update(drv.stats)
    return out


def integrate_group(
    xi: Callable[[np.ndarray], np.ndarray],
    W0: np.ndarray,
    t,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    method: str | Tableau = "dp54",
    dt: float | None = None,
    coordinates: str = "exp",
    name: str = "orbit flow",
    progress: Callable | None = None,
    max_steps: int = 1_000_000,
    blowup: float = 1e10,
    stats: dict | None = None,
) -> np.ndarray:
    """Integrate the orbit flow W' = w_{xi(W)} by a Runge-Kutta-Munthe-Kaas method on GL(d)^{N-1}.

    Every step is W <- exp(u).W (LM eq. 1.6) with u in gl(d)^{N-1}, so the
    trajectory stays on the GL(d)^{N-1}-orbit of W0 and X = W_N ... W_1 is
    conserved to round-off.

    Parameters
    ----------
    xi : callable, (..., N, d, d) -> (..., N-1, d, d)
        Group velocity: W' = w_{xi(W)}, (w_a)_k = a_k W_k - W_k a_{k-1}.
    W0 : ndarray, shape (..., N, d, d)
    t : array_like, shape (n_t,)
        Output times, t[0] = 0, strictly increasing; the integrator lands on each.
    rtol, atol : float
        Local error control of the group increment u = h sum b_j k_j: per batch
        item |e|_F <= atol sqrt(n) + rtol |u|_F with e the embedded estimate
        (see the module docstring).
    method : {"dp54", "dop853", "rk4"} or Tableau
        ``"dp54"``: RKMK with the Dormand-Prince 5(4) pair (adaptive, order 5);
        ``"dop853"``: RKMK with the Dormand-Prince 8(5,3) pair (adaptive, order 8);
        ``"rk4"``: RKMK4 with fixed step ``dt`` (order 4).
    dt : float, optional
        Fixed step size (no error control).
    coordinates : {"exp", "cayley", "linear"}
        The map phi: gl(d)^{N-1} -> GL(d)^{N-1} of the steps W <- phi(u).W: the
        exponential with the truncated dexp^{-1} (:func:`dexpinv`, degree 4 for
        orders <= 6 and 6 above), the Cayley map with its exact inverse derivative
        (:func:`dcayinv`, cheaper per stage; see :func:`cay_act`), or I + u with its
        exact inverse derivative (:func:`dlinearinv`, cheaper still; see :func:`linear_act`).
    name, progress, max_steps, blowup, stats
        As in :func:`integrate_vector`.

    Returns
    -------
    ndarray, shape (n_t, ..., N, d, d), dtype of ``W0``.
    """
    t_out = check_times(t)
    W0 = np.asarray(W0)
    tab = _resolve(method, dt)
    if coordinates not in COORDINATES:
        raise DLNError(f"coordinates: expected one of {COORDINATES}, got {coordinates!r}")
    drv = _Driver(name, t_out, rtol, atol, max_steps, progress, blowup)
    # act_factors(u, W) -> (phi(u).W, factors); dinv_factors(factors, v) = dphi^{-1}_u(v) from those factors
    if coordinates == "cayley":
        act_factors, dinv_factors = _cay_act_factors, _dcayinv_factors
    elif coordinates == "linear":
        act_factors, dinv_factors = _linear_act_factors, _dlinearinv_factors
    else:
        degree = 4 if tab.order <= 6 else 6

        def act_factors(u, W):
            return exp_act(u, W), u

        def dinv_factors(u, v):
            return dexpinv(u, v, degree)

    v_shape = W0.shape[:-3] + (W0.shape[-3] - 1,) + W0.shape[-2:]

    def feval(W):
        drv.stats["n_evals"] += 1
        v = np.asarray(xi(W))
        if v.shape != v_shape:
            raise ShapeError(f"{name}: the group velocity has shape {v.shape}, expected {W.shape[:-3]} + (N-1, d, d)")
        return v

    def stage(W, u, need_k):
        Ws, factors = act_factors(u, W)
        v = feval(Ws)
        return (dinv_factors(factors, v) if need_k else None), v, Ws

    def update(W, u):
        return act_factors(u, W)[0]

    f0 = feval(W0)
    if dt is not None:

        def step_fixed(W, h, f_W):
            W_new, _, _, _, f_new = _rk_step(tab, W, h, f_W if f_W is not None else feval(W), stage, update)
            return W_new, f_new

        out = drv.run_fixed(W0, f0, step_fixed, float(dt))
    else:
        n_entries = float(np.prod(W0.shape[-3:]) / W0.shape[-3] * (W0.shape[-3] - 1))

        def fro(a):
            return np.sqrt(np.sum(np.abs(a) ** 2, axis=(-3, -2, -1)))

        def step(W, h, f_W):
            W_new, u, e, e_low, f_new = _rk_step(tab, W, h, f_W if f_W is not None else feval(W), stage, update)
            if not e.size:
                return W_new, 0.0, f_new
            scale = drv.atol * np.sqrt(n_entries) + drv.rtol * fro(u)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(fro(e) == 0, 0.0, fro(e) / scale)
                r_low = None if e_low is None else np.where(fro(e_low) == 0, 0.0, fro(e_low) / scale)
            return W_new, float(np.max(_combined_error(r, r_low))), f_new

        span = float(t_out[-1]) if t_out.size > 1 else 1.0
        # time scale of the motion: |W| / |w_xi| ~ |W| / (2 |W| |xi|) = 1 / (2 |xi|)
        h0 = _initial_step(2.0 * _rms(f0), 1.0, tab.order, drv.rtol, span)
        out = drv.run_adaptive(W0, f0, step, tab.error_order, h0)
    if stats is not None:
        stats.update(drv.stats)
    return out
