"""Experiment families: plain functions of parameters that return xarray Datasets.

Each family module ``dln.experiments.<family>`` exposes ``simulate(params) -> xarray.Dataset`` for one
job (one point of a parameter sweep), ``aggregate(datasets) -> xarray.Dataset`` combining the jobs of a
sweep, ``DEFAULT_PARAMS``, ``SWEEP_KEYS`` (the parameters ``aggregate`` combines along), ``LEDGER`` (the
small sweep ``dln check`` runs in memory) and ``FIGURES`` (the book's figures drawn from its dataset).
All datasets follow :mod:`dln.experiments._conventions`. A family's name is also the name of its
workflow rule, its dataset ``results/<family>.nc`` and its book page ``book/<family>.md``.
"""

from __future__ import annotations

import importlib
import itertools

from ._conventions import DIMENSIONS, REFERENCES, finalize, read_netcdf, write_netcdf

__all__ = [
    "DIMENSIONS",
    "REFERENCES",
    "FAMILIES",
    "finalize",
    "read_netcdf",
    "write_netcdf",
    "family_module",
    "sweep_jobs",
    "run_sweep",
]

#: Every experiment family, in the order of the book.
FAMILIES: tuple[str, ...] = (
    "fibers",
    "lm_figures",
    "regularizing_flow",
    "kirwan_ness",
    "schatten",
    "learning_flow",
    "fast_slow",
    "langevin",
    "posterior",
    "entropy",
    "free_energy",
)


def family_module(family: str):
    """The module ``dln.experiments.<family>`` (a :class:`KeyError` naming the known families otherwise)."""
    if family not in FAMILIES:
        raise KeyError(f"family {family!r} is not an experiment family; known: {', '.join(FAMILIES)}")
    return importlib.import_module(f"{__name__}.{family}")


def sweep_jobs(family: str, sweep: dict | None = None) -> list[dict]:
    """The parameter dicts of a sweep ``{"sweep": {key: [values]}, "fixed": {key: value}}`` (default: ``LEDGER``).

    Every job is ``DEFAULT_PARAMS`` updated by ``fixed`` and one point of the cartesian product of ``sweep``.
    """
    mod = family_module(family)
    spec = mod.LEDGER if sweep is None else sweep
    keys = list(spec.get("sweep", {}))
    base = {**mod.DEFAULT_PARAMS, **spec.get("fixed", {})}
    return [
        {**base, **dict(zip(keys, combo, strict=True))}
        for combo in itertools.product(*(spec["sweep"][k] for k in keys))
    ]


def run_sweep(family: str, sweep: dict | None = None):
    """Simulate every job of a sweep in memory and aggregate them (default: the family's ``LEDGER`` sweep)."""
    mod = family_module(family)
    return mod.aggregate([mod.simulate(p) for p in sweep_jobs(family, sweep)])
