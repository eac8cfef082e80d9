"""The import closure of a module inside dln (dln._sources), the code version the workflow's jobs carry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dln import _sources

ROOT = Path(__file__).resolve().parents[1]
DLN = ROOT / "src" / "dln"


def _rel(paths) -> set[str]:
    return {p.relative_to(DLN).as_posix() for p in paths}


def _toy(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from ._a import f\nfrom ._b import g\nfrom ._unused import h\n")
    (pkg / "_a.py").write_text("from ._c import helper\n\ndef f():\n    return helper()\n")
    (pkg / "_b.py").write_text("def g():\n    return 2\n")
    (pkg / "_c.py").write_text("def helper():\n    return 1\n")
    (pkg / "_unused.py").write_text("def h():\n    return 3\n")
    (pkg / "sub" / "__init__.py").write_text("from ._x import X\n")
    (pkg / "sub" / "_x.py").write_text("X = 1\n")
    # `import pkg` then `pkg.f`: the module f comes from; `from .. import _b`: that module; inside a function too
    (pkg / "sub" / "user.py").write_text(
        "import pkg\nfrom .. import _b\n\ndef run():\n    from . import _x\n    return pkg.f() + _b.g() + _x.X\n"
    )
    return pkg


def test_closure_follows_imports_attributes_and_relative_names(tmp_path):
    pkg = _toy(tmp_path)
    got = {p.relative_to(pkg).as_posix() for p in _sources.closure(pkg / "sub" / "user.py", root=pkg)}
    # _unused.py is re-exported by __init__ but never used: not in the closure
    assert got == {"__init__.py", "_a.py", "_b.py", "_c.py", "sub/__init__.py", "sub/_x.py", "sub/user.py"}


def test_hash_changes_with_any_file_of_the_closure_and_only_then(tmp_path):
    pkg = _toy(tmp_path)
    user = pkg / "sub" / "user.py"
    before = _sources.code_hash(user, root=pkg)
    (pkg / "_unused.py").write_text("def h():\n    return 4\n")
    assert _sources.code_hash(user, root=pkg) == before
    (pkg / "_c.py").write_text("def helper():\n    return 10\n")
    assert _sources.code_hash(user, root=pkg) != before
    # the same files elsewhere give the same hash (paths enter relative to the package), also with a script outside
    # the package that sorts before the package's files in one place and after them in another
    lib = tmp_path / "lib"
    shutil.copytree(pkg, lib / "pkg")
    scripts = [tmp_path / "a" / "run.py", tmp_path / "z" / "run.py"]
    for script in scripts:
        script.parent.mkdir()
        script.write_text("import pkg\npkg.g()\n")
    assert len({_sources.code_hash(s, lib / "pkg" / "sub" / "user.py", root=lib / "pkg") for s in scripts}) == 1
    other = tmp_path / "elsewhere"
    shutil.copytree(pkg, other / "pkg")
    assert _sources.code_hash(other / "pkg" / "sub" / "user.py", root=other / "pkg") == _sources.code_hash(
        user, root=pkg
    )


@pytest.mark.parametrize(
    ("family", "uses", "not_used"),
    [
        ("posterior", {"_posterior.py", "experiments/posterior.py"}, {"_schatten.py", "_entropy.py", "plotting.py"}),
        ("schatten", {"_schatten.py"}, {"_posterior.py", "_stochastic.py", "plotting.py"}),
        ("langevin", {"_stochastic.py", "experiments/_replay.py"}, {"_schatten.py", "_posterior.py"}),
        ("regularizing_flow", {"_flows.py", "_fiber.py", "_fiber_cg.py"}, {"_posterior.py", "_entropy.py"}),
        ("free_energy", {"_free_energy.py", "_entropy.py"}, {"_posterior.py", "_stochastic.py"}),
    ],
)
def test_family_closures(family, uses, not_used):
    got = _rel(_sources.closure(DLN / "experiments" / f"{family}.py"))
    assert uses <= got, uses - got
    assert not (not_used & got), not_used & got
    assert {"__init__.py", "_errors.py", "experiments/__init__.py", "experiments/_conventions.py"} <= got


def test_every_public_function_used_by_a_family_is_in_its_closure():
    """The attributes `dln.<name>` a family module calls resolve to the private module defining them."""
    import ast

    import dln

    for path in sorted((DLN / "experiments").glob("[!_]*.py")):
        got = _rel(_sources.closure(path))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "dln":
                fn = getattr(dln, node.attr)
                module = getattr(fn, "__module__", "") or ""
                if module.startswith("dln."):
                    rel = module.removeprefix("dln.").replace(".", "/") + ".py"
                    assert rel in got, (path.name, node.attr, rel)


def test_workflow_code_versions_are_stable_and_distinct():
    from dln import workflow as dlnwf
    from dln.experiments import FAMILIES

    codes = {f: dlnwf.family_code(f) for f in FAMILIES}
    assert all(len(c) == 16 for c in codes.values())
    assert len(set(codes.values())) == len(codes)  # every family runs its own module
    assert dlnwf.family_code("posterior") == _sources.code_hash(
        DLN / "experiments" / "posterior.py", DLN / "workflow.py", dlnwf.SCRIPTS / "simulate.py"
    )


def test_the_snakefile_imports_nothing_heavy():
    """What the Snakefile imports while it parses (dln.workflow, the specs' rule evaluator) loads neither NumPy nor
    xarray, nor any family module; and pin_threads sets the job's BLAS threads before NumPy is imported."""
    import subprocess
    import sys

    code = (
        "import sys, os\n"
        "from dln import workflow\n"
        "heavy = [m for m in ('numpy', 'xarray', 'scipy') if m in sys.modules]\n"
        "families = [m for m in sys.modules if m.startswith('dln.experiments.') and m != 'dln.experiments._spec']\n"
        "assert not heavy and not families, (heavy, families)\n"
        "workflow.pin_threads(3)\n"
        "assert all(os.environ[v] == '3' for v in workflow.THREAD_VARIABLES)\n"
        "import numpy\n"
        "try:\n"
        "    workflow.pin_threads(1)\n"
        "    raise SystemExit('pin_threads after numpy must refuse')\n"
        "except RuntimeError:\n"
        "    pass\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_disk_cache_of_imports_gives_the_closures_of_a_fresh_parse(tmp_path):
    """The workflow's cache of parsed imports (``.snakemake/dln-imports.json``) changes no closure: a process that
    fills it and one that reads it compute the same code hashes as one without it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from dln import _sources\n"
        "if sys.argv[1] != '-': _sources.use_disk_cache(sys.argv[1])\n"
        "from dln.experiments import NAMES\n"
        "print(' '.join(_sources.code_hash(_sources.PACKAGE_ROOT / 'experiments' / f'{n}.py') for n in NAMES))\n"
    )
    cache = tmp_path / "imports.json"
    run = [
        subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True, check=True).stdout
        for arg in ("-", str(cache), str(cache))
    ]
    assert cache.exists() and run[0] == run[1] == run[2], run
