"""The blueprint: the papers' claims and definitions as a dependency graph, coloured by the ledger's statuses.

Nodes are the registered claims (:data:`dln.checks.CLAIMS`) and definitions
(:data:`dln.checks.definitions.DEFINITIONS`). A claim has two kinds of edges, both taken from the papers and
recorded once, in the claim's registration (:func:`dln.checks.claim`):

- ``uses``: the claims and definitions its *statement* is about or presupposes;
- ``proof_uses``: the claims and definitions its *printed proof* invokes (for findings and numerical claims:
  what the project's derivation rests on).

A node's status is its ledger status (``pass``, ``erratum``, ``notation``, ``finding``, ``open``, ``fail``;
``definition`` for definitions). A claim whose printed proof uses an erratum node is flagged *proof uses a
corrected step*; its own status stays what its check measured.

Arrows point from what is used to what uses it, so the definitions sit at the top of a drawing and the
theorems that rest on everything sit at the bottom. :func:`to_dot` writes Graphviz DOT, :func:`render_svg`
runs the ``dot`` layout of the ``graphviz-pure`` package (a single self-contained binary from PyPI that
gives the same output on every platform) or a Graphviz ``dot`` on the PATH.
"""

from __future__ import annotations

import graphlib
import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .._errors import DLNError
from . import _claims
from ._claims import PAPERS, STATUSES, anchor
from .definitions import DEFINITIONS

__all__ = [
    "NODE_STATUSES",
    "COLOURS",
    "graph",
    "used_by",
    "validate",
    "view",
    "counts",
    "to_dot",
    "to_json",
    "render_svg",
    "dot_binary",
]

#: Every status a node can have: the ledger's, and ``definition``.
NODE_STATUSES: tuple[str, ...] = ("definition", *STATUSES)

#: Fill colour of each status (colour-blind safe: Okabe-Ito hues, light tints).
COLOURS: dict[str, str] = {
    "definition": "#e8e8e8",
    "pass": "#a6dba0",
    "erratum": "#f4a582",
    "notation": "#c6dbef",
    "finding": "#b2abd2",
    "open": "#fee08b",
    "fail": "#d7191c",
    "unknown": "#ffffff",
}

#: What each status means, for legends.
MEANING: dict[str, str] = {
    "definition": "a definition of a paper",
    "pass": "checked: holds",
    "erratum": "printed statement or step wrong; corrected one holds",
    "notation": "wording or normalization, not an error",
    "finding": "beyond the papers, derived and checked here",
    "open": "left open by the paper; evidence gathered",
    "fail": "check fails",
    "unknown": "not measured in this run",
}


def _claim_url(cid: str, claims_page: str) -> str:
    return f"{claims_page}#{anchor(cid)}"


def used_by(node_id: str, registry: dict | None = None) -> list[str]:
    """The claims whose statement or printed proof uses ``node_id`` (a claim or definition), in registry order."""
    reg = _claims.CLAIMS if registry is None else registry
    return [cid for cid, c in reg.items() if node_id in (*c.uses, *c.proof_uses)]


def definition_anchor(def_id: str) -> str:
    """The HTML anchor of a definition's entry on the blueprint page (``def-fiber``)."""
    return anchor(def_id).replace("claim-", "", 1)


def graph(
    rows: list[dict] | None = None,
    registry: dict | None = None,
    definitions: dict | None = None,
    claims_page: str = "claims.html",
    definitions_page: str = "",
) -> dict:
    """The whole blueprint: ``{"nodes": [...], "edges": [...]}`` (plain JSON data).

    Parameters
    ----------
    rows : list of dict, optional
        Ledger rows (:func:`dln.checks.run_ledger` or ``ledger.json``); they give the claims' statuses.
        Without them every claim has status ``unknown``.
    registry, definitions : dict, optional
        Claims and definitions by ID (default: the registered ones).
    claims_page, definitions_page : str
        Where the nodes' links point: a claim links to ``<claims_page>#claim-...``, a definition to
        ``<definitions_page>#def-...``.

    Returns
    -------
    dict
        ``nodes``: ``{"id", "type" ("claim" or "definition"), "paper", "where", "statement", "kind", "status",
        "name", "url", "corrected_steps"}`` where ``corrected_steps`` lists the erratum nodes the printed proof
        uses; ``edges``: ``{"source", "target", "type"}``, source used by target, type ``statement`` or ``proof``.
    """
    reg = _claims.CLAIMS if registry is None else registry
    defs = DEFINITIONS if definitions is None else definitions
    status = {r["id"]: r["status"] for r in rows or []}
    nodes, edges = [], []
    for d in defs.values():
        nodes.append(
            {
                "id": d.id,
                "type": "definition",
                "paper": d.paper,
                "where": d.where,
                "statement": d.statement,
                "name": d.name,
                "kind": "definition",
                "status": "definition",
                "url": f"{definitions_page}#{definition_anchor(d.id)}",
                "corrected_steps": [],
            }
        )
    for c in reg.values():
        nodes.append(
            {
                "id": c.id,
                "type": "claim",
                "paper": c.paper,
                "where": c.where,
                "statement": c.statement,
                "name": c.where,
                "kind": c.kind,
                "status": status.get(c.id, "unknown"),
                "url": _claim_url(c.id, claims_page),
                "corrected_steps": [u for u in c.proof_uses if u in reg and reg[u].kind == "erratum"],
            }
        )
        for typ, used in (("statement", c.uses), ("proof", c.proof_uses)):
            for u in used:
                edges.append({"source": u, "target": c.id, "type": typ})
    return {"nodes": nodes, "edges": edges}


def validate(g: dict) -> None:
    """Raise :class:`dln.DLNError` unless every edge joins two nodes, no edge repeats and the graph is acyclic."""
    ids = [n["id"] for n in g["nodes"]]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise DLNError(f"blueprint: IDs registered as both a claim and a definition, or twice: {dup}")
    known = set(ids)
    unknown = sorted({f"{e['target']} -> {e['source']}" for e in g["edges"] if e["source"] not in known})
    if unknown:
        raise DLNError(f"blueprint: dependencies on unknown IDs: {unknown}")
    seen = set()
    for e in g["edges"]:
        k = (e["source"], e["target"], e["type"])
        if k in seen:
            raise DLNError(f"blueprint: {e['target']} lists {e['source']} twice among its {e['type']} dependencies")
        seen.add(k)
        if e["source"] == e["target"]:
            raise DLNError(f"blueprint: {e['target']} depends on itself")
    ts = graphlib.TopologicalSorter({i: set() for i in known})
    for e in g["edges"]:
        ts.add(e["target"], e["source"])
    try:
        ts.prepare()
    except graphlib.CycleError as exc:
        raise DLNError(f"blueprint: the dependencies have a cycle: {' -> '.join(exc.args[1])}") from None


def _closure(start: str, step: dict[str, set[str]]) -> set[str]:
    out, todo = set(), [start]
    while todo:
        for nxt in step.get(todo.pop(), ()):
            if nxt not in out:
                out.add(nxt)
                todo.append(nxt)
    return out


def view(g: dict, around: str | None = None, paper: str | None = None) -> dict:
    """A view of the graph: the neighbourhood of one node, or one paper.

    ``around=ID``: the node, everything it rests on (upstream, transitively, through statements and proofs)
    and everything that rests on it (downstream). ``paper=P``: the nodes of paper P and the nodes of other
    papers they use directly (marked ``"context": True``). The nodes keep the graph's order; each gets
    ``"role"``: ``"focus"``, ``"upstream"``, ``"downstream"`` (neighbourhood) or ``"member"``/``"context"``.
    """
    ids = {n["id"] for n in g["nodes"]}
    if around is not None:
        if around not in ids:
            raise DLNError(f"around: unknown ID {around!r}; use 'dln check --list'")
        up: dict[str, set[str]] = {}
        down: dict[str, set[str]] = {}
        for e in g["edges"]:
            up.setdefault(e["target"], set()).add(e["source"])
            down.setdefault(e["source"], set()).add(e["target"])
        upstream, downstream = _closure(around, up), _closure(around, down)
        role = {around: "focus", **{i: "upstream" for i in upstream}, **{i: "downstream" for i in downstream}}
    elif paper is not None:
        if paper not in PAPERS:
            raise DLNError(f"paper: must be one of {sorted(PAPERS)}, got {paper!r}")
        members = {n["id"] for n in g["nodes"] if n["paper"] == paper}
        context = {e["source"] for e in g["edges"] if e["target"] in members} - members
        role = {**{i: "member" for i in members}, **{i: "context" for i in context}}
    else:
        role = {i: "member" for i in ids}
    nodes = [{**n, "role": role[n["id"]]} for n in g["nodes"] if n["id"] in role]
    edges = [e for e in g["edges"] if e["source"] in role and e["target"] in role]
    if paper is not None:  # context nodes show what a paper uses, not what they use themselves
        edges = [e for e in edges if role[e["target"]] == "member"]
    return {"nodes": nodes, "edges": edges}


def counts(g: dict) -> dict[str, dict[str, int]]:
    """Nodes per paper and status: ``{paper: {status: n, ..., "total": n, "corrected_steps": n}}``, and ``"all"``."""
    out: dict[str, dict[str, int]] = {}
    for p in (*PAPERS, "all"):
        nodes = [n for n in g["nodes"] if p == "all" or n["paper"] == p]
        row = {s: sum(n["status"] == s for n in nodes) for s in (*NODE_STATUSES, "unknown")}
        row["total"] = len(nodes)
        row["corrected_steps"] = sum(bool(n["corrected_steps"]) for n in nodes)
        out[p] = row
    return out


def _wrap(text: str, width: int = 24) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines


def _label(n: dict) -> str:
    title = f"<B>{html.escape(n['id'])}</B>"
    sub = n["name"] if n["type"] == "definition" else n["where"].split(", ")[0]
    lines = [html.escape(s) for s in _wrap(sub, 26)[:2]]
    if n["corrected_steps"]:
        lines.append("<I>proof uses a corrected step</I>")
    small = "".join(f'<BR/><FONT POINT-SIZE="9">{s}</FONT>' for s in lines)
    return f"<{title}{small}>"


def to_dot(g: dict, title: str = "dln blueprint", legend: bool = True) -> str:
    """Graphviz DOT of a graph or view: nodes filled by status, linked to their cards; dashed edges are proof uses.

    Definitions are boxes, claims rounded boxes; a claim whose printed proof uses an erratum node has a
    double orange border; in a neighbourhood view the focus has a thick border and the rest of the graph is
    left out; in a paper view the other papers' nodes are drawn faded.
    """
    out = [
        f'digraph "{title}" {{',
        '  graph [rankdir=TB, nodesep=0.25, ranksep=0.45, fontname="Helvetica", fontsize=11, '
        f'tooltip="{html.escape(title)}"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, margin="0.08,0.04"];',
        '  edge [color="#555555", arrowsize=0.6];',
    ]
    for n in g["nodes"]:
        attrs = {
            "label": _label(n),
            "fillcolor": COLOURS.get(n["status"], COLOURS["unknown"]),
            "URL": n["url"],
            "target": "_top",
            "tooltip": f"{n['id']} ({n['status']}): {n['where']}",
            "id": f"node-{anchor(n['id'])}",
        }
        style = ["filled"] + ([] if n["type"] == "definition" else ["rounded"])
        if n["corrected_steps"]:
            attrs.update(color="#d95f02", peripheries="2", penwidth="1.5")
        role = n.get("role", "member")
        if role == "focus":
            attrs["penwidth"] = "3"
        if role == "context":
            style.append("dashed")
            attrs["fontcolor"] = "#666666"
        attrs["style"] = ",".join(style)
        parts = []
        for k, v in attrs.items():
            if k == "label":
                parts.append(f"label={v}")
            else:
                parts.append(f'{k}="{html.escape(str(v), quote=True)}"')
        out.append(f'  "{n["id"]}" [{", ".join(parts)}];')
    for e in g["edges"]:
        style = "dashed" if e["type"] == "proof" else "solid"
        out.append(f'  "{e["source"]}" -> "{e["target"]}" [style={style}];')
    if legend:
        present = [s for s in (*NODE_STATUSES, "unknown") if any(n["status"] == s for n in g["nodes"])]
        rows = "".join(
            f'<TR><TD BGCOLOR="{COLOURS[s]}" WIDTH="18"> </TD><TD ALIGN="LEFT">{s}: {html.escape(MEANING[s])}</TD></TR>'
            for s in present
        )
        rows += '<TR><TD>→</TD><TD ALIGN="LEFT">solid: the statement uses; dashed: the printed proof uses</TD></TR>'
        rows += (
            '<TR><TD BORDER="2" COLOR="#d95f02"> </TD><TD ALIGN="LEFT">double orange border: '
            "the proof uses a corrected step</TD></TR>"
        )
        out.append(
            '  legend [shape=plaintext, style="", label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" '
            f'CELLPADDING="3"><TR><TD COLSPAN="2"><B>Legend</B></TD></TR>{rows}</TABLE>>];'
        )
    out.append("}")
    return "\n".join(out) + "\n"


def to_json(g: dict) -> dict:
    """The graph or view with its summary counts (plain JSON data)."""
    return {**g, "counts": counts(g)}


def dot_binary() -> str | None:
    """The Graphviz layout program: ``DLN_DOT``, else ``graphviz-pure``, else ``dot``."""
    env = os.environ.get("DLN_DOT")
    if env:
        return env
    here = Path(sys.executable).parent / "graphviz-pure"
    if here.exists():
        return str(here)
    return shutil.which("graphviz-pure") or shutil.which("dot")


def render_svg(dot: str, timeout: float = 60.0) -> str:
    """Lay out DOT with Graphviz and return the SVG (without the XML prologue, ready to inline in HTML)."""
    exe = dot_binary()
    if exe is None:
        raise DLNError(
            "format: svg needs Graphviz: install the 'graphviz-pure' package (pip install graphviz-pure, part of "
            "dln's workflow extra) or put Graphviz 'dot' on the PATH (or set DLN_DOT)"
        )
    try:
        proc = subprocess.run(
            [exe, "-Kdot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DLNError(f"format: svg: running {exe} failed: {exc}") from None
    if proc.returncode != 0:
        raise DLNError(f"format: svg: {exe} exited with {proc.returncode}: {proc.stderr.strip()[:500]}")
    svg = proc.stdout
    start = svg.find("<svg")
    if start < 0:
        raise DLNError(f"format: svg: {exe} wrote no SVG")
    return svg[start:]
