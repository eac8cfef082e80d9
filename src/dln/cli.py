"""The ``dln`` command line.

``dln check [--json] [--id ID ...] [--list] [--results DIR]``
    Run the theorem ledger directly on small default parameters (seconds) and print a
    table (ID, status, measured, tolerance, printed value for errata) or the rows as JSON.
    Exit status 0 when every entry is ``pass`` or ``erratum`` and no expected catalogue ID
    is missing; 1 when an entry fails or an expected ID has no entry; 2 for usage errors
    (e.g. an unknown ``--id``). ``--results DIR`` evaluates entries that can read the
    workflow's datasets (``DIR/<family>.nc``) from them.

``dln ledger [--results DIR] [--json-out PATH] [--nc-out PATH]``
    Write the workflow ledger (``results/ledger.json`` and ``results/ledger.nc``), as the
    Snakemake rule does; same exit status as ``dln check``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main", "format_table"]


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def format_table(rows: list[dict]) -> str:
    """A plain-text table of ledger rows: ID, status, measured, tolerance, printed, seconds, data source."""
    head = ("ID", "status", "measured", "tolerance", "printed", "s", "source")
    body = [
        (
            r["id"],
            r["status"],
            _fmt(r["measured"]),
            _fmt(r["tolerance"]),
            _fmt(r["printed"]),
            f"{r['seconds']:.2f}",
            "dataset" if str(r.get("data_source", "")).startswith("dataset") else "direct",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)))
    for r in rows:
        if r["status"] == "fail" and r.get("error"):
            lines.append(f"\n{r['id']} error: {r['error'].strip().splitlines()[0]}")
    return "\n".join(lines)


def _datasets(results: str | None) -> dict | None:
    if results is None:
        return None
    folder = Path(results)
    return {p.stem: str(p) for p in sorted(folder.glob("*.nc")) if p.stem != "ledger"}


def _exit_status(rows: list[dict]) -> int:
    return 1 if any(r["status"] == "fail" for r in rows) else 0


def _summary_line(rows: list[dict]) -> str:
    from .checks.ledger import summarize

    s = summarize(rows)
    c = s["counts"]
    line = f"{s['total']} entries: {c['pass']} pass, {c['erratum']} erratum, {c['fail']} fail"
    if s["failed"]:
        line += " (failed: " + ", ".join(s["failed"]) + ")"
    return line


def _cmd_check(args) -> int:
    from .checks import _registry as checks  # looked up at call time (tests swap the registry)
    from .checks.ledger import ROW_FIELDS, _jsonable, ledger_rows

    if args.list:
        missing = checks.missing_ids()
        ids = [i for i in checks.EXPECTED_IDS if i in checks.CHECKS] + [
            i for i in checks.CHECKS if i not in checks.EXPECTED_IDS
        ]
        listing = [
            {
                "id": i,
                "statement": checks.CHECKS[i].statement,
                "source": checks.CHECKS[i].source,
                "tolerance": checks.CHECKS[i].tolerance_value,
                "tolerance_name": checks.CHECKS[i].tolerance,
                "erratum": checks.CHECKS[i].erratum,
                "expected": i in checks.EXPECTED_IDS,
                "has_dataset_hook": checks.CHECKS[i].from_dataset is not None,
            }
            for i in ids
        ]
        if args.json:
            print(json.dumps({"entries": listing, "missing": missing}, indent=1))
        else:
            for e in listing:
                tag = "" if e["expected"] else "  (extra)"
                print(f"{e['id']:<22} {e['tolerance_name']:<20} {e['source']}{tag}")
            if missing:
                print(f"\nmissing expected IDs: {', '.join(missing)}")
        return 1 if missing else 0
    unknown = [i for i in (args.id or []) if i not in checks.CHECKS]
    if unknown:
        print(f"dln check: unknown ID(s) {unknown}; use 'dln check --list'", file=sys.stderr)
        return 2
    results = checks.run_checks(args.id or None, datasets=_datasets(args.results))
    if args.id:
        rows = [_jsonable({k: r.to_dict()[k] for k in ROW_FIELDS}) for r in results]
    else:
        rows = ledger_rows(results)  # adds a fail row for each missing expected ID
    if args.json:
        print(json.dumps(rows, indent=1, allow_nan=False))
    else:
        print(format_table(rows))
        print("\n" + _summary_line(rows))
    return _exit_status(rows)


def _cmd_ledger(args) -> int:
    from .checks.ledger import write_ledger

    rows = write_ledger(args.json_out, args.nc_out, datasets=_datasets(args.results))
    print(_summary_line(rows))
    print(f"wrote {args.json_out} and {args.nc_out}")
    return _exit_status(rows)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dln", description="dln: the deep linear network companion (theorem ledger).")
    sub = ap.add_subparsers(dest="command", required=True)
    ck = sub.add_parser("check", help="run the theorem ledger directly (seconds) and report pass/erratum/fail")
    ck.add_argument("--json", action="store_true", help="print the ledger rows as JSON instead of a table")
    ck.add_argument("--id", nargs="+", metavar="ID", help="run only these entries (e.g. LM-Thm2 'LM-(2.31)')")
    ck.add_argument("--list", action="store_true", help="list the registered entries without running them")
    ck.add_argument("--results", metavar="DIR", help="read the workflow datasets DIR/<family>.nc where possible")
    ck.set_defaults(func=_cmd_check)
    lg = sub.add_parser("ledger", help="write results/ledger.json and results/ledger.nc")
    lg.add_argument("--results", metavar="DIR", default="results", help="folder with the workflow datasets")
    lg.add_argument("--json-out", default="results/ledger.json")
    lg.add_argument("--nc-out", default="results/ledger.nc")
    lg.set_defaults(func=_cmd_ledger)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dln`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
