"""Sphinx extension of the dln book: numbers computed from the datasets become MyST substitutions.

The Snakemake rule ``book_assets`` (``workflow/scripts/book_assets.py``) reads the workflow's
datasets and writes ``_generated/numbers.json`` (a flat ``{name: markdown string}`` mapping).
This extension loads it into ``myst_substitutions`` when Sphinx starts, so a page writes
``{{ reg_rate_mean }}`` and never types a measured number by hand. A name used on a page but
missing from the file is a Sphinx warning, which fails the ``-W`` build.
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.errors import ConfigError

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
    subs.update({str(k): str(v) for k, v in numbers.items()})
    config.myst_substitutions = subs


def setup(app):
    app.connect("config-inited", _load_numbers)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
