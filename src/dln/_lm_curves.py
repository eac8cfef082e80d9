"""Curves of the LM figures computed for a whole batch at once.

:func:`regularizing_moment_decay` gives |G(t)| along the regularizing flow for a batch of
starts in one integration, with every H(b) = G solved for the whole batch by one call of
:func:`dln._flow_generator.generator_dense` (no least-squares solve per item and stage).
"""

from __future__ import annotations

import numpy as np

from ._errors import as_layers
from ._flows import regularizing_flow
from ._product import _moments

__all__ = ["regularizing_moment_decay"]


def regularizing_moment_decay(W0, t, rtol: float = 1e-10) -> np.ndarray:
    """Frobenius norm |G(t)| of the moments along the regularizing flow, for every start of a batch.

    Parameters
    ----------
    W0 : array_like, shape (..., N, d, d)
        Starts with full-rank X (a batch along the leading axes).
    t : array_like, shape (n_t,)
        Output times, t[0] = 0, strictly increasing.
    rtol : float
        Local relative tolerance of :func:`dln.regularizing_flow`.

    Returns
    -------
    ndarray of float64, shape (n_t, ...)
        sqrt(sum_k |G_k(t)|_F^2) for each start; along the exact flow G(t) = G_0 e^{-2t}.
    """
    W0 = as_layers(W0, "W0")
    Wt = regularizing_flow(W0, t, rtol=rtol, solver="auto")
    G = _moments(Wt)
    return np.sqrt(np.sum(np.abs(G) ** 2, axis=(-3, -2, -1)))
