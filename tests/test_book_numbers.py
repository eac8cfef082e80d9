"""Every number the book quotes is the number its definition gives, recomputed here by another route.

The book's pages write numbers only as MyST substitutions (``{{ LM_Thm2__G_rel_err_max }}``) filled from
``book/_generated/numbers.json``, which the rule ``book_assets`` writes with each number's definition and
source. For the book built from a results folder (see ``conftest.book_build``):

- a number from the ledger (source ``ledger:<ID>:<item>``) equals, to print precision, the item that
  ``dln check --results <results>`` computes now from the same datasets;
- a number describing a dataset (source ``dataset:<family>:...``) is recomputed from the job files of the
  workflow (``results/<family>/jobs/*.nc``: their count and the parameters in their ``config`` attribute),
  not from the aggregated dataset the book read;
- every substitution a page uses exists, and appears formatted in the page's HTML;
- the prose holds no typed-in measured number (a decimal or scientific literal outside math, code and
  references to the papers' numbering).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import netCDF4
import pytest

from dln._markdown import fmt
from dln.checks import STATUSES, run_ledger
from dln.tolerances import TOL

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SUBST = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@pytest.fixture(scope="module")
def numbers(book_build) -> dict:
    return json.loads((book_build["generated"] / "numbers.json").read_text())


@pytest.fixture(scope="module")
def rows_now(book_build) -> dict:
    """The ledger recomputed now from the datasets the book was built from (``dln check --results``)."""
    return {r["id"]: r for r in run_ledger(results=book_build["results"])}


def _pages() -> list[Path]:
    return sorted(BOOK.glob("*.md"))


def test_every_substitution_exists_and_is_rendered(numbers, book_build):
    for page in _pages():
        source = re.sub(r"```(?!\{).*?```", "", page.read_text(), flags=re.S)  # code blocks (not directives)
        used = set(SUBST.findall(re.sub(r"`[^`\n]*`", "", source)))
        missing = used - set(numbers)
        assert not missing, (page.name, missing)
        text = html.unescape((book_build["html"] / f"{page.stem}.html").read_text())
        for name in used:
            value = fmt(numbers[name]["value"]).strip("$")  # math is rendered by MathJax from its source
            if name.startswith("figure_"):
                value = value.split("<")[0]  # the links and inline code are marked up
            assert value in text, (page.name, name, value)


def test_ledger_numbers_equal_dln_check(numbers, rows_now):
    checked = 0
    for name, num in numbers.items():
        src = num["source"]
        if not src.startswith("ledger:"):
            continue
        parts = src.split(":")
        row = rows_now[parts[1]]
        if len(parts) == 2:
            now = row["status"]
        elif parts[2] == "printed":
            now = row["printed"]["value"]
        else:
            item = next(i for i in row["items"] if i["name"] == parts[2])
            now = item["value"] if len(parts) == 3 else item["extra"][parts[3]]
        assert fmt(num["value"]) == fmt(now), (name, num["value"], now)
        checked += 1
    assert checked >= len(rows_now)


def test_ledger_counts(numbers, rows_now):
    rows = list(rows_now.values())
    assert numbers["ledger_n"]["value"] == len(rows)
    for status in STATUSES:
        assert numbers[f"ledger_n_{status}"]["value"] == sum(r["status"] == status for r in rows)
    assert numbers["ledger_n_fail"]["value"] == 0
    assert numbers["errata_n"]["value"] == sum(r["kind"] == "erratum" for r in rows)
    assert numbers["notation_n"]["value"] == sum(r["kind"] == "notation" for r in rows)
    assert numbers["ledger_false_fail"]["value"] == TOL["ledger_false_fail"].value


def _job_configs(results: Path, family: str) -> list[dict]:
    """The parameters of every point of the family's sweep, as the job files record them (a file of a chunk of
    points lists them in its attribute ``dln_points``)."""
    configs = []
    for path in sorted((results / family / "jobs").glob("*.nc")):
        with netCDF4.Dataset(path) as nc:
            if "dln_points" in nc.ncattrs():
                configs.extend(json.loads(nc.getncattr("dln_points")))
            else:
                configs.append(json.loads(nc.getncattr("config")))
    return configs


def test_dataset_numbers_from_the_job_files(numbers, book_build):
    checked = 0
    for name, num in numbers.items():
        src = num["source"].split(":")
        if src[0] != "dataset":
            continue
        family = src[1]
        configs = _job_configs(book_build["results"], family)
        if family == "lm_figures":  # one job, written by its own rule
            assert (book_build["results"] / "lm_figures.nc").exists()
            configs = configs or [{}]
        assert configs, family
        if src[2] == "attrs":  # the provenance line: the commit of the aggregated file
            with netCDF4.Dataset(book_build["results"] / f"{family}.nc") as nc:
                source = nc.getncattr("source")
            commit = re.search(r"commit `([^`]+)`", num["value"]).group(1)
            assert commit.removesuffix("-dirty")[:12] in source, (name, commit, source)
        elif src[2] == "jobs":
            assert num["value"] == len(configs), (name, num["value"], len(configs))
        else:
            dim = src[2]
            vals = sorted({c[dim] for c in configs}, key=lambda v: (isinstance(v, str), v))
            got = sorted(num["value"], key=lambda v: (isinstance(v, str), v))
            assert got == vals, (name, num["value"], vals)
        checked += 1
    assert checked > 0


#: Where a number may stand in prose: the papers' numbering (Theorem 1.2, eq. 2.31, §4.1, Figure 1.3, ...),
#: arXiv identifiers and software versions.
ALLOWED_BEFORE = re.compile(
    r"(Theorems?|Thms?\.?|Lemmas?|Lem\.?|Remarks?|Rmk\.?|Rem\.?|Corollary|Cor\.?|Definitions?|Def\.?|"
    r"Figures?|Fig\.?|Figs\.?|Sections?|eqs?\.?|§|arXiv:|arxiv\.org/abs/|Propositions?|Prop\.?|and|to|,|-|–|\(|version|v|"
    r"Python)\s*$",
    re.IGNORECASE,
)


def _prose(text: str) -> str:
    text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code and directives
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)  # display math
    text = re.sub(r"\$[^$\n]+\$", "", text)  # inline math
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code and roles' targets
    text = re.sub(r"\{\{[^}]*\}\}", "", text)  # substitutions
    text = re.sub(r"\([a-z]+[-a-z0-9]*\)=", "", text)  # labels
    return text


def test_no_typed_in_numbers_in_prose():
    number = re.compile(r"(?<![\w.])(\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+)(?![\w])")
    found = []
    for page in _pages():
        prose = _prose(page.read_text())
        for m in number.finditer(prose):
            before = prose[max(0, m.start() - 14) : m.start()]
            if ALLOWED_BEFORE.search(before):
                continue
            found.append((page.name, prose[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ")))
    assert not found, found
