"""Hash the data of every netCDF file under a results folder (not its attributes or timestamps).

Two clean runs of the workflow must print the same hashes (CI checks it):

    python workflow/scripts/hash_results.py results            # results/*.nc
    python workflow/scripts/hash_results.py results --jobs     # also results/*/jobs/*.nc
    python workflow/scripts/hash_results.py results --ignore-var seconds   # the ledger's run times vary

Each file's hash covers, for every variable (data variables and coordinates, sorted by
name): its name, dimensions, shape, dtype and raw values as stored. Global and variable
attributes (``history``, ``date_created``, ``source`` ...) are deliberately excluded.
Prints one JSON object {relative path: sha256 hex, ..., "total": sha256 of all}. The hashing is
:func:`dln.repro.hash_dataset` (``dln repro compare`` stores the same hashes in its reference).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

from dln.repro import hash_results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default="results", help="results folder (default: results)")
    ap.add_argument("--jobs", action="store_true", help="also hash the per-job files")
    ap.add_argument("--exclude", action="append", default=[], help="file name to leave out (repeatable)")
    ap.add_argument(
        "--ignore-var",
        action="append",
        default=[],
        help="variable to leave out of every file's hash (repeatable), e.g. the ledger's run times: seconds",
    )
    args = ap.parse_args(argv)
    hashes = hash_results(args.results, jobs=args.jobs, ignore_vars=tuple(args.ignore_var))
    if args.exclude:
        hashes = {k: v for k, v in hashes.items() if k not in args.exclude and k != "total"}
        hashes["total"] = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    if len(hashes) == 1:
        print(f"no netCDF files under {args.results}", file=sys.stderr)
        return 1
    json.dump(hashes, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
