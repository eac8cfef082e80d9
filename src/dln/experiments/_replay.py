"""Replaying a stochastic integrator's noise through the printed equation (reference route for samplers).

:class:`RecordingGenerator` wraps a :class:`numpy.random.Generator` and keeps a copy of every array of
standard normals it fills, so that the Euler-Maruyama recursion of LM eq. (4.4) can be evaluated again, term
by term with :mod:`dln._reference`, on the same Brownian increments. A stochastic function that returns
something else than the recursion gives (a wrong drift, a lost factor, a transposed layer) then differs
from the replay at round-off level instead of hiding inside Monte Carlo error.
"""

from __future__ import annotations

import numpy as np

from .. import _reference as ref

__all__ = ["RecordingGenerator", "replay_langevin", "replay_ladder"]


class RecordingGenerator:
    """A Generator that records the standard normals it draws into ``out=`` arrays (other calls pass through)."""

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self.normals: list[np.ndarray] = []

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        res = self._rng.standard_normal(size=size, dtype=dtype, out=out)
        self.normals.append(np.array(res if out is None else out, copy=True))
        return res

    def __getattr__(self, name):
        return getattr(self._rng, name)


def _increments(raw: np.ndarray, shape: tuple, cplx: bool, scale: float) -> np.ndarray:
    """A recorded normal array, in the integrator's path-last layout (N, d, d, M), as increments (M, N, d, d)."""
    arr = raw.view(np.complex128) if cplx else raw
    return scale * np.moveaxis(arr.reshape(shape[1:] + (shape[0],)), -1, 0)


def _drift(W: np.ndarray, grad, kappa: float) -> np.ndarray:
    """-(dphi^*(grad E(X)) + kappa W) for one point, from the product rule (reference route)."""
    out = -kappa * W
    if grad is not None:
        out = out - ref.dphi_adjoint(W, np.asarray(grad(ref.product(W))))
    return out


def replay_langevin(W0: np.ndarray, grad, kappa: float, beta: float, dt: float, normals: list, n_paths: int):
    """W_{n+1} = W_n + dt drift(W_n) + sqrt(2/beta) sqrt(dt) xi_n per path, with the recorded xi_n.

    The recorded increments xi_n have shape (M, N, d, d).
    """
    cplx = np.iscomplexobj(W0)
    W = np.broadcast_to(W0, (n_paths,) + W0.shape).copy()
    sig = np.sqrt(2.0 / beta)
    for raw in normals:
        dB = _increments(raw, W.shape, cplx, np.sqrt(dt))
        W = np.array([Wm + dt * _drift(Wm, grad, kappa) + sig * dBm for Wm, dBm in zip(W, dB, strict=True)])
    return W


def replay_ladder(W0, grad, kappa, beta, T, n_fine, ratios, normals, n_paths):
    """The levels of :func:`dln.langevin_em_ladder` from the recorded fine increments: level r steps r h with the
    sum of r consecutive increments."""
    cplx = np.iscomplexobj(W0)
    h = T / n_fine
    sig = np.sqrt(2.0 / beta)
    shape = (n_paths,) + W0.shape
    dBs = [_increments(raw, shape, cplx, np.sqrt(h)) for raw in normals]
    out = []
    for r in ratios:
        W = np.broadcast_to(W0, shape).copy()
        for j in range(0, n_fine, r):
            dB = sum(dBs[j : j + r])
            W = np.array([Wm + r * h * _drift(Wm, grad, kappa) + sig * dBm for Wm, dBm in zip(W, dB, strict=True)])
        out.append(W)
    return np.array(out)
