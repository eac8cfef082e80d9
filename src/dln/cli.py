"""The ``dln`` command line.

``dln check [--id ID ...] [--results DIR] [--json]``
    Evaluate the claims (default: all): each family's small LEDGER sweep is simulated in memory, or, with
    ``--results DIR``, the workflow's ``DIR/<family>.nc`` are read. Prints a table (ID, status, the primary
    measured number and its tolerance, the dataset) or the rows as JSON. Exit status 0 when no claim fails,
    1 otherwise, 2 for usage errors (an unknown ID).

``dln check --list [--json]``
    Every claim: ID, kind, paper and place, statement, what would fail it, tolerance and its reason.

``dln check --graph [--format dot|json|svg] [--around ID | --paper P] [--ledger FILE] [--out FILE]``
    The blueprint: claims and definitions as a dependency graph (what each statement and each printed proof
    uses), coloured by status (:mod:`dln.checks.blueprint`). Statuses come from ``--ledger FILE`` or from
    evaluating the graph's claims.

``dln check --where ID``
    Everything about one claim: the paper and place, the statement, its measurement and the library
    functions it checks (file:line), its tests, rule, dataset, figures and book page.

``dln ledger [--results DIR] [--json-out PATH] [--nc-out PATH]``
    Write ``ledger.json`` and ``ledger.nc`` from the workflow's datasets (what the Snakemake rule does).

``dln figure NAME [--results DIR] [--out FILE]``, ``dln figure --list``
    Draw one figure of the book from ``DIR/<family>.nc`` exactly as the book's rule ``book_assets`` does
    (:mod:`dln.figures`); ``--list`` names every figure, its dataset and the function that draws it.

``dln mutate [--function NAME ...] [--kind KIND ...] [--full] [--json]``
    Mutation testing of the ledger (:mod:`dln.checks.mutation`): perturb each public function the claims
    check and report which claims notice.

``dln repro compare [--results DIR] [--numbers FILE] [--reference FILE] [--config FILE] [--update] [--json]``
    Compare a run (``DIR/ledger.json``, the book's ``numbers.json``, the data hashes of ``DIR/*.nc``) with a
    committed reference (default ``reference/ci.json``), each value within its named tolerance
    (:mod:`dln.repro`); prints what moved and ``N values compared, K out of tolerance, M missing, L new``.
    Exit status 0 when nothing is out of tolerance or missing, 1 otherwise, 2 for bad input. ``--update``
    rewrites the reference from the run and says how many entries changed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["main", "format_table"]


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def format_table(rows: list[dict]) -> str:
    """A plain-text table of ledger rows: ID, status, primary number, tolerance, printed, seconds, dataset."""
    head = ("ID", "status", "measured", "tolerance", "printed", "s", "evidence")
    body = []
    for r in rows:
        printed = r.get("printed") or {}
        body.append(
            (
                r["id"],
                r["status"],
                _fmt(r["measured"]),
                _fmt(r["tolerance"]),
                _fmt(printed.get("value")),
                f"{r['seconds']:.2f}",
                r["family"] + (" (file)" if str(r.get("data_source", "")).endswith(".nc") else ""),
            )
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)))
    for r in rows:
        if r["status"] == "fail":
            failing = [i for i in r["items"] if i.get("enforced") and not i.get("holds")]
            why = (r.get("error") or "").strip().splitlines()[:1] or [
                f"{i['name']} = {_fmt(i['value'])} (tolerance {_fmt(i.get('tolerance'))})" for i in failing
            ]
            lines.append(f"\n{r['id']} fails: {'; '.join(why)}")
    return "\n".join(lines)


def _summary_line(rows: list[dict]) -> str:
    from .checks.ledger import summarize

    s = summarize(rows)
    parts = ", ".join(f"{n} {k}" for k, n in s["counts"].items())
    line = f"{s['total']} claims: {parts}"
    if s["failed"]:
        line += " (failed: " + ", ".join(s["failed"]) + ")"
    return line


def _ids(args) -> list[str] | None:
    """``--id A --id B,C`` -> [A, B, C] (None: all)."""
    if not args.id:
        return None
    out = []
    for group in args.id:
        for item in group:
            out += [x.strip() for x in item.split(",") if x.strip()]
    return out


def _cmd_check(args) -> int:
    from .checks import _claims

    reg = _claims.CLAIMS
    if args.graph:
        return _cmd_graph(args)
    if args.where:
        if args.where not in reg:
            print(f"dln check: unknown ID {args.where!r}; use 'dln check --list'", file=sys.stderr)
            return 2
        info = _claims.where(args.where)
        if args.json:
            print(json.dumps(info, indent=1))
        else:
            print(_format_where(info))
        return 0
    if args.list:
        from .tolerances import TOL

        listing = []
        for c in reg.values():
            listing.append(
                {
                    "id": c.id,
                    "kind": c.kind,
                    "paper": c.paper,
                    "where": c.where,
                    "statement": c.statement,
                    "fails_if": c.fails_if,
                    "printed_statement": c.printed_statement,
                    "reading": c.reading,
                    "derivation": c.derivation,
                    "uses": list(c.uses),
                    "family": c.family,
                    "stochastic": c.stochastic,
                }
            )
        try:
            if args.json:
                print(json.dumps(listing, indent=1))
            else:
                for e in listing:
                    print(f"{e['id']}  [{e['kind']}, {e['paper']}: {e['where']}]")
                    print(f"    statement: {e['statement']}")
                    if e["printed_statement"]:
                        print(f"    as printed: {e['printed_statement']}")
                    if e["reading"]:
                        print(f"    reading: {e['reading']}")
                    if e["derivation"]:
                        print(f"    derivation: {e['derivation']}")
                    print(f"    fails if: {e['fails_if']}")
                    if e["uses"]:
                        print(f"    uses: {', '.join(e['uses'])}")
                    print(f"    evidence: results/{e['family']}.nc" + (" (Monte Carlo)" if e["stochastic"] else ""))
                print("\ntolerances (dln.tolerances.TOL):")
                for name, t in TOL.items():
                    print(f"  {name} = {t.value:g}: {t.reason}")
        except BrokenPipeError:  # `dln check --list | head`
            sys.stderr.close()
            return 0
        return 0
    ids = _ids(args)
    unknown = [i for i in (ids or []) if i not in reg]
    if unknown:
        print(f"dln check: unknown ID(s) {unknown}; use 'dln check --list'", file=sys.stderr)
        return 2
    from .checks.ledger import _jsonable, run_ledger

    rows = [_jsonable(r) for r in run_ledger(ids, results=args.results, jobs=args.jobs)]
    if args.json:
        print(json.dumps(rows, indent=1, allow_nan=False))
    else:
        print(format_table(rows))
        print("\n" + _summary_line(rows))
    return 1 if any(r["status"] == "fail" for r in rows) else 0


def _cmd_graph(args) -> int:
    """``dln check --graph``: the blueprint (whole, one paper, or around one claim) as DOT, JSON or SVG."""
    from pathlib import Path

    from ._errors import DLNError
    from .checks import blueprint

    try:
        if args.around and args.paper:
            raise DLNError("--around and --paper: give one view at a time")
        whole = blueprint.graph()
        blueprint.validate(whole)
        claim_ids = [
            n["id"]
            for n in blueprint.view(whole, around=args.around, paper=args.paper)["nodes"]
            if n["type"] == "claim"
        ]
        if args.ledger:
            try:
                rows = json.loads(Path(args.ledger).read_text())
            except (OSError, ValueError) as exc:
                raise DLNError(f"ledger: cannot read {args.ledger}: {exc}") from None
            if not isinstance(rows, list) or not all(isinstance(r, dict) and "id" in r and "status" in r for r in rows):
                raise DLNError(f"ledger: {args.ledger} is not a list of ledger rows (objects with 'id' and 'status')")
        else:
            from .checks.ledger import run_ledger

            rows = run_ledger(claim_ids, results=args.results, jobs=args.jobs)
        g = blueprint.view(blueprint.graph(rows), around=args.around, paper=args.paper)
        title = "dln blueprint" + (
            f" around {args.around}" if args.around else f" of {args.paper}" if args.paper else ""
        )
        if args.format == "json":
            text = json.dumps(blueprint.to_json(g), indent=1) + "\n"
        else:
            text = blueprint.to_dot(g, title=title)
            if args.format == "svg":
                text = blueprint.render_svg(text)
    except DLNError as exc:
        print(f"dln check --graph: {exc}", file=sys.stderr)
        return 2
    if args.out:
        tmp = Path(args.out + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, args.out)
    else:
        try:
            sys.stdout.write(text)
        except BrokenPipeError:
            sys.stderr.close()
    return 1 if any(n["status"] == "fail" for n in g["nodes"]) else 0


def _format_where(info: dict) -> str:
    lines = [
        f"{info['id']} ({info['kind']})",
        f"  paper:       {info['paper']}",
        f"  where:       {info['where']}",
        f"  statement:   {info['statement']}",
    ]
    if info.get("printed_statement"):
        lines.append(f"  as printed:  {info['printed_statement']}")
    lines += [
        f"  fails if:    {info['fails_if']}",
        f"  measurement: {info['measurement']}",
        f"  experiment:  {info['experiment']}",
        "  implements:",
    ]
    lines += [f"    dln.{name}  {loc}" for name, loc in info["implements"].items()]
    lines.append("  tests:" if info["tests"] else "  tests:       (none marked)")
    lines += [f"    {t}" for t in info["tests"]]
    lines += [f"  rule:        {info['rule']}", f"  dataset:     {info['dataset']}"]
    lines.append("  figures:     " + (", ".join(info["figures"]) or "(none)"))
    lines.append(f"  book:        {info['book_page']}")
    for key, label in (("uses", "uses"), ("proof_uses", "proof uses"), ("used_by", "used by")):
        lines.append(f"  {label + ':':<13}" + (", ".join(info[key]) or "(nothing registered)"))
    if info.get("dependency_note"):
        lines.append(f"  dependencies: {info['dependency_note']}")
    return "\n".join(lines)


def _cmd_ledger(args) -> int:
    from .checks.ledger import write_ledger

    rows = write_ledger(args.json_out, args.nc_out, results=args.results, history=" ".join(["dln", *sys.argv[1:]]))
    print(_summary_line(rows))
    print(f"wrote {args.json_out} and {args.nc_out}")
    return 1 if any(r["status"] == "fail" for r in rows) else 0


def _cmd_mutate(args) -> int:
    from .checks import mutation

    funcs = [f for group in (args.function or []) for f in group] or None
    kinds = [k for group in (args.kind or []) for k in group] or list(mutation.KINDS)

    def progress(r):
        if not args.json:
            killers = ", ".join(r["killed_by"]) or "-"
            print(f"{r['function']:<26} {r['kind']:<10} {r['outcome']:<11} {killers}", flush=True)

    results = mutation.run_all(funcs, kinds=kinds, full=args.full, progress=progress, jobs=args.jobs)
    s = mutation.score(results)
    if args.json:
        print(json.dumps({"results": results, "score": s}, indent=1))
    else:
        print(
            f"\n{s['killed']} killed, {s['survived']} survived, {s['equivalent']} equivalent, "
            f"{s['not_applicable']} not applicable: mutation score {100 * s['score']:.1f} %"
        )
    return 0 if s["survived"] == 0 else 1


def _cmd_repro(args) -> int:
    """``dln repro compare``: the run against the committed reference (or ``--update``: the reference from the run)."""
    from . import repro
    from ._errors import DLNError

    try:
        # --update may create the reference; a comparison needs it
        reference = None if args.update and not os.path.exists(args.reference) else repro.read_reference(args.reference)
        config = args.config or (reference.header.get("config") if reference else None) or "config/ci.yaml"
        run = repro.snapshot(args.results, args.numbers, config=config)
        if args.update:
            changes = repro.update_reference(run, args.reference)
        else:
            comparison = repro.compare(reference, run)
    except DLNError as exc:
        print(f"dln repro compare: {exc}", file=sys.stderr)
        return 2
    if args.update:
        if args.json:
            print(json.dumps({"reference": args.reference, **changes, "notes": run.notes}, indent=1))
        else:
            for note in run.notes:
                print(f"note: {note}")
            print(
                f"wrote {args.reference}: {changes['entries']} values ({changes['ledger']} ledger, {changes['book']} "
                f"book), {changes['hashes']} data hashes, {changes['skipped']} skipped; {changes['changed']} changed, "
                f"{changes['added']} added, {changes['removed']} removed, {changes['hashes_changed']} hashes changed"
            )
        return 0
    if args.json:
        print(json.dumps(comparison.to_json(), indent=1, allow_nan=False))
    else:
        print(repro.format_comparison(comparison))
    return 0 if comparison.ok else 1


def _cmd_figure(args) -> int:
    from . import figures
    from ._errors import DLNError
    from .experiments import read_netcdf

    if args.list or not args.name:
        for f in figures.FIGURES.values():
            path, line = f.source()
            print(f"{f.name:<26} results/{f.family}.nc  {f.dotted_name} ({path}:{line})")
        return 0 if args.list else 2
    if args.name not in figures.FIGURES:
        print(f"dln figure: unknown figure {args.name!r}; use 'dln figure --list'", file=sys.stderr)
        return 2
    fig = figures.FIGURES[args.name]
    data = os.path.join(args.results, f"{fig.family}.nc")
    if not os.path.exists(data):
        print(
            f"dln figure: {data} does not exist; compute it with 'bash run.sh all {data}'",
            file=sys.stderr,
        )
        return 2
    try:
        ds = read_netcdf(data)
    except (OSError, ValueError, DLNError) as exc:
        print(f"dln figure: cannot read {data}: {exc}", file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    out = figures.save(figures.draw(args.name, ds), args.out or f"{args.name}.png")
    print(f"{out}: figure {args.name} drawn by {fig.dotted_name} from {data}")
    return 0


def _parse_assignment(text: str) -> tuple[str, object]:
    """``key=value`` with the value read as YAML (``3`` an integer, ``0.5`` a number, ``[1, 2]`` a list).

    Exponent notation without a dot or sign, ``1e10``, is a number as in YAML 1.2 (YAML 1.1, and so PyYAML,
    reads it as a string); ``"1e10"`` (quoted) stays a string."""
    import yaml

    from .workflow import yaml12_load

    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"expected key=value, got {text!r}")
    try:
        return key.strip(), yaml12_load(raw)
    except yaml.YAMLError as exc:
        raise ValueError(f"{key}: cannot read the value {raw!r} ({exc})") from None


def _family_help(family) -> str:
    rows = [f"parameters of {family.name} ({family.description}):", ""]
    for p in family.spec:
        default = "" if p.kind == "array" else f" (default {p.default!r})"
        rows.append(f"  {p.name}={p.kind}{default}{' [sweepable]' if p.sweep else ''}")
        rows.append(f"      {p.description}; {p.allowed()}; units {p.units}")
    for rule in family.spec.rules:
        rows.append(f"  rule: {rule}")
    return "\n".join(rows)


def _cmd_run(args) -> int:
    import time

    from ._errors import DLNError
    from .experiments import FAMILIES
    from .workflow import job_id

    if args.family is None or args.family not in FAMILIES:
        if args.family is not None:
            print(f"dln run: unknown family {args.family!r}", file=sys.stderr)
        print("usage: dln run FAMILY [key=value ...] [--out FILE]; families: " + ", ".join(FAMILIES), file=sys.stderr)
        return 0 if args.help and args.family is None else 2
    fam = FAMILIES[args.family]
    if args.help:
        print(_family_help(fam))
        return 0
    try:
        given = dict(_parse_assignment(a) for a in args.assignments)
        params = fam.resolve(given)
    except (ValueError, DLNError) as exc:
        print(f"dln run: {exc}\n(see: dln run {fam.name} --help)", file=sys.stderr)
        return 2
    point = {k: params[k] for k in given}
    out = args.out or os.path.join("runs", fam.name, f"{job_id(point) if point else 'defaults'}.nc")
    t0, c0 = time.monotonic(), time.process_time()
    try:
        ds = fam.aggregate([fam.simulate(params)])
    except DLNError as exc:
        print(f"dln run: {fam.name} {json.dumps(params, default=str)}: {exc}", file=sys.stderr)
        return 1
    from .experiments import write_netcdf

    write_netcdf(ds, out)
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    print(f"{out}: {ds.attrs.get('title', fam.name)} ({wall:.1f} s wall, {cpu:.1f} CPU-s)")
    print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items() if not isinstance(v, list)))
    scalars = [n for n, v in ds.data_vars.items() if v.size == 1 and v.dtype.kind in "fiu"]
    for name in scalars[: args.max_lines]:
        print(f"  {name:<28} {float(ds[name].values.ravel()[0]): .6g}   {ds[name].attrs.get('long_name', '')[:70]}")
    if len(scalars) > args.max_lines:
        print(f"  ... and {len(scalars) - args.max_lines} more scalar variables (all in {out})")
    if args.figures:
        _run_figures(fam, ds, out)
    return 0


def _run_figures(fam, ds, out: str) -> None:
    import matplotlib

    from . import figures

    matplotlib.use("Agg")
    for name in fam.FIGURES:
        path = os.path.splitext(out)[0] + f".{name}.png"
        try:
            figures.save(figures.draw(name, ds), path)
            print(f"figure {name}: {path}")
        except Exception as exc:  # a figure that needs a sweep this one run does not have
            print(f"figure {name}: not drawn from one run ({type(exc).__name__}: {str(exc)[:100]})")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dln", description="dln: the deep linear network companion (ledger of claims).")
    sub = ap.add_subparsers(dest="command", required=True)
    ck = sub.add_parser("check", help="evaluate the claims (in memory, or from the workflow's datasets)")
    ck.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ck.add_argument(
        "--id",
        nargs="+",
        action="append",
        metavar="ID",
        help="only these claims (repeat the option or separate IDs by commas)",
    )
    ck.add_argument("--list", action="store_true", help="list the claims with statements and tolerances")
    ck.add_argument("--where", metavar="ID", help="show a claim's source, code, tests, rule, dataset and page")
    ck.add_argument("--results", metavar="DIR", help="read the workflow datasets DIR/<family>.nc")
    ck.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="in memory: simulate the families in N processes (default: min(4, CPUs))",
    )
    gr = ck.add_argument_group("blueprint (--graph)")
    gr.add_argument("--graph", action="store_true", help="write the dependency graph of the claims (the blueprint)")
    gr.add_argument("--format", choices=("dot", "json", "svg"), default="dot", help="graph format (default dot)")
    gr.add_argument("--around", metavar="ID", help="only what ID rests on and what rests on it")
    gr.add_argument("--paper", metavar="P", help="only the nodes of paper P (LM, MY, CKM, NUM) and what they use")
    gr.add_argument(
        "--ledger",
        metavar="FILE",
        help="statuses from this ledger.json (default: evaluate the claims of the graph, in memory or from --results)",
    )
    gr.add_argument("--out", metavar="FILE", help="write the graph to FILE instead of standard output")
    ck.set_defaults(func=_cmd_check)
    lg = sub.add_parser("ledger", help="write ledger.json and ledger.nc from the workflow's datasets")
    lg.add_argument("--results", metavar="DIR", default="results", help="folder with the workflow datasets")
    lg.add_argument("--json-out", default="results/ledger.json")
    lg.add_argument("--nc-out", default="results/ledger.nc")
    lg.set_defaults(func=_cmd_ledger)
    mu = sub.add_parser("mutate", help="mutation testing of the ledger")
    mu.add_argument("--function", nargs="+", action="append", metavar="NAME", help="only these dln functions")
    mu.add_argument("--kind", nargs="+", action="append", metavar="KIND", help="only these mutant kinds")
    mu.add_argument("--full", action="store_true", help="evaluate every listed claim (not only up to a failure)")
    mu.add_argument("--json", action="store_true", help="print JSON")
    mu.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    mu.set_defaults(func=_cmd_mutate)
    rp = sub.add_parser("repro", help="reproducibility: compare a run with a committed reference")
    rp_sub = rp.add_subparsers(dest="repro_command", required=True)
    rc = rp_sub.add_parser("compare", help="compare the run's ledger, book numbers and data hashes with a reference")
    rc.add_argument("--results", metavar="DIR", default="results", help="the run's results folder (ledger.json, *.nc)")
    rc.add_argument("--numbers", metavar="FILE", default="book/_generated/numbers.json", help="the book's numbers")
    rc.add_argument("--reference", metavar="FILE", default="reference/ci.json", help="the committed reference")
    rc.add_argument(
        "--config",
        metavar="FILE",
        help="the run's workflow configuration (default: the reference's, else config/ci.yaml)",
    )
    rc.add_argument("--update", action="store_true", help="rewrite the reference from the run")
    rc.add_argument("--json", action="store_true", help="print JSON")
    rc.set_defaults(func=_cmd_repro)
    fg = sub.add_parser("figure", help="draw one figure of the book from its dataset")
    fg.add_argument("name", nargs="?", help="the figure's name (see --list)")
    fg.add_argument("--list", action="store_true", help="list the figures, their datasets and drawing functions")
    fg.add_argument("--results", metavar="DIR", default="results", help="folder with the workflow datasets")
    fg.add_argument("--out", metavar="FILE", help="output PNG (default: <name>.png in the current folder)")
    fg.set_defaults(func=_cmd_figure)
    rn = sub.add_parser(
        "run",
        add_help=False,
        help="run one job of a family outside the workflow: dln run FAMILY key=value ...",
        description="Simulate one job of an experiment family with the given parameters (the others take their "
        "defaults), write its dataset and print a summary. `dln run FAMILY --help` lists the parameters.",
    )
    rn.add_argument("family", nargs="?", help="the family (dln.experiments.FAMILIES)")
    rn.add_argument("assignments", nargs="*", metavar="key=value", help="parameters (values read as YAML)")
    rn.add_argument("-h", "--help", action="store_true", help="list the family's parameters")
    rn.add_argument("--out", metavar="FILE", help="the dataset (default runs/<family>/<key=value,...>.nc)")
    rn.add_argument("--no-figures", dest="figures", action="store_false", help="do not draw the family's figures")
    rn.add_argument("--max-lines", type=int, default=20, metavar="N", help="scalar variables printed (default 20)")
    rn.set_defaults(func=_cmd_run)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dln`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (`dln ... | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
