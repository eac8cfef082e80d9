"""The built book, opened in headless Chromium.

Uses ``book/_build/html`` when it is already built and not older than its inputs (e.g. by
``bash run.sh all``), or when ``DLN_RESULTS`` names the results directory it was built from; otherwise
builds the book of the CI configuration in a temporary copy of the repository with
``snakemake --cores 2 book --configfile config/ci.yaml`` (every simulation, the ledger, the book: about
2-3 minutes on 2 cores), leaving the repository's ``results/`` alone. Then every page of the table of
contents is opened in headless Chromium, driven over the DevTools protocol (with tornado's websocket
client, a dependency of Jupyter Book), and the test checks that

- every page loads (HTTP 200 from a local server, no error page, the page's title present);
- every ``<img>`` is loaded and non-empty (``naturalWidth`` and ``naturalHeight`` > 0);
- math renders: MathJax has typeset every math element (``mjx-container`` elements present, no error nodes);
- the claims page has one card per claim of ``results/ledger.json``, and the errata page one section per
  erratum and per notation claim;
- every internal link of the HTML points to an existing file, and every figure caption names its data;
- the blueprint page draws every claim and definition, each node links to an existing claim card or definition,
  and its counts (also on the landing page) equal those of ``results/ledger.json``.

Skipped if Chromium is missing, unless ``DLN_REQUIRE_ALL=1`` (then it fails). Set
``DLN_BOOK_SCREENSHOTS=<dir>`` to keep a full-page PNG screenshot of every page.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import BOOK, missing

# slow: without a current build the fixture runs the CI workflow (about 2-3 minutes on 2 cores)
pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PAGE_TIMEOUT_S = 30.0


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _toc_pages() -> list[str]:
    from dln import workflow

    toc = workflow.book_toc(BOOK)  # what book_assets writes to _generated/_toc.yml
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for ch in part.get("chapters", []):
            pages.append(ch["file"])
    return pages


@pytest.fixture(scope="module")
def built_book(book_build) -> Path:
    return book_build["html"]


def ledger_rows(data) -> list[dict]:
    """The entries of ledger.json: a list of rows, or a dict holding one (e.g. under "entries")."""
    if isinstance(data, list):
        return data
    for key in ("entries", "checks", "rows", "ledger"):
        if isinstance(data.get(key), list):
            return data[key]
    for value in data.values():
        if isinstance(value, list) and value and isinstance(value[0], dict) and "id" in value[0]:
            return value
    raise ValueError("ledger.json: no list of entries found")


def _ledger_rows(results: Path) -> list[dict]:
    return ledger_rows(json.loads((results / "ledger.json").read_text()))


# ----------------------------------------------------------------------------------------------
# Static checks (no browser)
# ----------------------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if tag in ("a", "img", "link", "script") and a.get(key):
                self.refs.append(a[key])


def test_the_table_of_contents_has_every_family_once_on_its_written_page():
    """The contents are rendered from dln.experiments.PARTS: every family of the package once, in book order, and
    each on its written page book/<family>.md (a rendered default page is for families without prose)."""
    from dln import workflow
    from dln.experiments import NAMES

    toc = workflow.book_toc(BOOK)
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    assert len(files) == len(set(files))
    assert [f for f in files if f in NAMES] == list(NAMES)
    assert all((BOOK / f"{f}.md").is_file() for f in files)


def test_every_toc_page_is_built(built_book):
    missing = [p for p in _toc_pages() if not (built_book / f"{p}.html").exists()]
    assert not missing, f"pages of _toc.yml missing from the HTML: {missing}"


def test_internal_links_resolve(built_book):
    broken = []
    for page in sorted(built_book.rglob("*.html")):
        if "_static" in page.parts:
            continue
        parser = _Links()
        parser.feed(page.read_text(errors="replace"))
        for ref in parser.refs:
            url = urlparse(ref)
            if url.scheme or url.netloc or ref.startswith(("#", "mailto:", "data:")):
                continue
            target = (page.parent / unquote(url.path)).resolve()
            if not target.exists():
                broken.append(f"{page.relative_to(built_book)} -> {ref}")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:30])


def test_figure_captions_name_rule_dataset_and_commit(built_book):
    for page in _toc_pages():
        html = (built_book / f"{page}.html").read_text()
        n_fig = html.count('<figure class="align-default" id="fig-') + html.count("<figure class=")
        if n_fig == 0:
            continue
        # every figure caption carries a provenance line: dataset, rule, drawing function, commit, command
        n_prov = html.count('Data: <a class="dln-dataset"')
        assert n_prov >= html.count("<figcaption"), f"{page}: a figure caption lacks its provenance"
        assert "results/" in html and "commit" in html


# ----------------------------------------------------------------------------------------------
# Headless Chromium over the DevTools protocol
# ----------------------------------------------------------------------------------------------

PAGE_PROBE = r"""
(async () => {
  if (document.readyState !== 'complete') {
    await new Promise(r => window.addEventListener('load', r, {once: true}));
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = [...document.images].map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                                               w: i.naturalWidth, h: i.naturalHeight}));
  return JSON.stringify({
    title: document.title,
    h1: (document.querySelector('main h1, article h1, h1') || {}).textContent || '',
    imgs: imgs,
    mathSource: document.querySelectorAll('span.math, div.math').length,
    mjx: document.querySelectorAll('mjx-container').length,
    mjxErrors: document.querySelectorAll('mjx-merror').length,
    rawTex: [...document.querySelectorAll('span.math, div.math')].filter(
        e => !e.querySelector('mjx-container')).length,
    claimCards: document.querySelectorAll('[id^="claim-"]').length,
    h3: [...document.querySelectorAll('h3')].map(h => h.textContent.replace(/\s+/g, ' ').trim()),
    anchors: [...document.querySelectorAll('[id]')].map(e => e.id),
    blueprintSvgs: document.querySelectorAll('div.dln-blueprint svg').length,
    blueprintNodes: [...document.querySelectorAll('div.dln-blueprint g.node')].map(g => {
      const a = g.querySelector('a');
      return {title: (g.querySelector('title') || {}).textContent || '',
              href: a ? (a.getAttribute('xlink:href') || a.getAttribute('href')) : null};
    }),
    // horizontal overflow at this window width: the page itself, and any table, equation, figure or code block
    // that sticks out of the article column without a scrollable box of its own around it, or that is cut off by
    // a box that hides its overflow
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    overflow: (() => {
      const article = document.querySelector('article') || document.querySelector('main') || document.body;
      const right = article.getBoundingClientRect().right;
      const out = [];
      const scrollBox = e => {
        for (let a = e.parentElement; a && a !== article.parentElement; a = a.parentElement) {
          const ox = getComputedStyle(a).overflowX;
          if (ox === 'auto' || ox === 'scroll') return a;
        }
        return null;
      };
      const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
          (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '');
      const boxes = 'table, div.math, mjx-container[display="true"], img, pre, svg, figure';
      for (const e of article.querySelectorAll(boxes)) {
        const r = e.getBoundingClientRect();
        if (r.width === 0) continue;
        const box = scrollBox(e);
        if (!box && r.right > right + 1) out.push({what: name(e), by: Math.round(r.right - right), kind: 'sticks out'});
      }
      // a box that hides its overflow cuts off content when what it holds is wider than the box itself
      // (MathJax's own internals and its off-screen assistive MathML are not content)
      for (const e of article.querySelectorAll('*')) {
        if (e.tagName.startsWith('MJX-') || e.closest('mjx-assistive-mml') || e instanceof SVGElement) continue;
        const st = getComputedStyle(e);
        if (!['hidden', 'clip'].includes(st.overflowX) || st.display === 'inline') continue;
        const box = e.getBoundingClientRect();
        if (box.width === 0) continue;
        let widest = 0;
        for (const c of e.children) {
          if (c.tagName === 'MJX-ASSISTIVE-MML') continue;
          widest = Math.max(widest, c.getBoundingClientRect().right - box.left);
        }
        if (widest > box.width + 1) out.push({what: name(e), by: Math.round(widest - box.width), kind: 'clipped',
                                              text: e.textContent.slice(0, 60)});
      }
      return out;
    })(),
    // tables that need sideways scrolling to show all their columns
    tableScroll: [...document.querySelectorAll('article table')].map(t => {
      const box = t.parentElement;
      return {n: t.rows.length, head: (t.querySelector('th') || {}).textContent || '',
              hidden: Math.max(0, box.scrollWidth - box.clientWidth,
                               t.getBoundingClientRect().width - box.clientWidth)};
    }).filter(t => t.hidden > 1).concat(
      // a formula in a cell that scrolls hides part of itself (a number's exponent, say)
      [...document.querySelectorAll('article table span.math')].filter(e => e.scrollWidth > e.clientWidth + 1).map(
        e => ({n: 1, head: 'formula ' + e.textContent.slice(0, 30), hidden: e.scrollWidth - e.clientWidth}))),
    figures: [...document.querySelectorAll('figure')].map(f => {
      const img = f.querySelector('img');
      const cap = f.querySelector('figcaption');
      return {id: f.id, alt: img ? (img.getAttribute('alt') || '') : null, src: img ? img.getAttribute('src') : null,
              fullSize: img && img.parentElement.tagName === 'A' ? img.parentElement.getAttribute('href') : null,
              links: cap ? [...cap.querySelectorAll('a')].map(a => a.getAttribute('href')) : []};
    }),
    imgAlts: [...document.images].map(i => ({src: i.getAttribute('src'), alt: i.getAttribute('alt') || ''})),
    countsTables: [...document.querySelectorAll('table')].filter(
        t => (t.querySelector('th') || {}).textContent === 'paper').map(
        t => [...t.querySelectorAll('tr')].map(r => [...r.children].map(c => c.textContent.trim()))),
  });
})()
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _CDP:
    """A minimal DevTools-protocol client on tornado's websocket."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    @classmethod
    async def connect(cls, url: str) -> _CDP:
        from tornado.websocket import websocket_connect

        return cls(await websocket_connect(url, max_message_size=64 * 2**20))

    async def call(self, method: str, timeout: float = PAGE_TIMEOUT_S, **params):
        self.next_id += 1
        mid = self.next_id
        await self.ws.write_message(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"DevTools call {method} timed out")
            msg = await asyncio.wait_for(self.ws.read_message(), left)
            if msg is None:
                raise ConnectionError("DevTools websocket closed")
            data = json.loads(msg)
            if data.get("id") == mid:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data["result"]


def _start_chromium(binary: str, profile: Path) -> tuple[subprocess.Popen, str]:
    args = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        "--window-size=1280,1000",
        "about:blank",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return proc, lines[0]
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("chromium did not open its DevTools port within 30 s")


async def _probe_pages(port: str, base: str, pages: list[str], shots: Path | None) -> dict[str, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(req, timeout=30) as resp:
        target = json.loads(resp.read())
    cdp = await _CDP.connect(target["webSocketDebuggerUrl"])
    await cdp.call("Page.enable")
    await cdp.call("Runtime.enable")
    out = {}
    for page in pages:
        url = f"{base}/{page}.html"
        nav = await cdp.call("Page.navigate", url=url)
        if nav.get("errorText"):
            out[page] = {"error": nav["errorText"]}
            continue
        res = await cdp.call(
            "Runtime.evaluate", expression=PAGE_PROBE, awaitPromise=True, returnByValue=True, timeout=PAGE_TIMEOUT_S
        )
        if "exceptionDetails" in res:
            out[page] = {"error": str(res["exceptionDetails"])}
            continue
        out[page] = json.loads(res["result"]["value"])
        if shots is not None:
            import base64

            metrics = await cdp.call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            clip = {"x": 0, "y": 0, "width": 1280, "height": min(float(size["height"]), 12000.0), "scale": 1}
            shot = await cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
            (shots / f"{page}.png").write_bytes(base64.b64decode(shot["data"]))
    cdp.ws.close()
    return out


@pytest.fixture(scope="module")
def browser_report(built_book) -> dict[str, dict]:
    binary = _chromium()
    if binary is None:
        missing("chromium is not installed (apt-get install chromium)")
    handler = functools.partial(_Quiet, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    shots = os.environ.get("DLN_BOOK_SCREENSHOTS")
    shot_dir = Path(shots) if shots else None
    if shot_dir is not None:
        shot_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dln-chromium-") as tmp:
        proc, port = _start_chromium(binary, Path(tmp))
        try:
            report = asyncio.run(asyncio.wait_for(_probe_pages(port, base, _toc_pages(), shot_dir), timeout=120))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            server.shutdown()
            server.server_close()
    return report


def test_every_page_loads(browser_report):
    for page in _toc_pages():
        r = browser_report[page]
        assert "error" not in r, f"{page}: {r.get('error')}"
        assert r["title"] and "Error response" not in r["title"], f"{page}: bad title {r['title']!r}"
        assert r["h1"].strip(), f"{page}: no heading"


def test_every_image_is_present_and_non_empty(browser_report):
    n = 0
    for page, r in browser_report.items():
        for img in r["imgs"]:
            n += 1
            assert img["complete"] and img["w"] > 0 and img["h"] > 0, f"{page}: image {img['src']} did not load"
    assert n >= 4, "the book shows fewer figures than LM Figures 1.1-1.3 and CKM Figure 1"


def test_math_renders(browser_report):
    pages_with_math = 0
    for page, r in browser_report.items():
        assert r["mjxErrors"] == 0, f"{page}: MathJax reported {r['mjxErrors']} errors"
        assert r["rawTex"] == 0, f"{page}: {r['rawTex']} math elements were not typeset"
        if r["mathSource"]:
            pages_with_math += 1
            assert r["mjx"] >= r["mathSource"], f"{page}: {r['mjx']} rendered of {r['mathSource']} math elements"
    assert pages_with_math >= 8


def test_one_card_per_claim_and_one_section_per_erratum(browser_report, book_build):
    rows = _ledger_rows(book_build["results"])
    assert browser_report["claims"]["claimCards"] == len(rows)
    for kind in ("erratum", "notation"):
        want = sorted(r["id"] for r in rows if r["kind"] == kind)
        shown = sorted(h.split(":")[0] for h in browser_report["errata"]["h3"] if h.rstrip("#¶ ").endswith(kind))
        assert shown == want, (kind, shown, want)


def test_no_horizontal_overflow_at_1280_px(browser_report):
    """At a 1280-px window no page scrolls sideways, every table shows all its columns (cells wrap), and no
    formula, figure or code block sticks out of the text column (a wide formula scrolls inside its own box) or is
    cut off by a box that hides its overflow."""
    bad = {}
    for page, r in browser_report.items():
        problems = list(r["overflow"])
        for t in r["tableScroll"]:
            what = f"table ({t['head']!r}, {t['n']} rows)"
            problems.append({"what": what, "by": t["hidden"], "kind": "hides columns"})
        if r["pageOverflow"] > 0:
            problems.append({"what": "page", "by": r["pageOverflow"], "kind": "scrolls sideways"})
        if problems:
            bad[page] = problems[:5]
    assert not bad, f"horizontal overflow at 1280 px: {bad}"


def test_every_image_has_alt_text_that_describes_it(browser_report):
    """Alt text is a description (several words), not a file name or a path."""
    n = 0
    for page, r in browser_report.items():
        for img in r["imgAlts"]:
            src = img["src"] or ""
            if "_static/" in src:  # the theme's logo
                continue
            n += 1
            alt = img["alt"].strip()
            assert len(alt.split()) >= 8, f"{page}: image {src} has no descriptive alt text: {alt!r}"
            assert not re.search(r"\.(png|svg|jpe?g)\b|/", alt), f"{page}: alt text of {src} is a path: {alt!r}"
    assert n >= 16, f"only {n} images with alt text"


def test_every_figure_links_its_dataset_rule_and_code_and_opens_at_full_size(browser_report, built_book):
    """Every figure's caption links its dataset (a published netCDF file that opens), the rule and the drawing
    function (published source with the linked line), and the image links to itself at full size."""
    from netCDF4 import Dataset

    n = 0
    for page, r in browser_report.items():
        for fig in r["figures"]:
            if fig["src"] is None:
                continue
            n += 1
            assert fig["fullSize"] and (built_book / unquote(fig["fullSize"])).exists(), (page, fig["id"])
            data = [h for h in fig["links"] if h and h.endswith(".nc")]
            assert data, f"{page}: figure {fig['id']} links no dataset"
            for href in data:
                path = built_book / unquote(href)
                assert path.exists(), f"{page}: figure {fig['id']} links a missing dataset {href}"
                with Dataset(path) as nc:
                    assert nc.variables, href
            code = [h for h in fig["links"] if h and h.startswith("code/")]
            assert len(code) >= 2, f"{page}: figure {fig['id']} links neither rule nor drawing function: {fig['links']}"
            for href in code:
                target, _, line = href.partition("#")
                html_text = (built_book / unquote(target)).read_text()
                assert f'id="{line}"' in html_text, f"{page}: {href}: no line anchor {line}"
    assert n >= 16


def _expected_counts(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Nodes per paper and status, counted from the ledger rows and the registered definitions."""
    from dln.checks import PAPERS
    from dln.checks.definitions import DEFINITIONS

    out = {}
    for p in (*PAPERS, "all"):
        prs = [r for r in rows if p == "all" or r["paper"] == p]
        defs = [d for d in DEFINITIONS.values() if p == "all" or d.paper == p]
        row = {s: sum(r["status"] == s for r in prs) for s in {r["status"] for r in rows}}
        row["definition"] = len(defs)
        row["nodes"] = len(prs) + len(defs)
        out[p] = row
    return out


def test_blueprint_nodes_link_to_claim_cards_and_counts_match_the_ledger(browser_report, book_build):
    rows = _ledger_rows(book_build["results"])
    bp = browser_report["blueprint"]
    assert bp["blueprintSvgs"] >= 6, "the blueprint page lacks its drawings"
    whole = {n["title"]: n["href"] for n in bp["blueprintNodes"]}
    from dln.checks.definitions import DEFINITIONS

    assert {r["id"] for r in rows} | set(DEFINITIONS) <= set(whole), "a claim or definition is missing from the graph"
    claim_anchors = set(browser_report["claims"]["anchors"])
    bp_anchors = set(bp["anchors"])
    for title, href in whole.items():
        if title == "legend":
            continue
        assert href, f"blueprint node {title} has no link"
        page, _, frag = href.partition("#")
        assert frag, (title, href)
        target = claim_anchors if page == "claims.html" else bp_anchors if page == "" else None
        assert target is not None and frag in target, f"blueprint node {title} links to a missing anchor {href}"
    want = _expected_counts(rows)
    for page in ("blueprint", "index"):
        tables = browser_report[page]["countsTables"]
        assert tables, f"{page}: no table of blueprint counts"
        head, *body = tables[0]
        for line in body:
            got = dict(zip(head, line, strict=True))
            exp = want[got["paper"]]
            assert int(got["nodes"]) == exp["nodes"], (page, got)
            for status, n in exp.items():
                if status in got:
                    assert int(got[status]) == n, (page, got["paper"], status, got[status], n)
