"""Dataset conventions shared by every experiment (CF-1.11, ACDD-1.3).

Every dataset produced by :mod:`dln.experiments` goes through :func:`finalize`,
which checks that each variable has ``long_name`` and ``units``, sets the
global attributes (title, summary, source = dln version and git commit,
history = the command, date_created, references, the resolved config as one
JSON string) and compression encodings; :func:`write_netcdf` writes atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from .._errors import DLNError

__all__ = [
    "DIMENSIONS",
    "REFERENCES",
    "finalize",
    "write_netcdf",
    "read_netcdf",
    "git_commit",
    "check_finite_dataset",
]

#: Documented dimensions and coordinates: name -> (long_name, units).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "t": ("time (dimensionless flow time)", "1"),
    "seed": ("random seed index", "1"),
    "N": ("number of layers", "1"),
    "d": ("layer width", "1"),
    "field": ("scalar field of the matrices (real or complex)", "1"),
    "p": ("Schatten exponent", "1"),
    "kappa": ("regularization strength kappa", "1"),
    "beta": ("inverse temperature beta", "1"),
    "restart": ("optimizer restart index", "1"),
    "dt": ("integrator step size", "1"),
    "sample": ("Monte Carlo sample index", "1"),
    "i": ("singular value index", "1"),
    "start": ("initial condition index", "1"),
}

REFERENCES = {
    "LM": "arXiv:2511.01137 (Lindsey and Menon, Regularization implies balancedness in the deep linear network)",
    "MY": "arXiv:2509.09088 (Menon and Yu, An entropy formula for the deep linear network)",
    "CKM": "arXiv:2512.06137 (Chen, Kotwal and Menon, Entropic regularization in the deep linear network)",
}


def git_commit() -> str:
    """The git commit of the working tree (with '-dirty' if modified), or 'unknown'."""
    root = Path(__file__).resolve().parents[3]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "src", "workflow"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except Exception:
        return "unknown"


def check_finite_dataset(ds: xr.Dataset, context: str) -> None:
    """Raise :class:`DLNError` naming ``context`` if a numeric variable has NaN/Inf."""
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "fc" and not np.all(np.isfinite(var.values)):
            raise DLNError(f"{context}: variable {name!r} contains NaN or Inf (divergence or invalid parameters)")


def finalize(
    ds: xr.Dataset,
    *,
    title: str,
    summary: str,
    references: list[str],
    config: dict | None = None,
    history: str | None = None,
    context: str = "dataset",
) -> xr.Dataset:
    """Attach the shared global attributes and validate per-variable metadata.

    Parameters
    ----------
    ds : xarray.Dataset
        Every data variable and coordinate must carry ``long_name`` and ``units``
        (coordinates listed in :data:`DIMENSIONS` get them automatically).
    title, summary : str
    references : list of str
        Keys of :data:`REFERENCES` (``"LM"``, ``"MY"``, ``"CKM"``) or free text.
    config : dict, optional
        Resolved configuration, stored as one JSON string in ``config``.
    history : str, optional
        The command that produced the data (default: ``sys.argv``).
    context : str
        Named in error messages (rule name and parameters).
    """
    from .. import __version__

    check_finite_dataset(ds, context)
    ds = ds.copy()
    for name in list(ds.coords):
        if name in DIMENSIONS:
            ln, un = DIMENSIONS[name]
            ds[name].attrs.setdefault("long_name", ln)
            ds[name].attrs.setdefault("units", un)
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        if "long_name" not in var.attrs or "units" not in var.attrs:
            raise DLNError(f"{context}: variable {name!r} lacks long_name or units")
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    refs = [REFERENCES.get(r, r) for r in references]
    ds.attrs.update(
        {
            "Conventions": "CF-1.11, ACDD-1.3",
            "title": title,
            "summary": summary,
            "source": f"dln {__version__} (git commit {git_commit()})",
            "history": f"{now}: {history if history is not None else ' '.join(sys.argv)}",
            "date_created": now,
            "references": "; ".join(refs),
            "institution": "dln project",
            "config": json.dumps(config if config is not None else {}, sort_keys=True, default=str),
        }
    )
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "fiuc":
            var.encoding.update({"zlib": True, "complevel": 4})
    return ds


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` atomically: a temporary file in the same folder, then rename.

    Complex variables are stored as separate real and imaginary parts
    (netCDF has no complex type); :func:`read_netcdf` reassembles them.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = _split_complex(ds)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _split_complex(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    for name in list(ds.data_vars):
        var = ds[name]
        if var.dtype.kind == "c":
            for part, fn in (("real", np.real), ("imag", np.imag)):
                attrs = dict(var.attrs)
                attrs["long_name"] = f"{attrs.get('long_name', name)} ({part} part)"
                attrs["dln_complex_part"] = part
                out[f"{name}_{part}"] = xr.DataArray(fn(var.values), dims=var.dims, attrs=attrs)
                out[f"{name}_{part}"].encoding.update({"zlib": True, "complevel": 4})
            out = out.drop_vars(name)
    return out


def read_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Open a dataset written by :func:`write_netcdf` (loaded into memory), with a clear error if unreadable."""
    path = Path(path)
    if not path.exists():
        raise DLNError(f"input file {str(path)!r} does not exist; rerun the rule that produces it")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
    except Exception as exc:
        raise DLNError(f"input file {str(path)!r} is not a readable netCDF dataset ({exc})") from exc
    for name in list(ds.data_vars):
        if name.endswith("_real") and ds[name].attrs.get("dln_complex_part") == "real":
            base = name[: -len("_real")]
            imag = ds[base + "_imag"]
            attrs = dict(ds[name].attrs)
            attrs.pop("dln_complex_part")
            attrs["long_name"] = attrs["long_name"].removesuffix(" (real part)")
            ds[base] = xr.DataArray(ds[name].values + 1j * imag.values, dims=ds[name].dims, attrs=attrs)
            ds = ds.drop_vars([name, base + "_imag"])
    return ds
