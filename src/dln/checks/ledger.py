"""Running the ledger: every claim's measurement applied to its family's dataset.

Two sources of datasets, one measurement per claim:

- **in memory** (``dln check``): each family's ``LEDGER`` sweep is simulated and aggregated in this process;
- **the workflow's results** (``dln check --results results``, the Snakemake rule ``ledger``): each family's
  ``results/<family>.nc``.

A dataset that is missing or unreadable fails every claim that reads it, with the reason in the row's
``error``; nothing falls back to another computation. :func:`write_ledger` writes the rows as
``ledger.json`` and a CF-conforming ``ledger.nc``.
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback
from pathlib import Path

import numpy as np

from . import _claims
from ._claims import STATUSES, evaluate, failed_row

__all__ = [
    "FamilyData",
    "run_ledger",
    "summarize",
    "ledger_dataset",
    "write_ledger",
    "ROW_FIELDS",
]

#: The fields of a ledger row, in order.
ROW_FIELDS = (
    "id",
    "paper",
    "where",
    "kind",
    "status",
    "statement",
    "printed_statement",
    "reading",
    "fails_if",
    "family",
    "stochastic",
    "measured",
    "measured_name",
    "measured_definition",
    "tolerance",
    "tolerance_name",
    "tolerance_reason",
    "printed",
    "items",
    "coverage",
    "implements",
    "data_source",
    "seconds",
    "error",
)

#: Stand-in for a missing number in the netCDF file (netCDF's default double fill value).
MISSING = 9.969209968386869e36


class FamilyData:
    """Datasets by family, produced on first use and kept: in memory (``results=None``) or read from a folder.

    ``get(family)`` returns ``(dataset, description)`` or raises; failures are kept too, so a family that
    cannot be produced is tried once per run.

    Parameters
    ----------
    results : path, optional
        Folder with the workflow's ``<family>.nc``; default: simulate in memory.
    mutation : bool
        In memory: use each family's ``MUTATION`` sweep (smaller) where it has one, else its ``LEDGER`` sweep.
    sweeps : dict, optional
        In memory: ``{family: {"sweep": ..., "fixed": ...}}`` replacing those families' sweeps (the tests run
        the claims on other sizes and seeds than ``dln check`` does).
    """

    def __init__(
        self, results: str | os.PathLike | None = None, mutation: bool = False, sweeps: dict[str, dict] | None = None
    ) -> None:
        self.results = None if results is None else Path(results)
        self.mutation = mutation
        self.sweeps = dict(sweeps or {})
        self._cache: dict[str, tuple] = {}
        self.seconds: dict[str, float] = {}

    def prefetch(self, families, jobs: int) -> None:
        """Simulate the given families in ``jobs`` worker processes (in memory only; the most expensive first)."""
        from ..experiments import family_module

        todo = [f for f in dict.fromkeys(families) if f not in self._cache]
        if self.results is not None or jobs <= 1 or len(todo) <= 1:
            return
        import concurrent.futures
        import multiprocessing

        todo.sort(key=lambda f: -float(getattr(family_module(f), "COST", 1.0)))
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = {pool.submit(_load_in_worker, self.mutation, self.sweeps, f): f for f in todo}
            for fut in concurrent.futures.as_completed(futures):
                family = futures[fut]
                try:
                    value, seconds = fut.result()
                    self._cache[family] = ("ok", value)
                    self.seconds[family] = seconds
                except Exception as exc:
                    self._cache[family] = ("error", exc)
                    self.seconds[family] = float("nan")

    def get(self, family: str):
        if family not in self._cache:
            t0 = time.perf_counter()
            try:
                self._cache[family] = ("ok", self._load(family))
            except Exception as exc:
                self._cache[family] = ("error", exc)
            self.seconds[family] = time.perf_counter() - t0
        state, value = self._cache[family]
        if state == "error":
            raise value
        return value

    def _load(self, family: str):
        from ..experiments import family_module, run_sweep
        from ..experiments._conventions import read_netcdf

        if self.results is None:
            if family in self.sweeps:
                return run_sweep(family, self.sweeps[family]), f"in memory: a given sweep of dln.experiments.{family}"
            mod = family_module(family)
            name = "MUTATION" if (self.mutation and hasattr(mod, "MUTATION")) else "LEDGER"
            return run_sweep(family, getattr(mod, name)), f"in memory: the {name} sweep of dln.experiments.{family}"
        path = self.results / f"{family}.nc"
        return read_netcdf(path), str(path)


def _load_in_worker(mutation: bool, sweeps: dict, family: str):
    t0 = time.perf_counter()
    value = FamilyData(mutation=mutation, sweeps=sweeps)._load(family)
    return value, time.perf_counter() - t0


def run_ledger(
    ids: list[str] | None = None,
    results: str | os.PathLike | None = None,
    registry: dict | None = None,
    data: FamilyData | None = None,
    jobs: int = 1,
) -> list[dict]:
    """Evaluate the named claims (default: all, in registry order); one row (a dict of ROW_FIELDS) each.

    Parameters
    ----------
    ids : list of str, optional
        Claim IDs; unknown IDs raise :class:`dln.DLNError` naming them.
    results : path, optional
        Folder with the workflow's ``<family>.nc``; default: simulate each family's LEDGER sweep in memory.
    registry : dict, optional
        Claims by ID (default: :data:`dln.checks.CLAIMS`).
    data : FamilyData, optional
        A shared dataset cache (the mutation tests pass a fresh one per mutant).
    jobs : int
        In memory: simulate the families in this many worker processes (the results do not depend on it).
    """
    reg = _claims.CLAIMS if registry is None else registry
    if ids is None:
        ids = list(reg)
    unknown = [i for i in ids if i not in reg]
    if unknown:
        from .._errors import DLNError

        raise DLNError(f"id: unknown claim ID(s) {unknown}; known: {', '.join(reg)}")
    data = FamilyData(results) if data is None else data
    data.prefetch([reg[cid].family for cid in ids], jobs)
    rows = []
    for cid in ids:
        c = reg[cid]
        try:
            ds, desc = data.get(c.family)
        except Exception as exc:
            reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            rows.append(failed_row(c, "none", f"dataset of family {c.family!r} unavailable: {reason}"))
            continue
        rows.append(evaluate(c, ds, desc, registry=reg))
    return rows


def summarize(rows: list[dict]) -> dict:
    """Counts per status, and the IDs that failed."""
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    return {"counts": counts, "failed": [r["id"] for r in rows if r["status"] == "fail"], "total": len(rows)}


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
        return x if math.isfinite(x) else None
    return x


def ledger_dataset(rows: list[dict], config: dict | None = None):
    """The ledger as an xarray Dataset along the dimension ``id`` (CF attributes via ``finalize``)."""
    import xarray as xr

    from ..experiments._conventions import finalize

    if not rows:
        raise ValueError("rows: the ledger is empty")

    def text(key, long_name, fn=None):
        vals = [str(fn(r[key]) if fn else (r[key] if r[key] is not None else "")) for r in rows]
        return xr.DataArray(np.array(vals, dtype=object), dims=("id",), attrs={"long_name": long_name, "units": "1"})

    def number(values, long_name, units="1"):
        vals = np.array([MISSING if v is None else float(v) for v in values], dtype=np.float64)
        vals = np.where(np.isfinite(vals), vals, MISSING)
        da = xr.DataArray(vals, dims=("id",), attrs={"long_name": long_name, "units": units})
        da.encoding["_FillValue"] = MISSING
        return da

    codes = np.array([STATUSES.index(r["status"]) for r in rows], dtype=np.int8)
    printed = [None if r["printed"] is None else r["printed"]["value"] for r in rows]
    ds = xr.Dataset(
        {
            "claim_id": text("id", "claim ID"),
            "paper": text("paper", "paper of the claim (LM, MY, CKM; NUM for the numerical methods)"),
            "where": text("where", "theorem, equation and section in the paper"),
            "kind": text("kind", "kind of claim: theorem, erratum, notation or finding"),
            "status": text("status", "ledger status: " + ", ".join(STATUSES)),
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
            "statement": text("statement", "the statement (corrected, for errata) in one line of LaTeX"),
            "fails_if": text("fails_if", "what would make the claim fail"),
            "family": text("family", "experiment family whose dataset holds the evidence"),
            "measured": number([r["measured"] for r in rows], "primary measured number (first enforced item)"),
            "tolerance": number([r["tolerance"] for r in rows], "tolerance of the primary measured number"),
            "tolerance_name": text("tolerance_name", "name of the tolerance in dln.tolerances.TOL"),
            "printed": number(printed, "residual of the statement as printed (errata only)"),
            "items": text("items", "every measured number with its definition and tolerance (JSON list)", json.dumps),
            "coverage": text("coverage", "fields, seeds and sizes the evidence covers (JSON object)", json.dumps),
            "data_source": text("data_source", "the dataset the claim was measured on"),
            "seconds": number([r["seconds"] for r in rows], "wall time of the measurement", "s"),
            "error": text("error", "exception raised while measuring, if any"),
        }
    )
    s = summarize(rows)
    c = s["counts"]
    return finalize(
        ds,
        title="Ledger of the claims of the dln project",
        summary=(
            "Every registered claim of Lindsey-Menon, Menon-Yu and Chen-Kotwal-Menon (and of the numerical methods), "
            "measured on the workflow's datasets: " + ", ".join(f"{c[k]} {k}" for k in STATUSES) + "."
        ),
        references=["LM", "MY", "CKM"],
        config=config or {},
        context="rule ledger",
    )


def write_ledger(
    json_path: str | os.PathLike,
    nc_path: str | os.PathLike,
    results: str | os.PathLike | None = None,
    ids: list[str] | None = None,
    history: str | None = None,
) -> list[dict]:
    """Evaluate the claims and write ``ledger.json`` and ``ledger.nc`` (both atomically); return the rows."""
    from ..experiments._conventions import write_netcdf

    rows = [_jsonable(r) for r in run_ledger(ids, results=results)]
    json_path, nc_path = Path(json_path), Path(nc_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = json_path.with_name(json_path.name + ".tmp")
    tmp.write_text(json.dumps(rows, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, json_path)
    ds = ledger_dataset(rows, config={"results": None if results is None else str(results), "ids": ids or "all"})
    if history is not None:
        ds.attrs["history"] = ds.attrs["date_created"] + ": " + history
    write_netcdf(ds, nc_path)
    return rows
