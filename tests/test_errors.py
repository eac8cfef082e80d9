"""Bad input raises a DLNError (a ValueError) that names the argument."""

from __future__ import annotations

import numpy as np
import pytest

import dln

GOOD = np.random.default_rng(0).standard_normal((4, 3, 3))


@pytest.mark.parametrize(
    "fn",
    [dln.end_to_end, dln.moments, dln.fiber_gradient, dln.kirwan_ness_field, dln.fiber_coordinates],
)
@pytest.mark.parametrize(
    "bad,match",
    [
        (np.ones((3, 3)), "W: expected shape"),
        (np.ones((4, 3, 2)), "W: layers must be square"),
        (np.ones((1, 3, 3)), "W: need N >= 2"),
        (np.full((4, 3, 3), np.nan), "W: contains 36 NaN or Inf"),
        (np.array([[["a"]]]), "W: expected a real or complex numeric array"),
    ],
)
def test_bad_layers(fn, bad, match):
    with pytest.raises(dln.DLNError, match=match) as info:
        fn(bad)
    assert isinstance(info.value, ValueError)


def test_inf_entry_named():
    W = GOOD.copy()
    W[1, 0, 0] = np.inf
    with pytest.raises(dln.NonFiniteError, match="W: contains 1 NaN or Inf"):
        dln.moments(W)


@pytest.mark.parametrize("method", ["pcg", "dense", "block", "normal"])
def test_rank_deficient_X_is_detected(method):
    W = GOOD.copy()
    W[2] = np.outer([1.0, 2.0, 3.0], [1.0, 0.0, 1.0])  # rank one layer => X rank deficient
    with pytest.raises(dln.RankDeficientError, match="rank deficient"):
        dln.fiber_gradient(W, method=method)


def test_near_singular_X_is_detected():
    W = GOOD.copy()
    U, s, Vh = np.linalg.svd(W[0])
    W[0] = (U * np.array([1.0, 1.0, 1e-17])) @ Vh
    with pytest.raises(dln.RankDeficientError, match="X = end_to_end"):
        dln.fiber_gradient(W)


def test_center_errors():
    with pytest.raises(dln.ShapeError, match="N: the network needs N >= 2"):
        dln.center(np.eye(3), 1)
    with pytest.raises(dln.DLNError, match="N: expected an integer"):
        dln.center(np.eye(3), 2.5)
    with pytest.raises(dln.ShapeError, match="X: expected square"):
        dln.center(np.ones((3, 2)), 3)
    with pytest.raises(dln.RankDeficientError, match="X: rank deficient"):
        dln.center(np.zeros((3, 3)), 3)


def test_act_errors():
    A = np.broadcast_to(np.eye(3), (3, 3, 3)).copy()
    with pytest.raises(dln.ShapeError, match=r"A: expected shape \(\.\.\., 3, 3, 3\)"):
        dln.act(A[:2], GOOD)
    A[1] = 0.0
    with pytest.raises(dln.RankDeficientError, match="A: group elements"):
        dln.act(A, GOOD)


def test_unknown_method():
    with pytest.raises(dln.DLNError, match="method: expected one of"):
        dln.fiber_gradient(GOOD, method="magic")


def test_algebra_shape_errors():
    with pytest.raises(dln.ShapeError, match="a: expected shape"):
        dln.orbit_tangent(GOOD, np.zeros((4, 3, 3)))
    with pytest.raises(dln.ShapeError, match="Y: expected d = 3"):
        dln.dphi_adjoint(GOOD, np.zeros((2, 2)))


def test_overflow_names_the_layers():
    with pytest.raises(dln.NonFiniteError, match=r"^W: the result overflows .* magnitude"):
        dln.end_to_end(GOOD * 1e200)
    with pytest.raises(dln.NonFiniteError, match="^W: the result overflows"):
        dln.moments(GOOD * 1e200)


@pytest.mark.parametrize("d", [3, 40])  # the direct solve and the normal-space iteration of method "auto"
def test_fiber_gradient_overflow_names_the_layers(d):
    W = 1e120 * (np.eye(d) + 0.1 * np.random.default_rng(d).standard_normal((3, d, d)))
    with pytest.raises(dln.NonFiniteError, match=r"^W: the result overflows .* magnitude"):
        dln.fiber_gradient(W)


def test_batch_mismatch_is_named():
    W = np.broadcast_to(GOOD, (2, 4, 3, 3))
    with pytest.raises(dln.ShapeError, match=r"^V: batch shape \(3,\) does not broadcast"):
        dln.dphi(W, np.zeros((3, 4, 3, 3)))
    with pytest.raises(dln.ShapeError, match=r"^P: batch shape \(3,\)"):
        dln.A_operator(np.broadcast_to(np.eye(3), (2, 3, 3)), np.zeros((3, 3, 3)), 3)


def test_scalar_and_option_validators():
    from dln import _errors as e

    assert e.as_choice("real", "field", ("real", "complex")) == "real"
    with pytest.raises(dln.DLNError, match="^field: expected one of"):
        e.as_choice(["real"], "field", ("real", "complex"))
    with pytest.raises(dln.DLNError, match="^constant: expected True or False"):
        e.as_bool(1, "constant")
    assert e.as_callable(None, "progress", optional=True) is None
    with pytest.raises(dln.DLNError, match="^progress: expected a callable"):
        e.as_callable("p", "progress")
    with pytest.raises(dln.DLNError, match="^stats: expected a dict"):
        e.as_dict([], "stats")
    assert e.as_shape(3, "shape") == (3,)
    assert e.as_shape([2, np.int64(3)], "shape") == (2, 3)
    with pytest.raises(dln.DLNError, match="^shape: the result would have"):
        e.as_shape((10**6, 10**6), "shape")
    with pytest.raises(dln.DLNError, match="^shape: expected an integer >= 0"):
        e.as_shape((2, -1), "shape")
    with pytest.raises(dln.DLNError, match="^sigma: entries must be >= 0"):
        e.as_values([1.0, -1.0], "sigma", low=0.0)


def test_user_callable_errors_name_the_callable():
    from dln import _errors as e

    with pytest.raises(dln.DLNError, match=r"^grad_E: raised ZeroDivisionError"):
        e.call_checked(lambda x: 1 / 0, "grad_E", 1.0)
    with pytest.raises(dln.NonFiniteError, match="^grad_E: returned 1 NaN"):
        e.call_checked(lambda x: np.array([np.nan, 1.0]), "grad_E", 1.0)
    with pytest.raises(dln.ShapeError, match=r"^grad_E: must return shape \(2,\)"):
        e.call_checked(lambda x: np.ones(3), "grad_E", 1.0, shape=(2,))


def test_integration_options():
    from dln import _errors as e

    t = np.array([0.0, 1.0])
    e.check_integration(t, 1e-8, 0.0, None, None, None)
    with pytest.raises(dln.DLNError, match="^rtol: expected a number > 0"):
        e.check_integration(t, 0.0, 0.0, None, None, None)
    with pytest.raises(dln.DLNError, match="^dt: .* fixed steps"):
        e.check_integration(t, 1e-8, 0.0, 1e-320, None, None)
    with pytest.raises(dln.DLNError, match="^t: the final time"):
        e.check_integration(np.array([0.0, 1e308]), 1e-8, 0.0, None, None, None)
    with pytest.raises(dln.DLNError, match="^method: expected the name"):
        e.check_integration(t, 1e-8, 0.0, None, None, None, method=None)
