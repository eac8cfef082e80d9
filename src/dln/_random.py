"""Reproducible random inputs: seeds derived from parameters, Gaussian layers, Haar unitaries."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ._errors import as_bool, as_choice, as_int, as_real, as_rng, as_shape, check_result

__all__ = ["rng_from_params", "random_layers", "haar_unitary", "random_matrix"]


def rng_from_params(**params) -> np.random.Generator:
    """A Generator whose seed is derived from the parameters by SeedSequence.

    The parameters are serialized as sorted JSON, hashed with SHA-256, and the
    digest words become the SeedSequence entropy, so equal parameters give
    equal streams on every machine and in every process.
    """
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(blob).digest()
    entropy = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def random_matrix(rng: np.random.Generator, shape: tuple, field: str = "real") -> np.ndarray:
    """iid standard Gaussian entries; complex entries are (Z1 + i Z2)/sqrt(2)."""
    rng = as_rng(rng)
    shape = as_shape(shape, "shape")
    field = as_choice(field, "field", ("real", "complex"))
    if field == "real":
        return rng.standard_normal(shape)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)


def random_layers(
    rng: np.random.Generator, N: int, d: int, field: str = "real", batch: tuple = (), scale: float = 1.0
) -> np.ndarray:
    """Gaussian layers of shape ``batch + (N, d, d)`` with entries of variance ``scale**2``."""
    rng = as_rng(rng)
    N = as_int(N, "N", low=2)
    d = as_int(d, "d", low=1)
    batch = as_shape(batch, "batch")
    scale = as_real(scale, "scale")
    as_shape(batch + (N, d, d), "N, d, batch")
    return check_result(scale * random_matrix(rng, batch + (N, d, d), field), "scale", scale)


def haar_unitary(rng: np.random.Generator, batch: tuple, d: int, complex_: bool = False) -> np.ndarray:
    """Haar-distributed orthogonal (or unitary) matrices of shape ``batch + (d, d)``."""
    rng = as_rng(rng)
    batch = as_shape(batch, "batch")
    d = as_int(d, "d", low=1)
    complex_ = as_bool(complex_, "complex_")
    as_shape(batch + (d, d), "batch, d")
    Z = random_matrix(rng, batch + (d, d), "complex" if complex_ else "real")
    Q, R = np.linalg.qr(Z)
    diag = np.diagonal(R, axis1=-2, axis2=-1)
    phase = diag / np.abs(diag)
    return Q * phase[..., None, :]
