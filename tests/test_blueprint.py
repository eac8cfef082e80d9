"""The blueprint: the claims' dependency graph (dln.checks.blueprint) and ``dln check --graph``."""

from __future__ import annotations

import json
import re

import pytest

from dln import DLNError, cli
from dln.checks import CLAIMS, DEFINITIONS, PAPERS, STATUSES, anchor, blueprint, claim
from dln.checks.definitions import Definition


@pytest.fixture(scope="module")
def g():
    return blueprint.graph()


def _fake_rows(status_of=lambda c: c.status_if_holds):
    return [{"id": cid, "status": status_of(c)} for cid, c in CLAIMS.items()]


def test_graph_is_valid_acyclic_and_covers_every_claim(g):
    blueprint.validate(g)
    ids = {n["id"] for n in g["nodes"]}
    assert set(CLAIMS) | set(DEFINITIONS) == ids
    assert len(CLAIMS) >= 40 and len(g["nodes"]) >= 40
    # an independent topological order: every edge goes from an earlier to a later node
    order, left = [], {n["id"]: {e["source"] for e in g["edges"] if e["target"] == n["id"]} for n in g["nodes"]}
    while left:
        ready = sorted(i for i, deps in left.items() if not deps - set(order))
        assert ready, f"a cycle among {sorted(left)}"
        order += ready
        for i in ready:
            del left[i]
    pos = {i: k for k, i in enumerate(order)}
    assert all(pos[e["source"]] < pos[e["target"]] for e in g["edges"])


def test_every_claim_records_where_its_dependencies_come_from():
    for cid, c in CLAIMS.items():
        assert c.uses, f"{cid}: its statement uses nothing registered"
        assert len(c.dependency_note.strip()) > 20, f"{cid}: no note on where the dependencies are visible"
        assert cid not in (*c.uses, *c.proof_uses)
    used = {u for c in CLAIMS.values() for u in (*c.uses, *c.proof_uses)}
    unused = sorted(set(DEFINITIONS) - used)
    assert not unused, f"definitions no claim uses: {unused}"
    for d in DEFINITIONS.values():
        assert d.paper in PAPERS and d.where.strip() and d.statement.strip()


def test_every_paper_view_holds_its_claims(g):
    for paper in PAPERS:
        v = blueprint.view(g, paper=paper)
        members = {n["id"] for n in v["nodes"] if n["role"] == "member"}
        assert {cid for cid, c in CLAIMS.items() if c.paper == paper} <= members
        assert all(n["paper"] != paper for n in v["nodes"] if n["role"] == "context")
        assert all(e["target"] in members for e in v["edges"])
    assert {n["paper"] for n in g["nodes"]} <= set(PAPERS)


def test_printed_proofs_of_lm_rest_on_the_registered_lemmas():
    """The chain of LM §2: Lemma 5 and Remark 9 prove Theorem 2; Theorem 10 and (2.31) give Corollary 1."""
    assert {"LM-Lem5", "LM-Rem9"} <= set(CLAIMS["LM-Thm2"].proof_uses)
    assert "LM-Thm10" in CLAIMS["LM-Cor1"].proof_uses
    assert {"LM-Lem3", "LM-Lem4"} & set(CLAIMS["LM-Lem5"].proof_uses)


def _upstream_bfs(g, start):
    parents = {}
    for e in g["edges"]:
        parents.setdefault(e["target"], []).append(e["source"])
    seen, stack = set(), [start]
    while stack:
        for p in parents.get(stack.pop(), []):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


@pytest.mark.parametrize("cid", [*CLAIMS, *DEFINITIONS])
def test_neighbourhood_view_of_every_node(g, cid):
    v = blueprint.view(g, around=cid)
    role = {n["id"]: n["role"] for n in v["nodes"]}
    assert role[cid] == "focus"
    up = {i for i, r in role.items() if r == "upstream"}
    assert up == _upstream_bfs(g, cid)
    down = {i for i, r in role.items() if r == "downstream"}
    assert all(cid in _upstream_bfs(g, i) for i in down)
    assert not up & down  # acyclic
    assert blueprint.to_dot(v).count(" -> ") == len(v["edges"])


def test_thm2_neighbourhood(g):
    v = blueprint.view(g, around="LM-Thm2")
    up = {n["id"] for n in v["nodes"] if n["role"] == "upstream"}
    assert {"LM-Lem5", "LM-Rem9", "LM-Lem4", "DEF-fiber", "DEF-moment"} <= up


def test_corrected_steps_flag_the_users_of_errata_and_keep_their_status():
    rows = _fake_rows()
    g = blueprint.graph(rows)
    status = {r["id"]: r["status"] for r in rows}
    for n in g["nodes"]:
        if n["type"] != "claim":
            continue
        want = [u for u in CLAIMS[n["id"]].proof_uses if CLAIMS.get(u) and CLAIMS[u].kind == "erratum"]
        assert n["corrected_steps"] == want
        assert n["status"] == status[n["id"]]
    flagged = {n["id"] for n in g["nodes"] if n["corrected_steps"]}
    assert "LM-Thm2" in flagged  # its printed proof uses Remark 9, whose sign is wrong
    c = blueprint.counts(g)
    assert c["all"]["total"] == len(CLAIMS) + len(DEFINITIONS)
    assert c["all"]["definition"] == len(DEFINITIONS)
    for s in STATUSES:
        assert c["all"][s] == sum(r["status"] == s for r in rows)
    assert sum(c[p]["total"] for p in PAPERS) == c["all"]["total"]


def test_validate_rejects_unknown_ids_cycles_and_repeats():
    regs: dict = {}

    def reg(cid, uses, proof=()):
        claim(
            cid,
            paper="NUM",
            where="a place in a paper",
            statement="a statement",
            family="fibers",
            implements=("moments",),
            fails_if="it fails",
            uses=uses,
            proof_uses=proof,
            registry=regs,
        )(lambda ds: None)

    defs = {"DEF-x": Definition("DEF-x", "NUM", "somewhere", "x", "x = 1")}
    reg("T-1", ("DEF-x",))
    reg("T-2", ("T-1",), ("DEF-x",))
    blueprint.validate(blueprint.graph(registry=regs, definitions=defs))
    reg("T-3", ("T-4",))
    reg("T-4", ("DEF-x",), ("T-3",))
    with pytest.raises(DLNError, match="cycle"):
        blueprint.validate(blueprint.graph(registry=regs, definitions=defs))
    regs.pop("T-3"), regs.pop("T-4")
    reg("T-5", ("DEF-nope",))
    with pytest.raises(DLNError, match="unknown IDs.*DEF-nope"):
        blueprint.validate(blueprint.graph(registry=regs, definitions=defs))
    regs.pop("T-5")
    reg("T-6", ("T-1", "T-1"))
    with pytest.raises(DLNError, match="twice"):
        blueprint.validate(blueprint.graph(registry=regs, definitions=defs))


def test_dot_and_svg_link_every_node(g):
    dot = blueprint.to_dot(g)
    for n in g["nodes"]:
        assert f'"{n["id"]}" [' in dot
    svg = blueprint.render_svg(dot)
    assert svg.startswith("<svg")
    links = set(re.findall(r'xlink:href="([^"]+)"', svg))
    for cid in CLAIMS:
        assert f"claims.html#{anchor(cid)}" in links, cid
    for did in DEFINITIONS:
        assert f"#{blueprint.definition_anchor(did)}" in links, did


def test_cli_graph_json_around_with_a_ledger_file(tmp_path, capsys):
    ledger = tmp_path / "ledger.json"
    rows = _fake_rows()
    ledger.write_text(json.dumps(rows))
    assert cli.main(["check", "--graph", "--format", "json", "--around", "LM-Thm2", "--ledger", str(ledger)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {n["id"]: n["role"] for n in data["nodes"]}["LM-Thm2"] == "focus"
    status = {r["id"]: r["status"] for r in rows}
    assert all(n["status"] == status.get(n["id"], "definition") for n in data["nodes"])
    out = tmp_path / "g.svg"
    assert (
        cli.main(["check", "--graph", "--format", "svg", "--paper", "CKM", "--ledger", str(ledger), "--out", str(out)])
        == 0
    )
    assert out.read_text().startswith("<svg")
    assert cli.main(["check", "--graph", "--around", "NOPE", "--ledger", str(ledger)]) == 2
    assert "unknown ID" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    for text in ("{not json", '{"id": "LM-Thm2"}', '[{"id": "LM-Thm2"}]'):
        bad.write_text(text)
        assert cli.main(["check", "--graph", "--ledger", str(bad)]) == 2
        assert "ledger:" in capsys.readouterr().err
    # a failing claim makes the graph command fail too
    rows[0]["status"] = "fail"
    ledger.write_text(json.dumps(rows))
    assert cli.main(["check", "--graph", "--ledger", str(ledger), "--out", str(tmp_path / "g.dot")]) == 1
    assert 'fillcolor="#d7191c"' in (tmp_path / "g.dot").read_text()
