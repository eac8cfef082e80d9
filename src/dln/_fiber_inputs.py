"""Test and benchmark inputs for the fiber-gradient solvers (private).

Ensembles (layers of shape ``batch + (N, d, d)``):

``"near_identity"``
    W_k = I + 0.5 Z_k / sqrt(d): well-conditioned products, the ledger's easy ensemble.
``"gaussian"``
    W_k = Z_k / sqrt(d); cond(X) grows exponentially with N.
``"conditioned"``
    X = U diag(sigma) V^* with log-spaced sigma from 1 to 1/cond, then
    W = act(A, center(X, N)) with A_k = I + 0.5 Z_k / sqrt(d): a point of the
    fiber F_X away from the minimizing orbit, with cond(X) = ``cond`` exactly.
``"conditioned_gaussian"``
    As ``"conditioned"`` with Gaussian A_k = Z_k / sqrt(d) (ill-conditioned layers).
``"unbalanced"``
    As ``"conditioned"`` with A_k = Q_k diag(10^e) R_k, the exponents e evenly spaced over
    [-spread/2, spread/2] and Q_k, R_k Haar: each A_k has condition number 10^spread exactly, so
    cond(X)^{1/N} 10^{-2 spread} <= cond(W_k) <= cond(X)^{1/N} 10^{2 spread} (one factor 10^spread
    for the first and last layers), and W lies far from the minimizing orbit (|W|^2 several times its
    minimum N sum_i sigma_i^{2/N}).
"""

from __future__ import annotations

import numpy as np

from ._action import act, center
from ._errors import DLNError
from ._linalg import H
from ._random import haar_unitary, random_matrix

__all__ = ["fiber_test_layers", "ENSEMBLES"]

ENSEMBLES = ("near_identity", "gaussian", "conditioned", "conditioned_gaussian", "unbalanced")


def fiber_test_layers(
    rng: np.random.Generator,
    N: int,
    d: int,
    ensemble: str = "conditioned",
    cond: float = 1e2,
    field: str = "real",
    batch: tuple = (),
    spread: float = 1.0,
) -> np.ndarray:
    """Random layers from one of :data:`ENSEMBLES` (see the module docstring).

    ``cond`` is cond(X) of the conditioned ensembles, ``spread`` the decades of singular values of each A_k of
    ``"unbalanced"``.

    Returns
    -------
    ndarray, shape ``batch + (N, d, d)``, float64 or complex128.
    """
    batch = tuple(batch)
    if ensemble == "near_identity":
        return np.eye(d) + 0.5 * random_matrix(rng, batch + (N, d, d), field) / np.sqrt(d)
    if ensemble == "gaussian":
        return random_matrix(rng, batch + (N, d, d), field) / np.sqrt(d)
    if ensemble not in ("conditioned", "conditioned_gaussian", "unbalanced"):
        raise DLNError(f"ensemble: expected one of {ENSEMBLES}, got {ensemble!r}")
    cz = field == "complex"
    U = haar_unitary(rng, batch, d, cz)
    V = haar_unitary(rng, batch, d, cz)
    sigma = np.logspace(0.0, -np.log10(cond), d)
    X = (U * sigma) @ H(V)
    if ensemble == "unbalanced":
        Q = haar_unitary(rng, batch + (N - 1,), d, cz)
        R = haar_unitary(rng, batch + (N - 1,), d, cz)
        A = (Q * np.logspace(-spread / 2, spread / 2, d)) @ R
        return act(A, center(X, N))
    Z = random_matrix(rng, batch + (N - 1, d, d), field) / np.sqrt(d)
    A = np.eye(d) + 0.5 * Z if ensemble == "conditioned" else Z
    return act(A, center(X, N))
