"""Small helpers shared by the claims' measurements (reductions of a dataset variable with its definition)."""

from __future__ import annotations

import numpy as np

from ._claims import Evidence

#: Dimensions reported as the coverage of a claim's evidence.
COVERAGE_DIMS = ("field", "d", "N", "seed", "p", "kappa", "beta", "loss", "start", "objective", "restart", "point")


def values(ds, name: str) -> np.ndarray:
    """The values of ``ds[name]`` as a float array (a missing variable is a KeyError naming it)."""
    if name not in ds.variables:
        raise KeyError(f"dataset variable {name!r} is missing (the dataset was made by other code; rerun its rule)")
    return np.asarray(ds[name].values, dtype=float)


def worst(ds, name: str) -> float:
    """max |value| over every dimension (NaN if any value is NaN)."""
    v = np.abs(values(ds, name))
    return float(np.max(v)) if v.size else float("nan")


def smallest(ds, name: str) -> float:
    """min value over every dimension (NaN if any value is NaN)."""
    v = values(ds, name)
    return float(np.min(v)) if not np.isnan(v).any() else float("nan")


def deviation(ds, name: str, target: float) -> float:
    """max |value - target| over every dimension."""
    return float(np.max(np.abs(values(ds, name) - target)))


def definition(ds, name: str) -> str:
    return str(ds[name].attrs.get("long_name", name))


def require_max(ev: Evidence, ds, name: str, tolerance: str, prefix: str = "max over the dataset of ") -> bool:
    """Enforce max |ds[name]| <= TOL[tolerance], with the variable's long name as the definition."""
    return ev.require(name, worst(ds, name), tolerance, prefix + definition(ds, name))


def require_dev(ev: Evidence, ds, name: str, target: float, tolerance: str) -> bool:
    """Enforce max |ds[name] - target| <= TOL[tolerance]; the reported value is the deviation."""
    return ev.require(
        f"{name}_deviation",
        deviation(ds, name, target),
        tolerance,
        f"max over the dataset of |{definition(ds, name)} - ({target:g})|",
    )


def implementations(ev: Evidence, ds, *functions: str, tolerance: str = "identity") -> None:
    """Enforce ``err_<function>`` (the library against the printed formula) for each named function."""
    for f in functions:
        require_max(ev, ds, f"err_{f}", tolerance)


def cover(ev: Evidence, ds) -> None:
    """Record the values of the usual sweep dimensions present in ``ds``."""
    ev.cover(ds, *COVERAGE_DIMS)
