"""The workflow's ledger: every registered check, as ``results/ledger.json`` and ``results/ledger.nc``.

A Snakemake rule calls :func:`write_ledger` with the workflow's aggregated datasets
(``{"regularizing_flow": "results/regularizing_flow.nc", ...}``). Entries with a
``from_dataset`` hook are evaluated from those datasets; the others, and any entry
whose dataset is missing or unreadable, are computed directly (the row's
``data_source`` says which, and why). Expected catalogue IDs that have no entry are
written as ``fail`` rows, so a missing entry can never pass unnoticed.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import xarray as xr

from . import _registry
from ._registry import STATUSES, CheckResult, missing_ids, run_checks

__all__ = ["ROW_FIELDS", "ledger_rows", "ledger_dataset", "write_ledger", "summarize"]

#: The fields of a ledger row (JSON keys, netCDF variables along ``id``), in order.
ROW_FIELDS = (
    "id",
    "status",
    "statement",
    "source",
    "measures",
    "measured",
    "tolerance",
    "tolerance_name",
    "tolerance_reason",
    "values",
    "printed",
    "printed_statement",
    "params",
    "stochastic",
    "page",
    "data_source",
    "seconds",
    "error",
)

#: Stand-in for a missing number in the netCDF file (netCDF's default double fill value, the ``_FillValue``).
MISSING = 9.969209968386869e36


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        return x if math.isfinite(x) else None  # JSON has no NaN/Inf
    return x


def _missing_row(cid: str) -> dict:
    return {
        "id": cid,
        "status": "fail",
        "statement": "",
        "source": "THEOREMS.md",
        "measures": "",
        "measured": None,
        "tolerance": None,
        "tolerance_name": "",
        "tolerance_reason": "",
        "values": {},
        "printed": None,
        "printed_statement": "",
        "params": {},
        "stochastic": False,
        "page": "",
        "data_source": "none",
        "seconds": 0.0,
        "error": f"expected catalogue ID {cid} has no registered ledger entry",
    }


def ledger_rows(results: list[CheckResult], expected=None, registry=None) -> list[dict]:
    """Ledger rows (JSON-ready dicts with :data:`ROW_FIELDS`) from check results, plus ``fail`` rows for missing IDs."""
    expected = _registry.EXPECTED_IDS if expected is None else expected
    rows = []
    for r in results:
        d = r.to_dict()
        rows.append(_jsonable({k: d.get(k) for k in ROW_FIELDS}))
    for cid in missing_ids(registry, expected):
        if not any(row["id"] == cid for row in rows):
            rows.append(_missing_row(cid))
    order = {cid: i for i, cid in enumerate(expected)}
    rows.sort(key=lambda row: (order.get(row["id"], len(order)), 0))
    return rows


def summarize(rows: list[dict]) -> dict:
    """Counts per status, and the IDs that failed."""
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    return {"counts": counts, "failed": [r["id"] for r in rows if r["status"] == "fail"], "total": len(rows)}


def ledger_dataset(rows: list[dict], config: dict | None = None) -> xr.Dataset:
    """The ledger as an xarray Dataset along the dimension ``id`` (CF attributes via ``finalize``)."""
    from ..experiments._conventions import finalize

    n = len(rows)

    def text(key, long_name, fn=None):
        vals = [str(fn(r[key]) if fn else (r[key] if r[key] is not None else "")) for r in rows]
        return xr.DataArray(np.array(vals, dtype=object), dims=("id",), attrs={"long_name": long_name, "units": "1"})

    def number(key, long_name):
        vals = np.array([MISSING if r[key] is None else float(r[key]) for r in rows], dtype=np.float64)
        vals = np.where(np.isfinite(vals), vals, MISSING)
        da = xr.DataArray(vals, dims=("id",), attrs={"long_name": long_name, "units": "1"})
        da.encoding["_FillValue"] = MISSING  # CF: missing numbers (a check that crashed, no printed residual)
        return da

    codes = np.array([STATUSES.index(r["status"]) for r in rows], dtype=np.int8)
    ds = xr.Dataset(
        {
            "check_id": text("id", "ledger entry ID (THEOREMS.md catalogue)"),
            "status": text(
                "status", "ledger status: pass, erratum (printed statement fails, corrected passes) or fail"
            ),
            "status_flag": xr.DataArray(
                codes,
                dims=("id",),
                attrs={
                    "long_name": "ledger status as a flag",
                    "units": "1",
                    "flag_values": np.arange(len(STATUSES), dtype=np.int8),
                    "flag_meanings": " ".join(STATUSES),
                },
            ),
            "statement": text("statement", "the (corrected) statement in one line (LaTeX)"),
            "source": text("source", "paper and equation"),
            "measures": text("measures", "what the measured number is"),
            "measured": number("measured", "measured residual, relative error or number of standard errors"),
            "tolerance": number("tolerance", "tolerance the measured number is compared with"),
            "tolerance_name": text("tolerance_name", "name of the tolerance in dln.tolerances.TOL"),
            "tolerance_reason": text("tolerance_reason", "why the tolerance has its size"),
            "printed": number("printed", "the same residual for the statement as printed (errata only)"),
            "printed_statement": text("printed_statement", "the statement as printed in the paper (errata only)"),
            "values": text("values", "further measured values (JSON object)", json.dumps),
            "params": text("params", "parameters of the direct computation (JSON object)", json.dumps),
            "stochastic": xr.DataArray(
                np.array([int(bool(r["stochastic"])) for r in rows], dtype=np.int8),
                dims=("id",),
                attrs={
                    "long_name": "whether the measured number is a number of Monte Carlo standard errors",
                    "units": "1",
                    "flag_values": np.array([0, 1], dtype=np.int8),
                    "flag_meanings": "deterministic stochastic",
                },
            ),
            "page": text("page", "book page discussing the entry"),
            "data_source": text("data_source", "where the numbers come from: a workflow dataset or direct computation"),
            "seconds": number("seconds", "wall time of the check in seconds"),
            "error": text("error", "exception raised while measuring, if any"),
        }
    )
    ds["seconds"].attrs["units"] = "s"
    if n == 0:
        raise ValueError("rows: the ledger is empty")
    s = summarize(rows)
    return finalize(
        ds,
        title="Theorem ledger of the dln project",
        summary=(
            "Every checkable claim of Lindsey-Menon, Menon-Yu and Chen-Kotwal-Menon (THEOREMS.md), measured: "
            f"{s['counts']['pass']} pass, {s['counts']['erratum']} erratum, {s['counts']['fail']} fail."
        ),
        references=["LM", "MY", "CKM"],
        config=config or {},
        context="rule ledger",
    )


def write_ledger(
    json_path: str | os.PathLike,
    nc_path: str | os.PathLike,
    datasets: dict[str, str | os.PathLike] | None = None,
    ids: list[str] | None = None,
) -> list[dict]:
    """Run every check and write the ledger as JSON and netCDF (both atomically).

    Parameters
    ----------
    json_path, nc_path : path
        Outputs (``results/ledger.json``, ``results/ledger.nc``).
    datasets : dict family -> path, optional
        The workflow's aggregated datasets. Entries with a dataset hook read them; a missing or unreadable
        dataset falls back to the direct computation, recorded in the row's ``data_source``.
    ids : list of str, optional
        Only these entries (default: all registered entries, plus ``fail`` rows for missing expected IDs).

    Returns
    -------
    list of dict
        The rows written.
    """
    from ..experiments._conventions import write_netcdf

    ds_paths = None if datasets is None else {str(k): str(v) for k, v in datasets.items()}
    results = run_checks(ids, datasets=ds_paths)
    rows = (
        ledger_rows(results) if ids is None else [_jsonable({k: r.to_dict()[k] for k in ROW_FIELDS}) for r in results]
    )
    json_path, nc_path = Path(json_path), Path(nc_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = json_path.with_name(json_path.name + ".tmp")
    tmp.write_text(json.dumps(rows, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, json_path)
    write_netcdf(
        ledger_dataset(rows, config={"datasets": ds_paths or {}, "ids": ids or sorted(_registry.CHECKS)}), nc_path
    )
    return rows
