"""Build the Jupyter Book to HTML (Snakemake rule ``book``): ``jupyter-book build --all -W -n --keep-going``
with the table of contents ``book/_generated/_toc.yml`` that the rule ``book_assets`` renders.

Runs Jupyter Book 1.x with the Python that runs the rule (so the same environment as every other rule),
writes its output to the rule's log, and fails (with the log's tail on stderr) on any Sphinx warning.
"""

import subprocess
import sys
from pathlib import Path

book = Path(snakemake.input.config).parent
cmd = [
    sys.executable,
    "-c",
    "import sys; from jupyter_book.cli.main import main; sys.argv[0] = 'jupyter-book'; main()",
    "build",
    "--all",
    "-W",
    "-n",
    "--keep-going",
    "--toc",
    str((book / "_generated" / "_toc.yml").resolve()),
    str(book),
]
with open(snakemake.log[0], "w") as log:
    rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
if rc != 0:
    tail = Path(snakemake.log[0]).read_text().splitlines()[-60:]
    print("\n".join(tail), file=sys.stderr)
    sys.exit(f"rule book: jupyter-book build failed (exit {rc}); see {snakemake.log[0]}")
