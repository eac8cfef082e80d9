"""Dataset conventions shared by every experiment (CF-1.11, ACDD-1.3).

Every dataset produced by :mod:`dln.experiments` goes through :func:`finalize`,
which checks that each variable has ``long_name`` and ``units``, sets the
global attributes (title, summary, source = dln version and git commit,
history = the command, date_created, references, the resolved config as one
JSON string) and compression encodings; :func:`write_netcdf` writes atomically.
"""

from __future__ import annotations

import datetime as _dt
import importlib
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
    "CONVENTIONS",
    "DIMENSIONS",
    "REFERENCES",
    "finalize",
    "finalize_job",
    "drawing_toolkit",
    "write_netcdf",
    "verify_checksum",
    "read_netcdf",
    "git_commit",
    "check_finite_dataset",
    "check_metadata",
    "restamp",
    "flow_progress",
    "data_array",
    "combine_jobs",
    "flag_variable",
]

#: The ``Conventions`` global attribute of every dataset. The CF checker available
#: on PyPI (cfchecker 4.1) knows CF versions up to 1.8 only; the datasets use no
#: feature newer than CF-1.8, and the tests run that checker (see tests/test_cf.py).
CONVENTIONS = "CF-1.11, ACDD-1.3"

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
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        if var.dtype.kind in "fc" and not np.all(np.isfinite(var.values)):
            raise DLNError(f"{context}: variable {name!r} contains NaN or Inf (divergence or invalid parameters)")


def check_metadata(ds: xr.Dataset, context: str = "dataset") -> None:
    """Raise :class:`DLNError` naming ``context`` unless the dataset follows the conventions.

    Checks: every data variable and coordinate has ``long_name`` and ``units``;
    the global attributes of :func:`finalize` are present; ``config`` is valid JSON;
    no numeric variable holds NaN or Inf.
    """
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        if "long_name" not in var.attrs or "units" not in var.attrs:
            raise DLNError(f"{context}: variable {name!r} lacks long_name or units")
    missing = [a for a in GLOBAL_ATTRIBUTES if a not in ds.attrs]
    if missing:
        raise DLNError(f"{context}: global attributes {missing} are missing (the dataset did not go through finalize)")
    try:
        json.loads(ds.attrs["config"])
    except (TypeError, ValueError) as exc:
        raise DLNError(f"{context}: global attribute 'config' is not a JSON string ({exc})") from exc
    check_finite_dataset(ds, context)


#: Global attributes set by :func:`finalize` (ACDD-1.3 names where one exists).
GLOBAL_ATTRIBUTES = (
    "Conventions",
    "title",
    "summary",
    "source",
    "history",
    "date_created",
    "references",
    "institution",
    "license",
    "product_version",
    "config",
)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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

    Returns
    -------
    xarray.Dataset
        A copy with the global attributes ``Conventions`` (:data:`CONVENTIONS`),
        ``title``, ``summary``, ``source`` (dln version and git commit), ``history``,
        ``date_created``, ``references``, ``institution``, ``license``,
        ``product_version`` and ``config``, and zlib compression on numeric variables.

    Raises
    ------
    DLNError
        If a variable holds NaN/Inf or lacks ``long_name``/``units``; the message
        starts with ``context``.
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
    now = _now()
    refs = [REFERENCES.get(r, r) for r in references]
    ds.attrs.update(
        {
            "Conventions": CONVENTIONS,
            "title": title,
            "summary": summary,
            "source": f"dln {__version__} (git commit {git_commit()})",
            "history": f"{now}: {history if history is not None else ' '.join(sys.argv)}",
            "date_created": now,
            "references": "; ".join(refs),
            "institution": "dln project",
            "license": "MIT",
            "product_version": __version__,
            "config": json.dumps(config if config is not None else {}, sort_keys=True, default=str),
        }
    )
    for _name, var in ds.data_vars.items():
        if var.dtype.kind in "fiuc":
            var.encoding.update({"zlib": True, "complevel": 4})
    return ds


def finalize_job(ds: xr.Dataset, params: dict, module: str, *, title: str, summary: str) -> xr.Dataset:
    """:func:`finalize` for one job of a family: the references are the family module's ``REFERENCES``, the
    config the job's resolved parameters, and an error names ``rule <family> params <params>``.

    Parameters
    ----------
    ds : xarray.Dataset
        The job's data.
    params : dict
        The job's resolved parameters (``SPEC.resolve``).
    module : str
        The family module's ``__name__`` (``dln.experiments.<family>``).
    title, summary : str
        The job dataset's ACDD title and summary.
    """
    family = module.rsplit(".", 1)[-1]
    return finalize(
        ds,
        title=title,
        summary=summary,
        references=list(sys.modules[module].REFERENCES),
        config=params,
        context=f"rule {family} params {params}",
    )


def drawing_toolkit():
    """The drawing toolkit :mod:`dln.plotting` (it imports Matplotlib), for the figure functions of the families.

    A family's drawing functions call it when they draw, so a simulation job never imports Matplotlib. The toolkit
    is imported by name, so it is not part of a family's code version (:mod:`dln._sources` follows static imports):
    editing it redraws the book's figures (the book's assets hash it through :mod:`dln.figures`) and reruns no
    simulation.
    """
    return importlib.import_module("dln.plotting")


def restamp(ds: xr.Dataset, *, config: dict | None = None, history: str | None = None) -> xr.Dataset:
    """Return a copy of a finalized dataset with new provenance attributes.

    Used by the workflow after ``simulate``/``aggregate``: ``history`` becomes the
    workflow command and step (it replaces the history that ``finalize`` wrote inside the
    job, which only names a temporary script), ``config`` the resolved configuration,
    ``date_created`` and ``source`` are renewed.
    """
    from .. import __version__

    ds = ds.copy()
    now = _now()
    if history is not None:
        ds.attrs["history"] = f"{now}: {history}"
    if config is not None:
        ds.attrs["config"] = json.dumps(config, sort_keys=True, default=str)
    ds.attrs["date_created"] = now
    ds.attrs["source"] = f"dln {__version__} (git commit {git_commit()})"
    ds.attrs["Conventions"] = CONVENTIONS
    return ds


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike, checksum: bool = False) -> Path:
    """Write ``ds`` to ``path`` atomically: a temporary file in the same folder, then rename.

    netCDF has no complex or string-coordinate type that every CF tool reads, so:
    complex variables are stored as separate real and imaginary parts (``<name>_real``,
    ``<name>_imag``); a string-valued dimension coordinate (e.g. ``field`` =
    ``["real", "complex"]``) is stored as integer codes ``0..n-1`` with the CF
    ``flag_values``/``flag_meanings`` attributes; other string variables as char arrays.
    :func:`read_netcdf` undoes all three. A crash or kill during the write leaves
    at most a ``<name>.*.tmp`` file (never a half-written ``path``). The file's permissions follow the umask
    (0644 under the usual 022), as for any file the user creates. With ``checksum``, the SHA-256 of the data as
    written is stored in the global attribute ``data_sha256`` (:func:`verify_checksum` checks it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = _clean_encoding(_encode_strings(_split_complex(ds)))
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4")
        if checksum:
            _stamp_checksum(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private (0600); the output follows the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


#: Global attribute holding the SHA-256 of a file's data as written (:func:`dln.repro.hash_dataset`).
CHECKSUM_ATTR = "data_sha256"


def _stamp_checksum(path) -> None:
    import netCDF4

    from ..repro import hash_dataset

    digest = hash_dataset(path)  # of the variables only: setting the attribute below does not change it
    with netCDF4.Dataset(path, "a") as nc:
        nc.setncattr(CHECKSUM_ATTR, digest)


def verify_checksum(path: str | os.PathLike, rule: str = "") -> bool:
    """Check a file's data against the checksum written with them (``data_sha256``).

    Returns False for a file without a checksum; raises :class:`DLNError` naming the file (and ``rule``, the
    rule that writes it) if the file is unreadable or its data differ from the checksum: it was damaged or
    changed after it was written."""
    import netCDF4

    from ..repro import hash_dataset

    path = Path(path)
    again = f"; delete it and rerun the rule {rule!r} that writes it" if rule else "; delete it and rerun its rule"
    try:
        with netCDF4.Dataset(path) as nc:
            want = nc.getncattr(CHECKSUM_ATTR) if CHECKSUM_ATTR in nc.ncattrs() else None
        if want is None:
            return False
        got = hash_dataset(path)
    except OSError as exc:
        raise DLNError(f"input file {str(path)!r} is not a readable netCDF dataset ({exc}){again}") from exc
    if got != want:
        raise DLNError(
            f"input file {str(path)!r}: its data do not match the checksum written with them ({CHECKSUM_ATTR}); "
            f"the file was damaged or changed after it was written{again}"
        )
    return True


def _umask() -> int:
    """The process's umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Encoding keys kept when writing; others (chunk sizes, shapes, source file names inherited from a
#: file read earlier and then concatenated) can be invalid for the new shapes.
_ENCODING_KEYS = ("zlib", "complevel", "dtype", "_FillValue", "units", "calendar")


def _clean_encoding(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    for name in ds.variables:
        var = ds[name] if name in ds.data_vars else ds.coords[name]
        enc = {k: v for k, v in var.encoding.items() if k in _ENCODING_KEYS}
        if name in ds.data_vars and var.dtype.kind in "fiu":
            enc.update({"zlib": True, "complevel": 4})
        var.encoding = enc
    return ds


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


def _encode_strings(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    for name in list(ds.variables):
        var = ds[name]
        if var.dtype.kind not in "OUS":
            continue
        values = [str(v) for v in var.values.ravel()]
        if name in ds.dims and var.dims == (name,):
            if any(not v or any(c.isspace() for c in v) for v in values) or len(set(values)) != len(values):
                raise DLNError(
                    f"coordinate {name!r}: string coordinate values must be distinct words without blanks, got {values}"
                )
            attrs = dict(var.attrs)
            attrs["flag_values"] = np.arange(len(values), dtype=np.int32)
            attrs["flag_meanings"] = " ".join(values)
            attrs["dln_string_coordinate"] = "flag_meanings"
            out = out.assign_coords({name: (name, np.arange(len(values), dtype=np.int32), attrs)})
        else:
            out[name] = var.copy(data=np.asarray(var.values, dtype=str))
            out[name].encoding = {"dtype": "S1"}
    return out


def _decode_strings(ds: xr.Dataset) -> xr.Dataset:
    for name in list(ds.coords):
        var = ds[name]
        if var.attrs.get("dln_string_coordinate") == "flag_meanings":
            attrs = dict(var.attrs)
            meanings = np.array(str(attrs.pop("flag_meanings")).split(), dtype=object)
            attrs.pop("flag_values", None)
            attrs.pop("dln_string_coordinate")
            codes = np.asarray(var.values, dtype=np.int64)
            ds = ds.assign_coords({name: (var.dims, meanings[codes], attrs)})
    return ds


def read_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Open a dataset written by :func:`write_netcdf` (loaded into memory), with a clear error if unreadable.

    Raises
    ------
    DLNError
        If ``path`` does not exist or is not a readable netCDF file (the message
        names the file and says which rule to rerun).
    """
    path = Path(path)
    if not path.exists():
        raise DLNError(f"input file {str(path)!r} does not exist; rerun the rule that produces it")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
    except Exception as exc:
        raise DLNError(
            f"input file {str(path)!r} is not a readable netCDF dataset ({exc}); delete it and rerun the rule "
            "that produces it"
        ) from exc
    for name in list(ds.data_vars):
        if name.endswith("_real") and ds[name].attrs.get("dln_complex_part") == "real":
            base = name[: -len("_real")]
            imag = ds[base + "_imag"]
            attrs = dict(ds[name].attrs)
            attrs.pop("dln_complex_part")
            attrs["long_name"] = attrs["long_name"].removesuffix(" (real part)")
            ds[base] = xr.DataArray(ds[name].values + 1j * imag.values, dims=ds[name].dims, attrs=attrs)
            ds = ds.drop_vars([name, base + "_imag"])
    return _decode_strings(ds)


def flow_progress(progress):
    """Adapt a workflow callback ``progress(fraction)`` to the flows' ``progress(t, T, n_steps)``.

    Returns None when ``progress`` is None, so flows skip the call entirely.
    """
    if progress is None:
        return None

    def callback(t, T, n_steps):
        progress(float(t) / float(T) if T else 1.0)

    return callback


def data_array(values, dims, long_name: str, units: str = "1") -> xr.DataArray:
    """A DataArray carrying the ``long_name`` and ``units`` every dataset variable needs."""
    return xr.DataArray(values, dims=dims, attrs={"long_name": long_name, "units": units})


def flag_variable(da: xr.DataArray, meanings: str) -> xr.DataArray:
    """A 0/1 status flag (int8) with the CF attributes ``flag_values`` [0, 1] and ``flag_meanings`` (two words,
    for 0 and 1); a variable it qualifies names it in its ``ancillary_variables``."""
    if len(meanings.split()) != 2:
        raise DLNError(f"flag_meanings: expected two words (for 0 and 1), got {meanings!r}")
    da = da.astype(np.int8)
    da.attrs.update(flag_values=np.array([0, 1], dtype=np.int8), flag_meanings=meanings)
    return da


def _check_complete_grid(parts: list, keys: tuple[str, ...]) -> None:
    """Raise :class:`DLNError` unless the points of ``parts`` (each with a coordinate for every key) are the whole
    Cartesian product of the values they take, each point once: a missing job would otherwise be padded like an
    undefined value."""
    import itertools

    if not keys:
        return
    seen: dict[tuple, int] = {}
    for part in parts:
        for point in itertools.product(*(part[k].values.tolist() for k in keys)):
            seen[point] = seen.get(point, 0) + 1
    twice = [pt for pt, n in seen.items() if n > 1]
    if twice:
        raise DLNError(
            "datasets: more than one job for "
            + "; ".join(", ".join(f"{k}={v}" for k, v in zip(keys, pt, strict=True)) for pt in twice[:5])
        )
    values = [sorted({pt[i] for pt in seen}, key=repr) for i in range(len(keys))]
    missing = [pt for pt in itertools.product(*values) if pt not in seen]
    if missing:
        raise DLNError(
            f"datasets: {len(missing)} of the {len(missing) + len(seen)} points of the sweep have no job: "
            + "; ".join(", ".join(f"{k}={v}" for k, v in zip(keys, pt, strict=True)) for pt in missing[:5])
            + (" ..." if len(missing) > 5 else "")
            + ". Run the missing jobs (or sweep over the values that were run)."
        )


def combine_jobs(datasets: list, keys: tuple[str, ...], defaults: dict) -> xr.Dataset:
    """Combine per-job datasets into one along the swept parameters ``keys`` (read from each job's ``config``).

    Every other parameter must be equal in all jobs (a :class:`DLNError` names those that differ).

    A key that is not already a dimension of a job becomes a new length-1 dimension with the job's value
    (``defaults`` when the job's config lacks it); the jobs are then combined by their coordinates. The
    global attributes are dropped (the caller finalizes the result).
    """
    if not datasets:
        raise DLNError("datasets: nothing to aggregate")
    configs = [json.loads(ds.attrs.get("config", "{}")) for ds in datasets]
    differ = {}
    for k in sorted(set().union(*configs) - set(keys)):
        vals = {json.dumps(c.get(k, defaults.get(k)), sort_keys=True) for c in configs}
        if len(vals) > 1:
            differ[k] = sorted(vals)
    if differ:
        raise DLNError(
            f"datasets: the jobs differ in parameters that are not swept ({', '.join(keys)}): "
            + "; ".join(f"{k} takes {', '.join(v)}" for k, v in differ.items())
            + ". Put such a parameter in the sweep, or give every job the same value."
        )
    parts = []
    for ds, cfg in zip(datasets, configs, strict=True):
        one = ds.copy()
        one.attrs = {}
        for k in keys:
            if k not in one.dims:
                one = one.expand_dims({k: [cfg.get(k, defaults[k])]})
        parts.append(one)
    _check_complete_grid(parts, keys)
    # merge, not concatenate: each job owns one point of the sweep; other dimensions (a mode index of size d)
    # are aligned by an outer join and padded with NaN
    out = xr.merge(parts, compat="no_conflicts", join="outer", combine_attrs="override")
    for name, var in datasets[0].variables.items():
        if name in out.variables:
            out[name].attrs.update(var.attrs)
    return out
