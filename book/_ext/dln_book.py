"""Sphinx extension of the dln book: numbers computed from the ledger and the datasets become MyST substitutions.

The Snakemake rule ``book_assets`` (``workflow/scripts/book_assets.py``) writes ``_generated/numbers.json``:
``{name: {"value": raw value, "definition": ..., "source": ...}}``. This extension loads it when Sphinx starts
and formats every value with :func:`dln._markdown.fmt`, so a page writes ``{{ LM_Thm2__G_rel_err_max }}``
and never types a measured number by hand. A name used on a page but missing from the file is a Sphinx
warning, which fails the ``-W`` build.
"""

from __future__ import annotations

import json
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


def setup(app):
    app.connect("config-inited", _load_numbers)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
