"""Experiment families: plain functions of parameters that return xarray Datasets.

Each family module ``dln.experiments.<family>`` exposes
``simulate(params: dict) -> xarray.Dataset`` for one job (one point of the
parameter sweep) and, where useful, ``aggregate(datasets) -> xarray.Dataset``.
All datasets follow :mod:`dln.experiments._conventions`.
"""

from ._conventions import DIMENSIONS, REFERENCES, finalize, read_netcdf, write_netcdf

__all__ = ["DIMENSIONS", "REFERENCES", "finalize", "read_netcdf", "write_netcdf"]
