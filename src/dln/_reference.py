"""The papers' formulas evaluated term by term: the reference route of the theorem ledger.

Each function here transcribes one printed formula of LM (Lindsey-Menon, arXiv:2511.01137), written with
plain loops over the layer index k exactly as the paper writes it, for ONE point (no batch axes). They
share no code with the fast, batched implementations in the rest of :mod:`dln` (they import nothing from
it), so the ledger can compare the two routes: a bug in an implementation shows up as a disagreement with
its printed formula.

Conventions (LM §1.1, §1.5): ``W`` has shape ``(N, d, d)`` with ``W[k-1] = W_k``; X = W_N ... W_1;
``a[k-1] = a_k`` for Lie-algebra elements of shape ``(N-1, d, d)``, with a_0 = a_N = 0; the inner product
is Re Tr(A^* B) (LM eq. 1.14, 1.16).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "adj",
    "inner",
    "product",
    "moments",
    "action",
    "center",
    "tangent",
    "H_op",
    "H_matrix",
    "dG",
    "dphi",
    "dphi_adjoint",
    "kirwan_ness",
    "eq_2_21_lhs",
    "eq_2_21_printed_lhs",
    "lemma1_corrected",
    "lemma1_printed",
    "A_operator",
    "A_matrix",
    "real_matrix",
    "tangent_projection",
    "normal_space_gradient",
    "generator_dense",
    "schatten_norm",
    "schatten_objective",
    "schatten_closed_form",
    "schatten_group_gradient",
    "schatten_hessian",
    "taylor_remainder_slope",
    "algebra_basis",
    "orbit_gram",
    "entropy_printed",
    "entropy_limit",
    "entropy_polynomial",
    "jacobi",
    "entropy_gradient_cs",
    "entropy_hessian_fd",
]


def adj(A: np.ndarray) -> np.ndarray:
    """A^*: transpose (real) or conjugate transpose (complex)."""
    return np.conj(np.swapaxes(A, -1, -2))


def inner(A: np.ndarray, B: np.ndarray) -> float:
    """<A, B> = sum Re Tr(A_k^* B_k) over everything (LM eq. 1.16)."""
    return float(np.real(np.vdot(np.asarray(A).ravel(), np.asarray(B).ravel())))


def _I(W: np.ndarray) -> np.ndarray:
    return np.eye(W.shape[-1], dtype=W.dtype)


def product(W: np.ndarray) -> np.ndarray:
    """X = W_N W_{N-1} ... W_1 (LM eq. 1.1)."""
    X = _I(W)
    for k in range(1, W.shape[0] + 1):
        X = W[k - 1] @ X
    return X


def moments(W: np.ndarray) -> np.ndarray:
    """G_k = W_k W_k^* - W_{k+1}^* W_{k+1}, k = 1 .. N-1 (LM eq. 1.11); shape (N-1, d, d)."""
    N = W.shape[0]
    return np.array([W[k - 1] @ adj(W[k - 1]) - adj(W[k]) @ W[k] for k in range(1, N)])


def action(A: np.ndarray, W: np.ndarray) -> np.ndarray:
    """A.W = (W_N A_{N-1}^{-1}, A_{N-1} W_{N-1} A_{N-2}^{-1}, ..., A_1 W_1) (LM eq. 1.6)."""
    N = W.shape[0]
    I = _I(W)

    def Ak(k):  # A_0 = A_N = I
        return I if k in (0, N) else A[k - 1]

    return np.array([Ak(k) @ W[k - 1] @ np.linalg.inv(Ak(k - 1)) for k in range(1, N + 1)])


def center(X: np.ndarray, N: int) -> np.ndarray:
    """The centre C = (Q_N Lambda, Lambda, ..., Lambda, Lambda Q_0^*) of F_X, X = Q_N Sigma Q_0^*, Lambda = Sigma^{1/N}.

    LM §1.2 and the proof of Lemma 1; ``C[k-1] = C_k``, so ``C[N-1] = Q_N Lambda`` and ``C[0] = Lambda Q_0^*``.
    """
    QN, s, Q0h = np.linalg.svd(X)
    Lam = np.diag(s ** (1.0 / N)).astype(X.dtype)
    C = [Lam.copy() for _ in range(N)]
    C[N - 1] = QN @ Lam
    C[0] = Lam @ Q0h
    return np.array(C)


def tangent(W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """w_a = (-W_N a_{N-1}, a_{N-1} W_{N-1} - W_{N-1} a_{N-2}, ..., a_1 W_1) (LM eq. 2.3)."""
    N = W.shape[0]
    Z = np.zeros_like(W[0], dtype=np.result_type(W, a))

    def ak(k):
        return Z if k in (0, N) else a[k - 1]

    return np.array([ak(k) @ W[k - 1] - W[k - 1] @ ak(k - 1) for k in range(1, N + 1)])


def H_op(W: np.ndarray, c: np.ndarray) -> np.ndarray:
    """H_k(c) = -W_k c_{k-1} W_k^* + c_k W_k W_k^* + W_{k+1}^* W_{k+1} c_k - W_{k+1}^* c_{k+1} W_{k+1} (LM eq. 2.8)."""
    N = W.shape[0]
    Z = np.zeros_like(W[0], dtype=np.result_type(W, c))

    def ck(k):
        return Z if k in (0, N) else c[k - 1]

    out = []
    for k in range(1, N):
        Wk, Wk1 = W[k - 1], W[k]
        out.append(
            -Wk @ ck(k - 1) @ adj(Wk) + ck(k) @ Wk @ adj(Wk) + adj(Wk1) @ Wk1 @ ck(k) - adj(Wk1) @ ck(k + 1) @ Wk1
        )
    return np.array(out)


def H_matrix(W: np.ndarray) -> np.ndarray:
    """The matrix of H in row-major vec coordinates, assembled block by block from LM Definition 8.

    vec(A c B) = (A kron B^T) vec(c) (row-major), so the blocks of row k are
    (k, k) = I kron (W_k W_k^*)^T + (W_{k+1}^* W_{k+1}) kron I, (k, k-1) = -W_k kron conj(W_k),
    (k, k+1) = -W_{k+1}^* kron W_{k+1}^T. Shape ((N-1) d^2, (N-1) d^2).
    """
    N, d = W.shape[0], W.shape[-1]
    m = d * d
    I = np.eye(d)
    M = np.zeros(((N - 1) * m, (N - 1) * m), dtype=W.dtype)
    for k in range(1, N):
        Wk, Wk1 = W[k - 1], W[k]
        r = slice((k - 1) * m, k * m)
        M[r, r] = np.kron(I, (Wk @ adj(Wk)).T) + np.kron(adj(Wk1) @ Wk1, I)
        if k > 1:
            M[r, slice((k - 2) * m, (k - 1) * m)] = -np.kron(Wk, np.conj(Wk))
        if k < N - 1:
            M[r, slice(k * m, (k + 1) * m)] = -np.kron(adj(Wk1), Wk1.T)
    return M


def dG(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Derivative of the moments along V (LM eq. 2.13):

    dG_k(V) = V_k W_k^* + W_k V_k^* - V_{k+1}^* W_{k+1} - W_{k+1}^* V_{k+1}.
    """
    N = W.shape[0]
    return np.array(
        [V[k - 1] @ adj(W[k - 1]) + W[k - 1] @ adj(V[k - 1]) - adj(V[k]) @ W[k] - adj(W[k]) @ V[k] for k in range(1, N)]
    )


def _P(W, k):
    """P_k = W_N ... W_{k+1} (identity for k = N)."""
    out = _I(W)
    for j in range(k + 1, W.shape[0] + 1):
        out = W[j - 1] @ out
    return out


def _Q(W, k):
    """Q_k = W_{k-1} ... W_1 (identity for k = 1)."""
    out = _I(W)
    for j in range(1, k):
        out = W[j - 1] @ out
    return out


def dphi(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """dphi(V) = sum_k P_k V_k Q_k, the derivative of X = W_N ... W_1 (product rule)."""
    return sum(_P(W, k) @ V[k - 1] @ _Q(W, k) for k in range(1, W.shape[0] + 1))


def dphi_adjoint(W: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dphi^*(Y) = (P_k^* Y Q_k^*)_k, the adjoint of dphi in the inner product Re Tr(A^* B)."""
    return np.array([adj(_P(W, k)) @ Y @ adj(_Q(W, k)) for k in range(1, W.shape[0] + 1)])


def kirwan_ness(W: np.ndarray) -> np.ndarray:
    """The Kirwan-Ness field W'_k = 2 (W_k G_{k-1} - G_k W_k), G_0 = G_N = 0 (LM eq. 1.22)."""
    N = W.shape[0]
    G = moments(W)
    Z = np.zeros_like(W[0])

    def Gk(k):
        return Z if k in (0, N) else G[k - 1]

    return np.array([2.0 * (W[k - 1] @ Gk(k - 1) - Gk(k) @ W[k - 1]) for k in range(1, N + 1)])


def eq_2_21_lhs(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """H_k(b) + H_k(b)^* written out from (2.8): the left side of (2.21) with the factor W_k^* restored.

    -W_k (b_{k-1} + b_{k-1}^*) W_k^* + b_k W_k W_k^* + W_k W_k^* b_k^* + W_{k+1}^* W_{k+1} b_k
    + b_k^* W_{k+1}^* W_{k+1} - W_{k+1}^* (b_{k+1} + b_{k+1}^*) W_{k+1}.
    """
    return _eq_2_21(W, b, restored=True)


def eq_2_21_printed_lhs(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The left side of (2.21) as printed: its first term -W_k (b_{k-1} + b_{k-1}^*) lacks the factor W_k^*."""
    return _eq_2_21(W, b, restored=False)


def _eq_2_21(W, b, restored):
    N = W.shape[0]
    Z = np.zeros_like(W[0], dtype=np.result_type(W, b))

    def bk(k):
        return Z if k in (0, N) else b[k - 1]

    out = []
    for k in range(1, N):
        Wk, Wk1 = W[k - 1], W[k]
        first = -Wk @ (bk(k - 1) + adj(bk(k - 1)))
        if restored:
            first = first @ adj(Wk)
        out.append(
            first
            + bk(k) @ Wk @ adj(Wk)
            + Wk @ adj(Wk) @ adj(bk(k))
            + adj(Wk1) @ Wk1 @ bk(k)
            + adj(bk(k)) @ adj(Wk1) @ Wk1
            - adj(Wk1) @ (bk(k + 1) + adj(bk(k + 1))) @ Wk1
        )
    return np.array(out)


def lemma1_corrected(W: np.ndarray) -> np.ndarray:
    """Fiber coordinates A with A.C = W, built in sequence.

    A_{N-1} = W_N^{-1} Q_N Lambda, A_{k-1} = W_k^{-1} A_k Lambda.
    """
    return _lemma1(W, printed=False)


def lemma1_printed(W: np.ndarray) -> np.ndarray:
    """The same sequence started as printed in the proof of LM Lemma 1: A_{N-1} = Q_N Lambda W_N^{-1}."""
    return _lemma1(W, printed=True)


def _lemma1(W, printed):
    N = W.shape[0]
    QN, s, _ = np.linalg.svd(product(W))
    Lam = np.diag(s ** (1.0 / N)).astype(W.dtype)
    A = [None] * (N - 1)
    A[N - 2] = QN @ Lam @ np.linalg.inv(W[N - 1]) if printed else np.linalg.solve(W[N - 1], QN @ Lam)
    for k in range(N - 1, 1, -1):  # W_k = A_k Lambda A_{k-1}^{-1}
        A[k - 2] = np.linalg.solve(W[k - 1], A[k - 1] @ Lam)
    return np.array(A)


def _hermitian_power(M: np.ndarray, q: float) -> np.ndarray:
    """M^q for a Hermitian positive definite M (eigendecomposition)."""
    lam, U = np.linalg.eigh(M)
    return (U * lam**q) @ adj(U)


def A_operator(X: np.ndarray, P: np.ndarray, N: int) -> np.ndarray:
    """A_{N,X}(P) = sum_{j=1}^N (X X^*)^{(N-j)/N} P (X^* X)^{(j-1)/N} (LM Remark 5, after Menon-Yu).

    The powers are taken from the SVD X = U S V^*: (X X^*)^q = U S^{2q} U^*, (X^* X)^q = V S^{2q} V^* (an
    eigendecomposition of X X^* would lose the small singular values to round-off of order eps |X|^2).
    """
    U, s, Vh = np.linalg.svd(X)
    V = adj(Vh)

    def left(q):
        return (U * s ** (2 * q)) @ adj(U)

    def right(q):
        return (V * s ** (2 * q)) @ Vh

    return sum(left((N - j) / N) @ P @ right((j - 1) / N) for j in range(1, N + 1))


def real_matrix(linear_map, shape: tuple, dtype) -> np.ndarray:
    """The real matrix of an R-linear map on arrays of ``shape`` (complex entries: real and imaginary parts)."""
    n = int(np.prod(shape))
    cplx = np.dtype(dtype).kind == "c"
    cols = []
    for part in (1.0, 1j) if cplx else (1.0,):
        for j in range(n):
            e = np.zeros(n, dtype=dtype)
            e[j] = part
            out = np.asarray(linear_map(e.reshape(shape))).ravel()
            cols.append(np.concatenate([out.real, out.imag]) if cplx else out.real)
    return np.array(cols).T


def A_matrix(X: np.ndarray, N: int) -> np.ndarray:
    """Real matrix of P -> A_{N,X}(P) (for dense solves)."""
    return real_matrix(lambda P: A_operator(X, P, N), X.shape, X.dtype)


def _to_real(V: np.ndarray) -> np.ndarray:
    V = np.asarray(V).ravel()
    return np.concatenate([V.real, V.imag]) if np.iscomplexobj(V) else V.real.copy()


def _from_real(v: np.ndarray, shape: tuple, dtype) -> np.ndarray:
    if np.dtype(dtype).kind == "c":
        n = v.size // 2
        return (v[:n] + 1j * v[n:]).reshape(shape)
    return v.reshape(shape)


def tangent_projection(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Orthogonal projection of V onto T_W F_X = ker dphi, from the dense matrix of dphi (least squares).

    V - dphi^+(dphi(V)), computed with the real matrix J of dphi: V - J^+ J V.
    """
    J = real_matrix(lambda U: dphi(W, U), W.shape, W.dtype)
    v = _to_real(V)
    corr, *_ = np.linalg.lstsq(J, J @ v, rcond=None)
    return _from_real(v - corr, W.shape, W.dtype)


def normal_space_gradient(W: np.ndarray) -> np.ndarray:
    """w_b = W - dphi^*(Y) with sum_k P_k P_k^* Y Q_k^* Q_k = N X, solved densely (the normal space is range dphi^*)."""
    N = W.shape[0]
    X = product(W)

    def L(Y):
        return sum(_P(W, k) @ adj(_P(W, k)) @ Y @ adj(_Q(W, k)) @ _Q(W, k) for k in range(1, N + 1))

    M = real_matrix(L, X.shape, W.dtype)
    Y = _from_real(np.linalg.solve(M, _to_real(N * X)), X.shape, W.dtype)
    return W - dphi_adjoint(W, Y)


def generator_dense(W: np.ndarray) -> np.ndarray:
    """b with H(b) = G (LM eq. 2.19), by a dense solve of the real matrix of (2.8)."""
    N, d = W.shape[0], W.shape[-1]
    shape = (N - 1, d, d)
    M = real_matrix(lambda c: H_op(W, c), shape, W.dtype)
    return _from_real(np.linalg.solve(M, _to_real(moments(W))), shape, W.dtype)


def schatten_norm(A: np.ndarray, p: float) -> float:
    """||A||_{S_p} = (sum_i sigma_i(A)^p)^{1/p}."""
    s = np.linalg.svd(A, compute_uv=False)
    return float(np.sum(s**p) ** (1.0 / p))


def schatten_objective(W: np.ndarray, p: float, objective: str = "norms") -> float:
    """sum_k ||W_k||_{S_p} (LM eq. 3.8, ``"norms"``) or sum_k ||W_k||_{S_p}^p (``"powers"``; p = 2: ||W||^2, LM 1.4)."""
    norms = [schatten_norm(Wk, p) for Wk in W]
    return float(sum(norms)) if objective == "norms" else float(sum(n**p for n in norms))


def schatten_closed_form(X: np.ndarray, N: int, p: float, objective: str = "norms") -> float:
    """The minimum over F_X by Schatten-Hoelder (||X||_{S_{p/N}} <= prod_k ||W_k||_{S_p}) and AM-GM.

    ``"norms"``: N (sum_i sigma_i^{p/N})^{1/p}; ``"powers"``: N sum_i sigma_i^{p/N}. Equality on O_X.
    """
    s = np.linalg.svd(X, compute_uv=False)
    total = float(np.sum(s ** (p / N)))
    return N * total ** (1.0 / p) if objective == "norms" else N * total


def _schatten_euclidean_gradient(A: np.ndarray, p: float, objective: str) -> np.ndarray:
    """Gradient of ||A||_{S_p} (``norms``) or ||A||_{S_p}^p (``powers``) in Re Tr(A^* B): c U Sigma^{p-1} V^*."""
    U, s, Vh = np.linalg.svd(A)
    coef = (float(np.sum(s**p)) ** (1.0 / p - 1.0)) if objective == "norms" else p
    return (U * (coef * s ** (p - 1.0))) @ Vh


def schatten_group_gradient(W: np.ndarray, a: np.ndarray, p: float, objective: str = "norms") -> np.ndarray:
    """df/da for f(a) = objective((I + a).W), by the chain rule through the action (1.6).

    With A = I + a and W_k(A) = A_k W_k A_{k-1}^{-1}: df/dA_k = [E_k W_k(A)^* - W_{k+1}(A)^* E_{k+1}] A_k^{-*},
    E_k the Euclidean gradient of the k-th term at W_k(A).
    """
    N = W.shape[0]
    A = np.eye(W.shape[-1]) + a
    Wa = action(A, W)
    E = [_schatten_euclidean_gradient(Wa[k], p, objective) for k in range(N)]
    return np.array(
        [(E[k - 1] @ adj(Wa[k - 1]) - adj(Wa[k]) @ E[k]) @ adj(np.linalg.inv(A[k - 1])) for k in range(1, N)]
    )


def schatten_hessian(W: np.ndarray, p: float, objective: str = "norms", h: float = 1e-5) -> np.ndarray:
    """Hessian of a -> objective((I + a).W) at a = 0 in real coordinates (Re a, then Im a for complex W).

    Central differences (step h) of :func:`schatten_group_gradient`, symmetrized.
    """
    N, d = W.shape[0], W.shape[-1]
    shape = (N - 1, d, d)
    m = int(np.prod(shape))
    cplx = np.iscomplexobj(W)
    n = 2 * m if cplx else m
    cols = []
    for j in range(n):
        e = np.zeros(m, dtype=W.dtype)
        e[j % m] = 1.0 if j < m else 1j
        gp = schatten_group_gradient(W, h * e.reshape(shape), p, objective)
        gm = schatten_group_gradient(W, -h * e.reshape(shape), p, objective)
        cols.append(_to_real((gp - gm) / (2 * h)))
    Hm = np.array(cols).T
    return 0.5 * (Hm + Hm.T)


def algebra_basis(d: int, field: str) -> list:
    """An orthonormal basis of so(d) (real) or u(d) (complex) in Re Tr(a^* b): (E_ij - E_ji)/sqrt 2 and, over C,
    i(E_ij + E_ji)/sqrt 2 for i < j, and i E_ii (MY, Jacobi matrices)."""
    r = 1.0 / np.sqrt(2.0)
    out = []
    for i in range(d):
        for j in range(i + 1, d):
            a = np.zeros((d, d), dtype=complex if field == "complex" else float)
            a[i, j], a[j, i] = r, -r
            out.append(a)
            if field == "complex":
                b = np.zeros((d, d), dtype=complex)
                b[i, j] = b[j, i] = 1j * r
                out.append(b)
    if field == "complex":
        for i in range(d):
            c = np.zeros((d, d), dtype=complex)
            c[i, i] = 1j
            out.append(c)
    return out


def orbit_gram(W: np.ndarray, field: str) -> np.ndarray:
    """Gram matrix <w_a, w_b> of the orbit tangent vectors (2.3) over an orthonormal basis of so(d)^{N-1} or
    u(d)^{N-1} (slot by slot, each slot through :func:`algebra_basis`): the metric of the orbit O_X at W."""
    N, d = W.shape[0], W.shape[-1]
    vecs = []
    for k in range(N - 1):
        for a in algebra_basis(d, field):
            e = np.zeros((N - 1, d, d), dtype=np.result_type(W, a))
            e[k] = a
            vecs.append(_to_real(tangent(W, e)))
    V = np.array(vecs)
    return V @ V.T


def entropy_printed(sigma, N: int, field: str = "real"):
    """The log-volume density of O_X without the constant (N-1) log c_d (MY Thm 4, as quoted):

    real: 1/2 log(van(Sigma^2) / van(Sigma^{2/N})), van(D) = prod_{i<j} |d_i - d_j|;
    complex: sum_{i<j} log D_ij + 1/2 sum_i log(N sigma_i^{2(N-1)/N}), D_ij = (sigma_i^2 - sigma_j^2)/(sigma_i^{2/N} -
    sigma_j^{2/N}). Written without absolute values, so it also accepts complex sigma (for complex-step derivatives).
    """
    s = np.asarray(sigma)
    d = s.shape[-1]
    total = 0.0
    for i in range(d):
        for j in range(i + 1, d):
            Dij = (s[..., i] ** 2 - s[..., j] ** 2) / (s[..., i] ** (2.0 / N) - s[..., j] ** (2.0 / N))
            total = total + (0.5 if field == "real" else 1.0) * np.log(Dij)
    if field == "complex":
        total = total + 0.5 * np.sum(np.log(N * s ** (2.0 * (N - 1) / N)), axis=-1)
    return total


def entropy_polynomial(sigma, N: int, field: str = "real"):
    """The same density with D_ij written as a polynomial (the Jacobi determinant, MY).

    D_ij = sum_{k=0}^{N-1} lam_i^{2k} lam_j^{2(N-1-k)}, lam = sigma^{1/N}: equal to :func:`entropy_printed` for
    distinct sigma and smooth where they meet.
    """
    s = np.asarray(sigma)
    lam = s ** (1.0 / N)
    d = s.shape[-1]
    total = 0.0
    for i in range(d):
        for j in range(i + 1, d):
            Dij = sum(lam[..., i] ** (2 * k) * lam[..., j] ** (2 * (N - 1 - k)) for k in range(N))
            total = total + (0.5 if field == "real" else 1.0) * np.log(Dij)
    if field == "complex":
        total = total + 0.5 * np.sum(np.log(N * s ** (2.0 * (N - 1) / N)), axis=-1)
    return total


def entropy_limit(sigma, field: str = "real"):
    """lim_N [S_N - (N-1) log c_d - k_d log N]: 1/2 sum_{i<j} log((s_i^2 - s_j^2) / (2 log(s_i/s_j))) (real);
    twice the pair sum plus sum_i log s_i (complex) (CKM Remark 1.4)."""
    s = np.asarray(sigma, dtype=float)
    d = s.shape[-1]
    total = 0.0
    for i in range(d):
        for j in range(i + 1, d):
            total = total + np.log((s[..., i] ** 2 - s[..., j] ** 2) / (2.0 * np.log(s[..., i] / s[..., j])))
    total = (0.5 if field == "real" else 1.0) * total
    if field == "complex":
        total = total + np.sum(np.log(s), axis=-1)
    return total


def jacobi(lam_i: float, lam_j: float, N: int) -> np.ndarray:
    """The (N-1) x (N-1) Jacobi matrix tridiag(-lam_i lam_j, lam_i^2 + lam_j^2, -lam_i lam_j) (MY)."""
    n = N - 1
    J = np.diag(np.full(n, lam_i**2 + lam_j**2))
    off = np.full(n - 1, -lam_i * lam_j)
    return J + np.diag(off, 1) + np.diag(off, -1)


def entropy_gradient_cs(sigma: np.ndarray, N: int, field: str, h: float = 1e-30) -> np.ndarray:
    """dS/dsigma of :func:`entropy_polynomial` by complex-step differentiation (exact to round-off)."""
    s = np.asarray(sigma, dtype=float)
    out = np.empty_like(s)
    for i in range(s.shape[-1]):
        z = s.astype(complex)
        z[..., i] += 1j * h
        out[..., i] = np.imag(entropy_polynomial(z, N, field)) / h
    return out


def entropy_hessian_fd(sigma: np.ndarray, N: int, field: str, rel: float = 1e-5) -> np.ndarray:
    """d^2 S / dsigma_i dsigma_j: central differences (step rel * sigma_j) of the complex-step gradient."""
    s = np.asarray(sigma, dtype=float)
    d = s.shape[-1]
    Hm = np.empty(s.shape + (d,))
    for j in range(d):
        e = np.zeros(d)
        e[j] = rel * s[..., j] if s.ndim == 1 else 0.0
        step = np.zeros_like(s)
        step[..., j] = rel * s[..., j]
        Hm[..., :, j] = (entropy_gradient_cs(s + step, N, field) - entropy_gradient_cs(s - step, N, field)) / (
            2 * step[..., j : j + 1]
        )
    return 0.5 * (Hm + np.swapaxes(Hm, -1, -2))


def taylor_remainder_slope(remainder, t: np.ndarray | None = None, floor: float = 1e-13) -> tuple[float, int]:
    """Fitted log-log slope of a Taylor remainder r(t) (pymanopt's gradient check).

    ``remainder(t)`` must be |f(t) - f(0) - t f'(0)| (or a norm of it) along a curve. If f'(0) is the true
    derivative, r(t) = O(t^2) and the slope is 2; an error delta in f'(0) adds |delta| t, which dominates for
    small t and pulls the slope towards 1. The slope is fitted over the points of ``t`` (default
    ``logspace(-5, -1, 9)``) where r(t) exceeds ``floor`` (round-off) and r is at most 1e-1 (truncation).

    Returns
    -------
    slope : float (NaN if fewer than 3 usable points)
    n : int, number of points used
    """
    t = np.logspace(-5, -1, 9) if t is None else np.asarray(t, dtype=float)
    r = np.array([float(remainder(float(x))) for x in t])
    ok = (r > floor) & (r < 1e-1)
    if ok.sum() < 3:
        return float("nan"), int(ok.sum())
    slope = np.polyfit(np.log(t[ok]), np.log(r[ok]), 1)[0]
    return float(slope), int(ok.sum())
