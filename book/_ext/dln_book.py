"""Sphinx extension of the dln book: numbers computed from the ledger and the datasets become MyST substitutions.

The Snakemake rule ``book_assets`` (``workflow/scripts/book_assets.py``) writes ``_generated/numbers.json``:
``{name: {"value": raw value, "definition": ..., "source": ...}}``. This extension loads it when Sphinx starts
and formats every value with :func:`dln._markdown.fmt`, so a page writes ``{{ LM_Thm2__G_rel_err_max }}``
and never types a measured number by hand. A name used on a page but missing from the file is a Sphinx
warning, which fails the ``-W`` build. Where the repository's address is known (:func:`repository_url`), the
header shows a link to it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from sphinx.errors import ConfigError

from dln._markdown import fmt

NUMBERS = Path("_generated") / "numbers.json"

#: A MyST substitution ``{{ name }}`` in a page's source.
SUBSTITUTION = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")

#: A relative link of a number's HTML (to the published datasets and code, ``data/...``, ``code/...``).
RELATIVE_HREF = re.compile(r'href="(?![a-z]+:|#|/)')


def _load_numbers(app, config) -> None:
    path = Path(app.srcdir) / NUMBERS
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist: run the Snakemake rule 'book_assets' (or 'book') first, "
            "e.g. `snakemake --cores 2 book`"
        )
    numbers = json.loads(path.read_text())
    _check_dataset_numbers_used(Path(app.srcdir), numbers)
    subs = dict(config.myst_substitutions or {})
    subs.update({str(k): fmt(v["value"]) for k, v in numbers.items()})
    config.myst_substitutions = subs


def _check_dataset_numbers_used(srcdir: Path, numbers: dict) -> None:
    """Every number about a dataset (source ``dataset:...``) appears on some page (the pages and the generated
    Markdown they include): a number computed but never shown is a stale definition, and fails the build. A name
    used but missing fails too (MyST warns of an undefined substitution; the build runs with -W)."""
    used: set[str] = set()
    for page in [*srcdir.glob("*.md"), *(srcdir / "_generated").rglob("*.md")]:
        used |= set(SUBSTITUTION.findall(page.read_text()))
    unused = sorted(k for k, v in numbers.items() if str(v.get("source", "")).startswith("dataset:") and k not in used)
    if unused:
        raise ConfigError(f"numbers.json: numbers about the datasets that no page shows: {', '.join(unused)}")


def _nested_page_links(app, docname: str, source: list[str]) -> None:
    """On a page below the book's root (``_generated/pages/<family>``), a number's relative links are written
    relative to the root: prefix them with one ``../`` per level, so they resolve from that page."""
    depth = docname.count("/")
    if not depth:
        return
    subs = app.config.myst_substitutions or {}

    def expand(m: re.Match) -> str:
        value = subs.get(m.group(1))
        if not isinstance(value, str) or "href=" not in value:
            return m.group(0)
        return RELATIVE_HREF.sub('href="' + "../" * depth, value)

    source[0] = SUBSTITUTION.sub(expand, source[0])


def repository_url(environ=None) -> str | None:
    """The repository's web address for the header's repository button: ``$DLN_REPOSITORY_URL``, else the
    GitHub Actions variables of the run that builds the site (``$GITHUB_SERVER_URL/$GITHUB_REPOSITORY``), else
    none (a local build has no button)."""
    env = os.environ if environ is None else environ
    if env.get("DLN_REPOSITORY_URL"):
        return env["DLN_REPOSITORY_URL"].rstrip("/")
    if env.get("GITHUB_REPOSITORY"):
        return f"{env.get('GITHUB_SERVER_URL', 'https://github.com').rstrip('/')}/{env['GITHUB_REPOSITORY']}"
    return None


def _repository_button(app, config) -> None:
    url = repository_url()
    if not url:
        return
    options = dict(config.html_theme_options or {})
    options.update({"repository_url": url, "use_repository_button": True, "path_to_docs": "book"})
    provider = os.environ.get("DLN_REPOSITORY_PROVIDER")  # github, gitlab or bitbucket, for a self-hosted URL
    if provider:
        options["repository_provider"] = provider
    elif not any(host in url for host in ("github.com", "gitlab.com", "bitbucket.org")):
        return  # the theme cannot tell the provider of this address: no button rather than a failed build
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", _load_numbers)
    app.connect("config-inited", _repository_button)
    app.connect("source-read", _nested_page_links)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
