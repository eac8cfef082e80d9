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
from pathlib import Path

from sphinx.errors import ConfigError

from dln._markdown import fmt

NUMBERS = Path("_generated") / "numbers.json"


def _load_numbers(app, config) -> None:
    path = Path(app.srcdir) / NUMBERS
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist: run the Snakemake rule 'book_assets' (or 'book') first, "
            "e.g. `snakemake --cores 2 book`"
        )
    numbers = json.loads(path.read_text())
    subs = dict(config.myst_substitutions or {})
    subs.update({str(k): fmt(v["value"]) for k, v in numbers.items()})
    config.myst_substitutions = subs


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
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
