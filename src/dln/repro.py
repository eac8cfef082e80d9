"""Reproducibility of a workflow run: its comparison with a committed reference (``dln repro compare``).

A *run* is what the workflow wrote: ``results/ledger.json`` (one row per claim), ``book/_generated/numbers.json``
(every number the book quotes, ``{name: {"value", "definition", "source"}}``) and ``results/*.nc`` (the
datasets). A *reference* (``reference/ci.json``) holds the same values from a reviewed run of one configuration;
``dln repro compare --update`` writes it.

What is compared
----------------
- **The ledger**: every row's status (exactly) and every number of its evidence: each item's value, the
  residual of the statement as printed, and the numbers an item reports beside its value (its ``extra``:
  standard errors, thresholds, counts). Run times (``seconds``) and the claims' texts are not compared.
- **The book**: every value of ``numbers.json``. Strings (statuses, sweep values) are compared for equality,
  except provenance lines (names starting with ``prov_``) and strings naming a commit or a date, which are
  skipped and listed as skipped.
- **The data**: the hash of the data of every ``results/*.nc`` (:func:`hash_dataset`, without the ledger's run
  times). Hashes are information only: float64 results differ in their last bits between platforms (BLAS
  kernels, numpy's SIMD code paths, libm), so a changed hash says "data differ bitwise", and the values above
  say whether a result changed.

Entries are named ``ledger:<claim ID>:status``, ``ledger:<claim ID>:<item>``,
``ledger:<claim ID>:<item>:<extra>`` and ``book:<number name>``; hashes by file name (``fibers.nc``).

Tolerances
----------
Each entry is compared with one named tolerance of :data:`dln.tolerances.TOL`, chosen from the ledger's own
metadata by :func:`ledger_tolerance` (a number of the book that is a ledger item, source
``ledger:<ID>:<item>[:<extra>]``, takes that item's tolerance; any other number goes by its type):

- ``repro_exact``: integers, booleans and strings (statuses, counts, ranks, sweep values): equal.
- ``repro_monte_carlo``: the Monte Carlo estimates of stochastic claims (``Claim.stochastic``): z-scores
  (relation ``z``, the z-scores of a printed law, ``max_z_*``) and band estimates (items with a recorded
  ``se``): ``|run - reference| <= TOL * SE``, with SE = 1 for a z-score.
- ``repro_residual``: enforced residuals and deviations (relation ``le`` or ``dev``), whose digits are
  round-off: ``|run - reference| <= TOL * t``, t the check's own tolerance.
- ``repro_information``: informational numbers (reported, deciding nothing) and the extras:
  ``|run - reference| <= TOL * max(|run|, |reference|) + TOL["repro_information_floor"]``.
- ``repro_roundoff``: every other float (printed residuals of errata, positive margins, numbers of the book
  not taken from the ledger): ``|run - reference| <= TOL * max(|run|, |reference|) + TOL["repro_roundoff_floor"]``.

Entries skipped by name, with the reason, are in :data:`SKIPPED_NAMES` and :data:`SKIPPED_PREFIXES`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._errors import DLNError
from .tolerances import TOL

__all__ = [
    "REFERENCE_FORMAT",
    "SKIPPED_NAMES",
    "SKIPPED_PREFIXES",
    "Entry",
    "Snapshot",
    "Row",
    "Comparison",
    "hash_dataset",
    "hash_results",
    "ledger_tolerance",
    "allowed_difference",
    "snapshot",
    "read_reference",
    "dumps_reference",
    "write_reference",
    "compare",
    "update_reference",
    "format_comparison",
]

#: The ``format`` field of a reference's header.
REFERENCE_FORMAT = "dln-repro-reference 1"

#: Variables left out of every data hash: the ledger's wall times.
HASH_IGNORE_VARS: tuple[str, ...] = ("seconds",)

#: Names of book numbers skipped by prefix, and why.
SKIPPED_PREFIXES: dict[str, str] = {
    "prov_": "provenance line: names the commit the datasets were made at",
}

#: Ledger items or extras (by name; the book's copies follow them) skipped, and why.
SKIPPED_NAMES: dict[str, str] = {}

#: A string naming a commit or a date (not reproducible by a rerun).
_VOLATILE = re.compile(r"commit\W{0,3}[0-9a-f]{7,40}\b|\b[0-9a-f]{40}\b|\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2})?", re.I)

#: How each tolerance is applied: "exact", "relative" (with the floor named), or "scaled" (by the entry's scale).
_RULES: dict[str, tuple[str, str | None]] = {
    "repro_exact": ("exact", None),
    "repro_roundoff": ("relative", "repro_roundoff_floor"),
    "repro_information": ("relative", "repro_information_floor"),
    "repro_residual": ("scaled", None),
    "repro_monte_carlo": ("scaled", None),
}


# ------------------------------------------------------------------------------------------------ data hashes


def hash_dataset(path: str | os.PathLike, ignore_vars: tuple[str, ...] = ()) -> str:
    """The SHA-256 of the data of one netCDF file, not of its attributes.

    Parameters
    ----------
    path : path
        A netCDF file.
    ignore_vars : tuple of str
        Variables to leave out (e.g. the ledger's run times, ``seconds``).

    Returns
    -------
    str
        Hex digest over every variable (data variables and coordinates) sorted by name: its name, then
        ``repr((dimensions, shape, dtype.str))``, then its raw values as stored (strings joined by NUL).
        Global and variable attributes (``history``, ``date_created``, ``source`` ...) are excluded, so two
        runs that compute the same bits have the same hash.
    """
    import netCDF4
    import numpy as np

    h = hashlib.sha256()
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        for name in sorted(nc.variables):
            if name in ignore_vars:
                continue
            var = nc.variables[name]
            values = np.ascontiguousarray(var[...])
            h.update(name.encode())
            h.update(repr((var.dimensions, values.shape, values.dtype.str)).encode())
            if values.dtype.kind == "O":
                h.update("\x00".join(map(str, values.ravel())).encode())
            else:
                h.update(values.tobytes())
    return h.hexdigest()


def hash_results(results: str | os.PathLike, jobs: bool = False, ignore_vars: tuple[str, ...] = ()) -> dict[str, str]:
    """Data hashes of ``results/*.nc`` (and, with ``jobs``, ``results/*/jobs/*.nc``).

    Returns
    -------
    dict
        ``{path relative to results: hash_dataset(path)}`` and ``"total"``: the SHA-256 of that mapping as JSON
        with sorted keys.
    """
    results = Path(results)
    files = sorted(results.glob("*.nc"))
    if jobs:
        files += sorted(results.glob("*/jobs/*.nc"))
    out = {str(p.relative_to(results)): hash_dataset(p, ignore_vars) for p in files}
    total = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()
    return {**out, "total": total}


# ------------------------------------------------------------------------------------------------ entries


@dataclass(frozen=True)
class Entry:
    """One compared value.

    Attributes
    ----------
    value : float, int, bool, str or None
        The value as the run wrote it (None: a non-finite number, written as JSON null).
    tolerance : str
        Name of its tolerance in :data:`dln.tolerances.TOL` (``repro_*``).
    scale : float, optional
        What the tolerance multiplies, for the scaled ones: the check's own tolerance (``repro_residual``) or
        the standard error (``repro_monte_carlo``).
    """

    value: Any
    tolerance: str
    scale: float | None = None

    def to_json(self) -> dict:
        out = {"tolerance": self.tolerance, "value": self.value}
        if self.scale is not None:
            out["scale"] = self.scale
        return out


@dataclass
class Snapshot:
    """The compared values of one run (or of a reference).

    Attributes
    ----------
    entries : dict
        ``{name: Entry}`` (ledger and book).
    hashes : dict
        ``{file name: data hash}`` of ``results/*.nc``.
    skipped : dict
        ``{name: reason}`` of the values left out.
    header : dict
        Configuration file, its SHA-256, the package version, the reference format.
    notes : list of str
        Remarks on the run (a dataset made with another configuration ...); not written to a reference.
    """

    entries: dict[str, Entry]
    hashes: dict[str, str]
    skipped: dict[str, str]
    header: dict
    notes: list[str] = field(default_factory=list)


def _is_exact(value) -> bool:
    """Integers, booleans, strings (and any other non-float JSON value) are compared for equality."""
    return isinstance(value, bool | int | str) or not isinstance(value, float | None)


def ledger_tolerance(item: dict, stochastic: bool, extra: str | None = None) -> tuple[str, float | None]:
    """The tolerance name and scale of a ledger item's value (or of one of its extras).

    Parameters
    ----------
    item : dict
        A ledger item (``{"name", "value", "enforced", "relation", "tolerance", "extra", ...}``).
    stochastic : bool
        The claim's ``stochastic`` flag: its evidence includes Monte Carlo estimates.
    extra : str, optional
        The name of a number in ``item["extra"]`` instead of the item's value.

    Returns
    -------
    (str, float or None)
        See the module docstring for the rules.
    """
    extras = item.get("extra") or {}
    value = item.get("value") if extra is None else extras.get(extra)
    if _is_exact(value):
        return "repro_exact", None
    if stochastic:
        if extra is None:
            if item.get("relation") == "z" or item.get("tolerance_name") == "ledger_false_fail":
                return "repro_monte_carlo", 1.0
            se = extras.get("se")
            if isinstance(se, int | float) and not isinstance(se, bool) and se > 0:
                return "repro_monte_carlo", float(se)
        elif extra.startswith("max_z"):
            return "repro_monte_carlo", 1.0
    if extra is None and item.get("enforced"):
        check = item.get("tolerance")
        if item.get("relation") in ("le", "dev") and isinstance(check, int | float) and check > 0:
            return "repro_residual", float(check)
        return "repro_roundoff", None
    return "repro_information", None


def allowed_difference(tolerance: str, reference, run, scale: float | None = None) -> float | None:
    """The largest ``|run - reference|`` the named tolerance allows (None for an unknown tolerance).

    Parameters
    ----------
    tolerance : str
        A ``repro_*`` name of :data:`dln.tolerances.TOL`.
    reference, run : float
        The two values (their larger magnitude scales the relative tolerances).
    scale : float, optional
        The entry's scale (check tolerance or standard error) for the scaled tolerances.
    """
    if tolerance not in _RULES or tolerance not in TOL:
        return None
    kind, floor = _RULES[tolerance]
    t = TOL[tolerance].value
    if kind == "exact":
        return 0.0
    if kind == "scaled":
        return None if scale is None else t * float(scale)
    size = max(abs(float(reference)), abs(float(run)))
    return t * size + TOL[floor].value


# ------------------------------------------------------------------------------------------------ a run


def _read_json(path: Path, what: str):
    try:
        text = path.read_text()
    except OSError as exc:
        raise DLNError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DLNError(f"{what}: {path} is not valid JSON: {exc}") from None


def _skip_reason(name: str) -> str | None:
    return SKIPPED_NAMES.get(name)


def _ledger_entries(rows: list[dict], entries: dict[str, Entry], skipped: dict[str, str]) -> None:
    for r in rows:
        cid = r["id"]
        stochastic = bool(r.get("stochastic"))
        entries[f"ledger:{cid}:status"] = Entry(r["status"], "repro_exact")
        items = list(r.get("items") or []) + ([r["printed"]] if r.get("printed") else [])
        for item in items:
            key = f"ledger:{cid}:{item['name']}"
            if key in entries:
                raise DLNError(f"ledger: claim {cid} has two numbers named {item['name']!r}")
            if _skip_reason(item["name"]):
                skipped[key] = _skip_reason(item["name"])
            else:
                entries[key] = Entry(item.get("value"), *ledger_tolerance(item, stochastic))
            for name, v in (item.get("extra") or {}).items():
                if not isinstance(v, int | float) and v is not None:
                    continue  # a text (a derivation), not a number
                if _skip_reason(name):
                    skipped[f"{key}:{name}"] = _skip_reason(name)
                else:
                    entries[f"{key}:{name}"] = Entry(v, *ledger_tolerance(item, stochastic, extra=name))


def _book_entries(numbers: dict, entries: dict[str, Entry], skipped: dict[str, str]) -> None:
    for name in sorted(numbers):
        spec = numbers[name]
        value = spec["value"]
        key = f"book:{name}"
        source = str(spec.get("source", ""))
        prefix = next((p for p in SKIPPED_PREFIXES if name.startswith(p)), None)
        if prefix is not None:
            skipped[key] = SKIPPED_PREFIXES[prefix]
            continue
        if isinstance(value, str) and _VOLATILE.search(value):
            skipped[key] = "a string naming a commit or a date"
            continue
        parts = source.split(":")
        if parts[0] == "ledger" and len(parts) >= 3:
            if _skip_reason(parts[-1]):
                skipped[key] = _skip_reason(parts[-1])
                continue
            twin = entries.get("ledger:" + ":".join(parts[1:]))
            if twin is not None and _is_exact(value) == _is_exact(twin.value):
                entries[key] = Entry(value, twin.tolerance, twin.scale)
                continue
        entries[key] = Entry(value, "repro_exact" if _is_exact(value) else "repro_roundoff")


def _check_rows(rows, path: Path) -> None:
    ok = isinstance(rows, list) and all(
        isinstance(r, dict) and isinstance(r.get("id"), str) and "status" in r and isinstance(r.get("items", []), list)
        for r in rows
    )
    if ok:
        items = [i for r in rows for i in r.get("items", []) + ([r["printed"]] if r.get("printed") else [])]
        ok = all(
            isinstance(i, dict) and "name" in i and "value" in i and isinstance(i.get("extra") or {}, dict)
            for i in items
        )
    if not ok:
        raise DLNError(f"ledger: {path} is not a list of ledger rows (objects with 'id', 'status' and 'items')")


def _check_numbers(numbers, path: Path) -> None:
    if not isinstance(numbers, dict) or not all(isinstance(v, dict) and "value" in v for v in numbers.values()):
        raise DLNError(f"numbers: {path} is not an object of book numbers ({{name: {{'value': ...}}}})")


def _display_path(path: str | os.PathLike) -> str:
    """A path as recorded in a reference: relative to the working directory, never absolute."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return p.name
    return p.as_posix()


def _config_notes(results: Path, config: Path) -> list[str]:
    """Datasets of ``results`` whose recorded workflow configuration is not that of ``config``."""
    import yaml

    try:
        families = (yaml.safe_load(config.read_text()) or {}).get("families") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return [f"{config} could not be read: the run's configuration was not checked"]
    notes = []
    for family, spec in sorted(families.items()):
        path = results / f"{family}.nc"
        if not path.exists():
            continue
        try:
            import netCDF4

            with netCDF4.Dataset(path) as nc:
                recorded = json.loads(nc.getncattr("config")).get("workflow")
        except (OSError, ValueError, AttributeError, KeyError):
            recorded = None
        if recorded != {"sweep": spec.get("sweep", {}), "fixed": spec.get("fixed", {})}:  # `chunk` is not data
            notes.append(f"{path} was not made with the sweep of {config} (family {family})")
    return notes


def snapshot(
    results: str | os.PathLike = "results",
    numbers: str | os.PathLike = "book/_generated/numbers.json",
    config: str | os.PathLike | None = None,
) -> Snapshot:
    """Collect the compared values of a run.

    Parameters
    ----------
    results : path
        The workflow's results folder: ``ledger.json`` and ``*.nc``.
    numbers : path
        The book's ``numbers.json``.
    config : path, optional
        The workflow configuration the run was made with; recorded in the header (path and SHA-256), and the
        datasets' recorded sweeps are checked against it (a mismatch is a note, not an error).

    Raises
    ------
    DLNError
        A file is missing, unreadable or not what it should be (the message names it).
    """
    from . import __version__

    results = Path(results)
    ledger_path = results / "ledger.json"
    rows = _read_json(ledger_path, "ledger")
    _check_rows(rows, ledger_path)
    numbers_path = Path(numbers)
    book = _read_json(numbers_path, "numbers")
    _check_numbers(book, numbers_path)
    entries: dict[str, Entry] = {}
    skipped: dict[str, str] = {}
    _ledger_entries(rows, entries, skipped)
    _book_entries(book, entries, skipped)
    hashes = {}
    for path in sorted(results.glob("*.nc")):
        try:
            hashes[path.name] = hash_dataset(path, HASH_IGNORE_VARS)
        except OSError as exc:
            raise DLNError(f"results: cannot read the netCDF file {path}: {exc}") from None
    header = {"format": REFERENCE_FORMAT, "dln_version": __version__, "hash_ignore_vars": list(HASH_IGNORE_VARS)}
    notes: list[str] = []
    if config is not None:
        cfg = Path(config)
        header["config"] = _display_path(cfg)
        try:
            header["config_sha256"] = hashlib.sha256(cfg.read_bytes()).hexdigest()
        except OSError:
            notes.append(f"configuration {cfg} not found: the run's configuration was not checked")
        else:
            notes += _config_notes(results, cfg)
    return Snapshot(entries=entries, hashes=hashes, skipped=skipped, header=header, notes=notes)


# ------------------------------------------------------------------------------------------------ references


def read_reference(path: str | os.PathLike) -> Snapshot:
    """Read a reference written by :func:`write_reference`.

    Raises
    ------
    DLNError
        The file is missing, not JSON, or not a reference (the message names it).
    """
    path = Path(path)
    data = _read_json(path, "reference")

    def bad(what: str):
        return DLNError(f"reference: {path} is not a dln reproducibility reference ({what})")

    if not isinstance(data, dict):
        raise bad("not a JSON object")
    for sec in ("entries", "hashes", "header", "skipped"):
        if not isinstance(data.get(sec), dict):
            raise bad(f"no object {sec!r}")
    if data["header"].get("format") != REFERENCE_FORMAT:
        raise bad(f"header format {data['header'].get('format')!r}, expected {REFERENCE_FORMAT!r}")
    entries = {}
    for name, e in data["entries"].items():
        if not (isinstance(e, dict) and "value" in e and isinstance(e.get("tolerance"), str)):
            raise bad(f"entry {name!r} is not an object with 'value' and 'tolerance'")
        scale = e.get("scale")
        if scale is not None and not isinstance(scale, int | float):
            raise bad(f"entry {name!r} has a scale that is not a number")
        entries[name] = Entry(e["value"], e["tolerance"], None if scale is None else float(scale))
    if not all(isinstance(v, str) for v in data["hashes"].values()):
        raise bad("a hash that is not a string")
    return Snapshot(
        entries=entries,
        hashes=dict(data["hashes"]),
        skipped={k: str(v) for k, v in data["skipped"].items()},
        header=dict(data["header"]),
    )


def dumps_reference(snap: Snapshot) -> str:
    """A snapshot as reference JSON: sorted keys, one entry per line, floats as their shortest round-trip repr.

    The text depends on the values only (no time stamps, no absolute paths), so the same run gives the same
    bytes and a changed result is one changed line of the diff.
    """
    sections = {
        "entries": {k: e.to_json() for k, e in snap.entries.items()},
        "hashes": snap.hashes,
        "header": snap.header,
        "skipped": snap.skipped,
    }
    blocks = []
    for sec in sorted(sections):
        body = sections[sec]
        lines = [f"  {json.dumps(k)}: {json.dumps(body[k], sort_keys=True, allow_nan=False)}" for k in sorted(body)]
        inner = ",\n".join(lines)
        blocks.append(f" {json.dumps(sec)}: {{\n{inner}\n }}" if lines else f" {json.dumps(sec)}: {{}}")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def write_reference(snap: Snapshot, path: str | os.PathLike) -> None:
    """Write :func:`dumps_reference` of ``snap`` to ``path`` (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps_reference(snap))
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------------ comparing


@dataclass(frozen=True)
class Row:
    """One entry that moved: its two values, the difference, the tolerance, and the verdict.

    ``status`` is ``"ok"`` (moved within its tolerance), ``"OUT"`` (out of tolerance, or a changed status or
    string), ``"missing"`` (in the reference, not in the run) or ``"new"`` (in the run only).
    """

    name: str
    reference: Any
    run: Any
    difference: float | None
    tolerance: float | None
    tolerance_name: str
    status: str

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "reference": self.reference,
            "run": self.run,
            "difference": self.difference,
            "tolerance": self.tolerance,
            "tolerance_name": self.tolerance_name,
            "status": self.status,
        }


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    rows : list of Row
        The entries that moved (unchanged ones are counted, not listed), out of tolerance first.
    compared : int
        Entries present in both.
    hashes : dict
        ``{file: "same" | "differ bitwise" | "missing" | "new"}``.
    skipped : dict
        ``{name: reason}`` of the run's skipped values.
    notes : list of str
        Remarks (configuration mismatches, a changed configuration file).
    header : dict
        The reference's header.
    """

    rows: list[Row]
    compared: int
    hashes: dict[str, str]
    skipped: dict[str, str]
    notes: list[str]
    header: dict

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def ok(self) -> bool:
        """Nothing out of tolerance and nothing missing (new entries and hash changes are information)."""
        return self.count("OUT") == 0 and self.count("missing") == 0

    def summary(self) -> str:
        return (
            f"{self.compared} values compared, {self.count('OUT')} out of tolerance, "
            f"{self.count('missing')} missing, {self.count('new')} new"
        )

    def to_json(self) -> dict:
        return {
            "summary": {
                "compared": self.compared,
                "out_of_tolerance": self.count("OUT"),
                "missing": self.count("missing"),
                "new": self.count("new"),
                "moved_within_tolerance": self.count("ok"),
                "skipped": len(self.skipped),
                "hashes_differ": sorted(f for f, s in self.hashes.items() if s != "same"),
                "line": self.summary(),
            },
            "rows": [r.to_json() for r in self.rows],
            "hashes": self.hashes,
            "skipped": self.skipped,
            "notes": self.notes,
            "reference_header": self.header,
        }


def _number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _compare_values(ref: Entry, run: Entry) -> Row | None:
    """The row of one entry present in both (None: identical)."""
    a, b = ref.value, run.value
    name_tol = run.tolerance
    if type(a) is type(b) and a == b:
        return None
    if _number(a) and _number(b):
        diff = abs(float(b) - float(a))
        if diff == 0.0:
            return None
        allowed = allowed_difference(name_tol, a, b, run.scale)
        status = "ok" if allowed is not None and diff <= allowed else "OUT"
        return Row("", a, b, diff, allowed, name_tol, status)
    return Row("", a, b, None, 0.0, name_tol, "OUT")  # a changed string, status or None


def _retuned(ref: Entry, run: Entry) -> bool:
    """Another tolerance, or another check tolerance under ``repro_residual`` (a standard error may move)."""
    return ref.tolerance != run.tolerance or (run.tolerance == "repro_residual" and ref.scale != run.scale)


def compare(reference: Snapshot, run: Snapshot) -> Comparison:
    """Compare a run with a reference, entry by entry (see the module docstring for the tolerances)."""
    rows = []
    compared = 0
    for name in sorted(set(reference.entries) | set(run.entries)):
        ref, new = reference.entries.get(name), run.entries.get(name)
        if ref is None:
            rows.append(Row(name, None, new.value, None, None, new.tolerance, "new"))
            continue
        if new is None:
            rows.append(Row(name, ref.value, None, None, None, ref.tolerance, "missing"))
            continue
        compared += 1
        row = _compare_values(ref, new)
        if row is not None:
            rows.append(replace(row, name=name))
    order = {"OUT": 0, "missing": 1, "new": 2, "ok": 3}
    rows.sort(key=lambda r: (order[r.status], r.name))
    hashes = {}
    for f in sorted(set(reference.hashes) | set(run.hashes)):
        if f not in run.hashes:
            hashes[f] = "missing"
        elif f not in reference.hashes:
            hashes[f] = "new"
        else:
            hashes[f] = "same" if reference.hashes[f] == run.hashes[f] else "differ bitwise"
    notes = list(run.notes)
    retuned = sorted(
        k for k in set(reference.entries) & set(run.entries) if _retuned(reference.entries[k], run.entries[k])
    )
    if retuned:
        notes.append(
            f"{len(retuned)} values have another tolerance (or check tolerance) than in the reference (e.g. "
            f"{retuned[0]}); this run's are used: refresh the reference if the change is deliberate"
        )
    ref_sha, run_sha = reference.header.get("config_sha256"), run.header.get("config_sha256")
    if ref_sha and run_sha and ref_sha != run_sha:
        notes.append(
            f"{run.header.get('config')} changed since the reference was written: refresh the reference "
            "if the change is deliberate"
        )
    return Comparison(rows, compared, hashes, dict(run.skipped), notes, dict(reference.header))


def _canonical(x) -> str:
    return json.dumps(x, sort_keys=True, allow_nan=False)


def update_reference(run: Snapshot, path: str | os.PathLike) -> dict[str, int]:
    """Write ``run`` as the reference ``path``; return how many entries changed against the previous one.

    Returns
    -------
    dict
        ``entries``, ``hashes`` (sizes of the new reference); ``changed`` (value, tolerance or scale differ
        bitwise), ``added``, ``removed`` (against the previous reference; all added when there was none),
        ``hashes_changed``.
    """
    path = Path(path)
    old = read_reference(path) if path.exists() else Snapshot({}, {}, {}, {})
    new_json = {k: e.to_json() for k, e in run.entries.items()}
    old_json = {k: e.to_json() for k, e in old.entries.items()}
    write_reference(run, path)
    return {
        "entries": len(run.entries),
        "ledger": sum(1 for k in run.entries if k.startswith("ledger:")),
        "book": sum(1 for k in run.entries if k.startswith("book:")),
        "hashes": len(run.hashes),
        "skipped": len(run.skipped),
        "changed": sum(1 for k in new_json if k in old_json and _canonical(new_json[k]) != _canonical(old_json[k])),
        "added": sum(1 for k in new_json if k not in old_json),
        "removed": sum(1 for k in old_json if k not in new_json),
        "hashes_changed": sum(1 for k in set(run.hashes) | set(old.hashes) if run.hashes.get(k) != old.hashes.get(k)),
    }


# ------------------------------------------------------------------------------------------------ printing


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return repr(x)
    text = str(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _fmt_small(x) -> str:
    return "-" if x is None else f"{x:.2e}" if isinstance(x, float) and x != 0 else str(x)


def format_comparison(comp: Comparison) -> str:
    """A plain-text report: the table of what moved, the skipped values, the data hashes, the summary line."""
    head = ("name", "reference", "this run", "|difference|", "tolerance", "tolerance name", "status")
    body = [
        (r.name, _fmt(r.reference), _fmt(r.run), _fmt_small(r.difference), _fmt_small(r.tolerance))
        + (r.tolerance_name, r.status)
        for r in comp.rows
    ]
    lines = []
    h = comp.header
    lines.append(
        f"reference: configuration {h.get('config', '?')}, dln {h.get('dln_version', '?')}; "
        f"tolerances from dln.tolerances.TOL (repro_*)"
    )
    if body:
        widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head))]
        lines.append("")
        lines.append("  ".join(x.ljust(w) for x, w in zip(head, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(x.ljust(w) for x, w in zip(b, widths, strict=True)).rstrip() for b in body]
    else:
        lines.append("nothing moved: every value equals the reference bitwise")
    if comp.skipped:
        reasons: dict[str, int] = {}
        for reason in comp.skipped.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        lines.append("")
        lines.append(f"skipped {len(comp.skipped)} values:")
        lines += [f"  {n} x {reason}" for reason, n in sorted(reasons.items())]
    differ = [f for f, s in comp.hashes.items() if s != "same"]
    lines.append("")
    lines.append(
        f"data hashes of results/*.nc (information only: float64 data differ bitwise between platforms, with the "
        f"BLAS kernels, SIMD code paths and libm; the values above decide): {len(comp.hashes) - len(differ)} of "
        f"{len(comp.hashes)} files the same"
    )
    for state in ("differ bitwise", "missing", "new"):
        files = [f for f in differ if comp.hashes[f] == state]
        if files:
            lines.append(f"  data {state}: {', '.join(files)}")
    for note in comp.notes:
        lines.append(f"note: {note}")
    lines.append("")
    equal = comp.compared - comp.count("ok") - comp.count("OUT")
    lines.append(f"{equal} values equal to the reference, {comp.count('ok')} moved within their tolerances")
    lines.append(comp.summary())
    return "\n".join(lines)
