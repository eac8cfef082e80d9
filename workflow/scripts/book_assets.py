"""Render the book's figures, tables and numbers from the ledger and the datasets (Snakemake rule ``book_assets``).

Reads ``<results>/ledger.json`` and ``<results>/<family>.nc`` for every family with a book page, and writes
into ``<out>`` (``book/_generated``):

- ``numbers.json``: every number the prose quotes, ``{name: {"value", "definition", "source"}}`` (raw values;
  the book's Sphinx extension formats them). Numbers about a claim are the ledger's own items
  (``<CLAIM>__<item>``, source ``ledger``): the page, the claim cards and ``dln check --results`` show one
  measurement. Descriptive numbers of a dataset (sizes of a sweep, counts) have source ``dataset``;
  ``tests/test_book_numbers.py`` recomputes each of them by its definition.
- ``claim_cards.md`` (every claim as a card), ``checks_<family>.md`` (the claims of one page),
  ``errata_list.md`` (errata and notation), ``tolerances.md``, ``provenance_table.md``;
- ``blueprint*.svg`` (the dependency graph: whole, per paper, around LM-Thm2), ``blueprint_counts.md``,
  ``blueprint_definitions.md``;
- ``figures/<name>.png``: the figures named by each family's ``FIGURES``, drawn by :mod:`dln.figures`;
- ``site/``, published with the book as it is: ``data/<family>.nc`` (the datasets the figures are drawn from)
  and ``code/<path>.html`` (the drawing functions and rules, highlighted, a line anchor ``L-<n>`` per line).
  Every figure caption ends with ``figure_<name>``: links to its dataset, rule and drawing function and the
  command that redraws it.

The book builder never runs a simulation. By hand::

    python workflow/scripts/book_assets.py --results results --out book/_generated
"""

import argparse
import functools
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from dln import __version__, figures  # noqa: E402
from dln import workflow as dlnwf  # noqa: E402
from dln._markdown import fmt, math_block, math_md  # noqa: E402
from dln.checks import CLAIMS, PAPERS, STATUSES, anchor, blueprint  # noqa: E402
from dln.checks._claims import repository_root  # noqa: E402
from dln.checks.definitions import DEFINITIONS  # noqa: E402
from dln.experiments import FAMILIES, book_numbers, family_module  # noqa: E402
from dln.experiments._conventions import git_commit, read_netcdf  # noqa: E402
from dln.figures import FIGURES, reproduce_command  # noqa: E402
from dln.tolerances import TOL  # noqa: E402

#: The repository (Snakemake runs a copy of this script from .snakemake/scripts, so not relative to this file).
ROOT = repository_root()


def key(claim_id: str) -> str:
    """A MyST substitution name for a claim ID: ``LM-(2.31)`` -> ``LM_2_31``."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", claim_id)).strip("_")


@functools.cache
def _book_pages() -> dict[str, str]:
    return dlnwf.book_pages(ROOT / "book")


def page_link(family: str) -> str:
    """A link to a family's page from any page (its document path from the book's root), or the family's name
    where the book has no page for it."""
    page = _book_pages().get(family)
    return f"{{doc}}`/{page}`" if page else f"`{family}`"


def escape(text: str) -> str:
    """Plain text for a Markdown table cell."""
    return re.sub(r"([\\`*_{}\[\]<>|#])", r"\\\1", str(text))


def commit_of(ds) -> str:
    src = str(ds.attrs.get("source", ""))
    m = re.search(r"commit ([0-9a-fA-F]{7,40}(?:-dirty)?|unknown)", src)
    if m is None:
        return "unknown"
    sha = m.group(1)
    return sha[:12] + ("-dirty" if sha.endswith("-dirty") and len(sha) > 18 else "")


ARXIV = re.compile(r"(?<![\[/\w])arXiv:(\d{4}\.\d{4,5})(v\d+)?")


def arxiv_links(text: str) -> str:
    """Every ``arXiv:NNNN.NNNNN[vK]`` of Markdown prose as a link to its abstract page."""
    return ARXIV.sub(lambda m: f"[{m.group(0)}](https://arxiv.org/abs/{m.group(1)}{m.group(2) or ''})", text)


class Assets:
    """Numbers, figures and Markdown of one build."""

    def __init__(self, results: Path, out: Path):
        self.results, self.out = results, out
        self.figdir = out / "figures"
        self.figdir.mkdir(parents=True, exist_ok=True)
        self.site = out / "site"  # published with the book as it is (Sphinx html_extra_path)
        shutil.rmtree(self.site, ignore_errors=True)
        (self.site / "data").mkdir(parents=True)
        self.numbers: dict[str, dict] = {}
        self.figures: list[str] = []

    def num(self, name: str, value, definition: str, source: str) -> None:
        if name in self.numbers:
            raise KeyError(f"number {name!r} defined twice")
        if isinstance(value, np.generic):
            value = value.item()
        self.numbers[name] = {"value": value, "definition": definition, "source": source}

    def write(self, name: str, text: str) -> None:
        if name.endswith(".md"):
            text = arxiv_links(text)
        (self.out / name).write_text(text.rstrip() + "\n")

    def save(self, fig, name: str) -> None:
        figures.save(fig, self.figdir / f"{name}.png")
        self.figures.append(name)


# ------------------------------------------------------------------------------------------------ the ledger


def ledger_numbers(a: Assets, rows: list[dict]) -> None:
    a.num("ledger_n", len(rows), "number of claims in the ledger", "ledger")
    for s in STATUSES:
        a.num(f"ledger_n_{s}", sum(r["status"] == s for r in rows), f"number of claims with status {s}", "ledger")
    for r in rows:
        k = key(r["id"])
        a.num(f"{k}__status", r["status"], f"status of {r['id']}", f"ledger:{r['id']}")
        for item in r["items"]:
            a.num(f"{k}__{item['name']}", item["value"], item["definition"], f"ledger:{r['id']}:{item['name']}")
            extra = item.get("extra") or {}
            for name, v in extra.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    a.num(
                        f"{k}__{item['name']}__{name}",
                        v,
                        f"{name} of {item['name']}",
                        f"ledger:{r['id']}:{item['name']}:{name}",
                    )
        if r["printed"] is not None:
            a.num(f"{k}__printed", r["printed"]["value"], r["printed"]["definition"], f"ledger:{r['id']}:printed")


BADGE = {**{s: s for s in STATUSES}, "fail": "**FAIL**"}


def _item_rows(r: dict) -> list[str]:
    if not r["items"]:
        return ["No number was measured (the error is below)."]
    lines = [
        ":::{list-table}",
        ":header-rows: 1",
        ":class: dln-items",
        ":widths: 22 14 16 48",
        "",
        "* - number",
        "  - value",
        "  - tolerance",
        "  - definition",
    ]
    for it in r["items"]:
        if it["enforced"]:
            rel = {"le": "≤ ", "dev": f"|· − {fmt(it.get('target'))}| ≤ ", "gt": "> ", "eq": "= ", "z": "≤ "}.get(
                it.get("relation", ""), ""
            )
            name = it["tolerance_name"]
            label = f"[{name}](tol-{name})" if name in TOL else name
            tol = f"{rel}{fmt(it.get('tolerance'))} ({label})"
            if it.get("relation") == "eq":
                tol = f"= {fmt(it.get('target'))} (exact)"
            mark = "" if it["holds"] else " **(fails)**"
        else:
            tol, mark = "information", ""
        lines += [
            f"* - `{it['name']}`",
            f"  - {fmt(it['value'])}{mark}",
            f"  - {tol}",
            f"  - {escape(it['definition'])}",
        ]
    lines.append(":::")
    return lines


def _coverage(r: dict) -> str:
    cov = r.get("coverage") or {}
    if not cov:
        return "one configuration"
    return "; ".join(f"{k} ∈ {{{', '.join(str(v) for v in vals)}}}" for k, vals in cov.items())


def claim_cards(a: Assets, rows: list[dict]) -> None:
    """Every claim as a card (anchor ``claim-<id>``), grouped by paper, in registry order."""
    out = []
    for paper, title in PAPERS.items():
        prs = [r for r in rows if r["paper"] == paper]
        if not prs:
            continue
        out += [f"## {paper}: {title}", ""]
        for r in prs:
            c = CLAIMS.get(r["id"])
            out += [f"({anchor(r['id'])})=", f"### {r['id']}: {BADGE[r['status']]}", ""]
            out += [
                f"*{r['where']}* ({r['kind']}). Evidence: `results/{r['family']}.nc`, page {page_link(r['family'])}.",
                "",
            ]
            out += ["**Statement.**", "", math_block(r["statement"]), ""]
            if r["printed_statement"]:
                out += ["**As printed.**", "", math_block(r["printed_statement"]), ""]
            if r["reading"]:
                out += [f"**Reading.** {prose(r['reading'])}", ""]
            if c is not None and c.derivation:
                out += [f"**Derivation.** {c.derivation}", ""]
            out += [f"**Fails if** {escape(r['fails_if'])}.", ""]
            out += _dependency_lines(r)
            out += _item_rows(r) + [""]
            if r["printed"] is not None:
                p = r["printed"]
                forced = (p.get("extra") or {}).get("forced_by_algebra")
                verb = "derived, not measured independently" if forced else "measured"
                out += [
                    f"**The statement as printed** ({verb}): {escape(p['definition'])} = {fmt(p['value'])}, "
                    f"against the tolerance {fmt(p.get('tolerance'))}" + (f". {escape(forced)}" if forced else "."),
                    "",
                ]
            out += [
                f"Coverage: {escape(_coverage(r))}. Checks the library functions "
                + ", ".join(f"`dln.{f}`" for f in r["implements"])
                + f". Data: `{escape(r['data_source'])}`.",
                "",
            ]
            if r["error"]:
                out += ["```text", r["error"].strip()[:2000], "```", ""]
    a.write("claim_cards.md", "\n".join(out))


def _dependency_lines(r: dict) -> list[str]:
    """A claim card's dependencies: what its statement and its printed proof use, and what uses it."""
    c = CLAIMS.get(r["id"])
    if c is None:
        return []

    def ref(i: str) -> str:
        if i in CLAIMS:
            return f"{{ref}}`{i} <{anchor(i)}>`"
        return f"{{ref}}`{i} <{blueprint.definition_anchor(i)}>`"

    used_by = blueprint.used_by(r["id"])
    parts = []
    for label, ids in (("Statement uses", c.uses), ("printed proof uses", c.proof_uses), ("used by", used_by)):
        parts.append(f"{label}: " + (", ".join(ref(i) for i in ids) if ids else "nothing registered"))
    corrected = [i for i in c.proof_uses if i in CLAIMS and CLAIMS[i].kind == "erratum"]
    line = "**Dependencies** ({doc}`blueprint`). " + "; ".join(parts) + "."
    if corrected:
        line += " *The proof uses a corrected step* (" + ", ".join(ref(i) for i in corrected) + ")."
    return [line, ""]


def blueprint_assets(a: Assets, rows: list[dict]) -> None:
    """The blueprint page: SVG drawings of the graph (whole, per paper, around LM-Thm2), counts, definitions."""
    g = blueprint.graph(rows, claims_page="claims.html", definitions_page="")
    blueprint.validate(g)
    views = {"blueprint": blueprint.view(g)}
    views.update({f"blueprint_{p}": blueprint.view(g, paper=p) for p in PAPERS})
    views["blueprint_around_LM-Thm2"] = blueprint.view(g, around="LM-Thm2")
    for name, v in views.items():
        svg = blueprint.render_svg(blueprint.to_dot(v, title=name.replace("_", " ")))
        a.write(f"{name}.svg", f'<div class="dln-blueprint">\n{svg}\n</div>')
    cnt = blueprint.counts(g)
    cols = list(blueprint.NODE_STATUSES)
    lines = [
        "| paper | nodes | " + " | ".join(cols) + " | corrected step in proof |",
        "|---|" + "---|" * (len(cols) + 2),
    ]
    for p in (*PAPERS, "all"):
        c = cnt[p]
        lines.append(f"| {p} | {c['total']} | " + " | ".join(str(c[s]) for s in cols) + f" | {c['corrected_steps']} |")
        for s in (*cols, "total", "corrected_steps"):
            a.num(f"blueprint_{p}_{s}", c[s], f"blueprint nodes of {p} with {s}", "ledger+registry")
    a.write("blueprint_counts.md", "\n".join(lines))
    a.num("blueprint_n_edges", len(g["edges"]), "dependency edges of the blueprint", "registry")
    a.num(
        "blueprint_n_proof_edges",
        sum(e["type"] == "proof" for e in g["edges"]),
        "edges from a printed proof (or a derivation) to what it uses",
        "registry",
    )
    around = views["blueprint_around_LM-Thm2"]["nodes"]
    for role in ("upstream", "downstream"):
        a.num(
            f"blueprint_thm2_{role}",
            sum(n["role"] == role for n in around),
            f"nodes {role} of LM-Thm2",
            "registry",
        )
    out = []
    for d in DEFINITIONS.values():
        used_by = blueprint.used_by(d.id)
        out += [
            f"({blueprint.definition_anchor(d.id)})=",
            f"### {d.id}: {escape(d.name)}",
            "",
            f"*{escape(d.paper)}, {escape(d.where)}.* {math_md(d.statement)}",
            "",
            "Used by: " + (", ".join(f"{{ref}}`{i} <{anchor(i)}>`" for i in used_by) or "nothing registered") + ".",
            "",
        ]
    a.write("blueprint_definitions.md", "\n".join(out))


def summary_table(rows: list[dict], link_page: bool = True) -> list[str]:
    lines = [
        "::::{list-table}",
        ":header-rows: 1",
        ":class: dln-ledger",
        ":widths: 14 12 14 14 46",
        "",
        "* - claim",
        "  - status",
        "  - measured",
        "  - tolerance",
        "  - where in the paper (the statement is on the claim's card)",
    ]
    for r in rows:
        lines += [
            f"* - {{ref}}`{r['id']} <{anchor(r['id'])}>`",
            f"  - {BADGE[r['status']]}",
            f"  - {fmt(r['measured'])}",
            f"  - {fmt(r['tolerance'])}",
            f"  - {escape(r['paper'])}: {escape(r['where'])}" + (f" ({page_link(r['family'])})" if link_page else ""),
        ]
    lines.append("::::")
    return lines


def checks_tables(a: Assets, rows: list[dict], pages: dict[str, list[str]]) -> None:
    """``ledger_table.md`` and, per family page, ``checks_<family>.md``: the data line, then its claims' table."""
    a.write("ledger_table.md", "\n".join(summary_table(rows)))
    for page, names in pages.items():
        prs = [r for r in rows if r["family"] == page]
        text = "\n".join(summary_table(prs, link_page=False)) if prs else "No claim reads this page's dataset."
        a.write(f"checks_{page}.md", data_line(page, names) + "\n\n" + text)


def prose(text: str) -> str:
    """Plain text with ``$...$`` mathematics as Markdown: the text is escaped, the mathematics kept."""
    parts = re.split(r"(\$[^$]+\$)", str(text))
    return "".join(p if p.startswith("$") and p.endswith("$") and len(p) > 1 else escape(p) for p in parts)


def errata(a: Assets, rows: list[dict]) -> None:
    """Every erratum and notation claim: the statement as printed and corrected (display mathematics, one line per
    part), the reading, and each measured residual as a formula with its value."""
    out = []
    for kind, title in (("erratum", "Errata"), ("notation", "Notation and wording")):
        prs = [r for r in rows if r["kind"] == kind]
        out += [f"## {title}", ""]
        if not prs:
            out += ["None in this build.", ""]
        for r in prs:
            c = CLAIMS[r["id"]]
            out += [
                f"### {r['id']}: {BADGE[r['status']]}",
                "",
                f"Claim card: {{ref}}`{r['id']} <{anchor(r['id'])}>`.",
                "",
                f"*{r['where']}*. Discussed on {page_link(r['family'])}.",
                "",
                "- **As printed:**",
                "",
                math_block(r["printed_statement"], indent="  "),
                f"- **{'Corrected' if kind == 'erratum' else 'Read as'}:**",
                "",
                math_block(r["statement"], indent="  "),
            ]
            if r["reading"]:
                out.append(f"- **Why it is not an error:** {prose(r['reading'])}")
            if r["measured"] is not None:
                out += [
                    f"- **{'Corrected statement' if kind == 'erratum' else 'Under this reading'}, measured:** "
                    f"the residual",
                    "",
                    math_block(c.residual_tex, indent="  "),
                    "",
                    f"  is {fmt(r['measured'])} (tolerance {fmt(r['tolerance'])}).",
                ]
            if r["printed"] is not None:
                p = r["printed"]
                forced = (p.get("extra") or {}).get("forced_by_algebra")
                out += [
                    "- **Printed statement, measured:** the residual",
                    "",
                    math_block(c.printed_residual_tex or escape(p["definition"]), indent="  "),
                    "",
                    f"  is {fmt(p['value'])} (the printed statement would need it below {fmt(p.get('tolerance'))})"
                    + (f"; derived by algebra, not an independent measurement: {escape(forced)}." if forced else "."),
                ]
            out.append("")
    a.write("errata_list.md", "\n".join(out))
    a.num("errata_n", sum(r["kind"] == "erratum" for r in rows), "number of errata claims", "ledger")
    a.num("notation_n", sum(r["kind"] == "notation" for r in rows), "number of notation claims", "ledger")


def tolerances(a: Assets) -> None:
    out = []
    for name, t in TOL.items():
        out += [f"({'tol-' + name})=", f"**`{name}` = {fmt(t.value)}**: {escape(t.reason)}", ""]
    a.write("tolerances.md", "\n".join(out))


def provenance(a: Assets, datasets: dict) -> None:
    lines = [
        "::::{list-table} The datasets read by this build (global attributes of each file).",
        ":header-rows: 1",
        ":name: provenance-table",
        ":widths: 18 34 14 16 18",
        "",
        "* - file",
        "  - title",
        "  - commit",
        "  - created",
        "  - dimensions",
    ]
    for family, ds in datasets.items():
        dims = ", ".join(f"{k} = {v}" for k, v in ds.sizes.items())
        lines += [
            f"* - `results/{family}.nc`",
            f"  - {escape(ds.attrs.get('title', ''))}",
            f"  - `{commit_of(ds)}`",
            f"  - {ds.attrs.get('date_created', '')}",
            f"  - {escape(dims)}",
        ]
    lines.append("::::")
    a.write("provenance_table.md", "\n".join(lines))


# ------------------------------------------------------------------------------------------------ datasets


def descriptive(a: Assets, family: str, ds) -> list[str]:
    """The family's numbers about its dataset (:func:`dln.experiments.book_numbers`); returns their names."""
    numbers = book_numbers(family, ds)
    for name, n in numbers.items():
        a.num(name, n["value"], n["definition"], n["source"])
    return list(numbers)


def data_line(family: str, names: list[str]) -> str:
    """The first line of a page's checks: the sweep of its dataset, every value a substitution of numbers.json."""
    swept = [n for n in names if not n.endswith("__jobs")]
    parts = [f"{n.split('__', 1)[1]} = {{{{ {n} }}}}" for n in swept]
    return (
        f"Data of this page: `results/{family}.nc`, {{{{ {family}__jobs }}}} sweep point(s)"
        + (f" ({'; '.join(parts)})" if parts else "")
        + "."
    )


def rule_source(family: str) -> tuple[str, int]:
    """The workflow file (relative to the repository) defining the rule ``family``, and the rule's line: a rule of
    that name, else the simulation rule that ``families.smk`` defines for every family."""
    pattern = re.compile(rf"\s*(?:use\s+)?rule\s+{re.escape(family)}\b")
    generic = ROOT / "workflow" / "rules" / "families.smk"
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for i, text in enumerate(path.read_text().splitlines(), 1):
            if pattern.match(text):
                return path.relative_to(ROOT).as_posix(), i
    for i, text in enumerate(generic.read_text().splitlines(), 1):
        if text.strip() == "rule:":
            return generic.relative_to(ROOT).as_posix(), i
    raise KeyError(f"no workflow/rules/*.smk defines the rule {family!r}")


def code_page(a: Assets, rel: str, commit: str) -> str:
    """Publish one source file of the repository as a highlighted HTML page with a line anchor ``L-<n>`` per line;
    return its path in the published site."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_for_filename, guess_lexer_for_filename

    text = (ROOT / rel).read_text()
    try:
        lexer = get_lexer_for_filename(rel if not rel.endswith(".smk") else rel[: -len(".smk")] + ".py")
    except Exception:  # an unknown suffix: pygments guesses from the content
        lexer = guess_lexer_for_filename(rel, text)
    title = f"{rel} (dln {__version__}, commit {commit})"
    fmt_ = HtmlFormatter(full=True, linenos="table", lineanchors="L", anchorlinenos=True, title=title, wrapcode=True)
    site_path = f"code/{rel}.html"
    out = a.site / site_path
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(highlight(text, lexer, fmt_))
    return site_path


def figure_captions(a: Assets, datasets: dict) -> None:
    """Per figure, the caption's last line: its dataset (a link to the published copy), the rule and the drawing
    function (links to their source at this build's commit) and the command that redraws it."""
    commit = git_commit()
    short = commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")
    for family in datasets:
        shutil.copyfile(a.results / f"{family}.nc", a.site / "data" / f"{family}.nc")
    pages: dict[str, str] = {}
    for name, fig in FIGURES.items():
        rel, line = fig.source()
        if rel not in pages:
            pages[rel] = code_page(a, rel, short)
        rule, rule_line = rule_source(fig.family)
        if rule not in pages:
            pages[rule] = code_page(a, rule, short)
        a.num(
            f"figure_{name}",
            f'Data: <a class="dln-dataset" href="data/{fig.family}.nc">results/{fig.family}.nc</a> '
            f"(commit `{commit_of(datasets[fig.family])}`), from the rule "
            f'<a class="dln-rule" href="{pages[rule]}#L-{rule_line}">{fig.family}</a>; drawn by '
            f'<a class="dln-code" href="{pages[rel]}#L-{line}">{fig.dotted_name}</a> '
            f"(commit `{short}`). Reproduce: `{reproduce_command(name)}`",
            f"provenance of figure {name}: dataset, rule, drawing function, command",
            f"dataset:{fig.family}:attrs:source",
        )


# ------------------------------------------------------------------------------------------------ pages


def toc(a: Assets) -> None:
    """``_toc.yml``: the book's table of contents (:func:`dln.workflow.book_toc`)."""
    import yaml

    a.write("_toc.yml", yaml.safe_dump(dlnwf.book_toc(ROOT / "book"), sort_keys=False))


def pages_table(a: Assets) -> None:
    """``pages_table.md``: every family's page with its papers and what it shows (the first line of its module's
    docstring), in book order; the index page includes it."""
    lines = ["| Page | Papers | What it shows |", "| --- | --- | --- |"]
    for family, fam in FAMILIES.items():
        lines.append(f"| {page_link(family)} | {', '.join(fam.REFERENCES)} | {prose(fam.description)} |")
    a.write("pages_table.md", "\n".join(lines))


def figure_title(name: str) -> str:
    """The first line of a figure's drawing function's docstring (the caption's title on a rendered page)."""
    doc = figures.FIGURES[name].function.__doc__ or name
    return doc.strip().splitlines()[0].rstrip(".")


def family_pages(a: Assets) -> None:
    """The page of every family without prose of its own (``book/<family>.md``): its title, summary and module
    docstring, its figures and its checks, at ``_generated/pages/<family>.md``."""
    shutil.rmtree(a.out / dlnwf.GENERATED_PAGES.removeprefix("_generated/"), ignore_errors=True)
    for family, page in _book_pages().items():
        if not page.startswith(dlnwf.GENERATED_PAGES):
            continue
        fam = FAMILIES[family]
        doc = (fam.module.__doc__ or "").strip().split("\n\n")
        lines = [f"# {prose(fam.TITLE)}", "", prose(fam.SUMMARY), ""]
        if len(doc) > 1:
            lines += [prose(" ".join(doc[1].split())), ""]
        if fam.FIGURES:
            lines += ["## Figures", ""]
        for name in fam.FIGURES:
            title = prose(figure_title(name))
            lines += [
                f"```{{figure}} ../figures/{name}.png",
                f":name: fig-{name.replace('_', '-')}",
                f":alt: {title}",
                ":width: 100%",
                "",
                f"**{title}.** {{{{ figure_{name} }}}}",
                "```",
                "",
            ]
        lines += ["## Checks on this page", "", f"```{{include}} ../checks_{family}.md", "```"]
        path = a.out / f"{page.removeprefix('_generated/')}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        a.write(path.relative_to(a.out).as_posix(), "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Render the book's figures, tables and numbers from the workflow's data.")
    ap.add_argument("--results", default=os.environ.get("DLN_RESULTS", "results"), help="results directory")
    ap.add_argument("--out", default="book/_generated", help="output directory")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    a = Assets(Path(args.results), Path(args.out))
    rows = json.loads((a.results / "ledger.json").read_text())
    ledger_numbers(a, rows)
    a.num("ledger_false_fail", TOL["ledger_false_fail"].value, TOL["ledger_false_fail"].reason, "tolerances")
    claim_cards(a, rows)
    errata(a, rows)
    blueprint_assets(a, rows)
    tolerances(a)
    datasets, pages = {}, {}
    for family in FAMILIES:
        ds = read_netcdf(a.results / f"{family}.nc")
        datasets[family] = ds
        pages[family] = descriptive(a, family, ds)
        for name in family_module(family).FIGURES:
            a.save(figures.draw(name, ds), name)
    checks_tables(a, rows, pages)
    provenance(a, datasets)
    figure_captions(a, datasets)
    toc(a)
    pages_table(a)
    family_pages(a)
    (a.out / "numbers.json").write_text(json.dumps(a.numbers, indent=1, sort_keys=True) + "\n")
    print(
        f"book_assets: {len(a.figures)} figures, {len(a.numbers)} numbers in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    return 0


if "snakemake" in globals():  # run by the Snakemake rule `book_assets` (script: directive)
    with open(snakemake.log[0], "w") as _log:
        sys.stderr = _log
        try:
            main(
                [
                    "--results",
                    str(Path(snakemake.input.ledger).parent),
                    "--out",
                    str(Path(snakemake.output.numbers).parent),
                ]
            )
        except Exception:
            import traceback

            traceback.print_exc(file=_log)
            raise
elif __name__ == "__main__":
    sys.exit(main())
