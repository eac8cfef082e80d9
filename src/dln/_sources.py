"""The source files a module of ``dln`` runs: its import closure inside the package, and a hash of it.

The workflow puts :func:`code_hash` of each family's module into the parameters of that family's jobs, so
Snakemake reruns exactly the jobs whose code changed (a changed parameter is a rerun trigger), and the ledger
and the book pages built from them. The closure is found statically (``ast``, nothing is imported, so the
Snakefile stays cheap to parse):

- ``from .x import a`` / ``from dln.x import a`` / ``import dln.x``: the module ``dln/x.py`` (or its package
  ``__init__.py``), and, for each name ``a`` that is itself a submodule, that submodule;
- ``from . import a`` / ``from .. import a``: the submodule ``a`` if there is one, else the module that
  ``__init__.py`` takes ``a`` from;
- ``import dln`` (or ``import dln as m``): ``dln/__init__.py`` and, for every attribute ``dln.f`` the module uses,
  the module ``__init__.py`` imports ``f`` from, or names in its table ``_EXPORTS`` of lazily imported names (not
  every module ``__init__`` re-exports);

imports inside functions count like those at the top. The top-level ``__init__.py`` (the public names, each
re-exported from its private module) is in every closure, but what it imports is not followed: importing it
runs every module, but a result depends only on the functions it calls. This module uses the standard
library only.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

__all__ = ["PACKAGE_ROOT", "closure", "code_hash"]

#: The folder of the ``dln`` package (``src/dln``).
PACKAGE_ROOT = Path(__file__).resolve().parent


def _module_file(root: Path, dotted: str) -> Path | None:
    """``dln.x.y`` -> ``root/x/y.py`` or ``root/x/y/__init__.py`` (None outside the package or missing)."""
    parts = dotted.split(".")
    if parts[0] != root.name:
        return None
    base = root.joinpath(*parts[1:])
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _dotted(root: Path, path: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(root: Path, path: Path, level: int, module: str | None) -> str:
    """The absolute dotted name of a relative import ``from <level dots><module> import ...`` in ``path``."""
    package = _dotted(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, module] if module else base)


@functools.cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@functools.cache
def _reexports(init: Path) -> dict[str, str]:
    """Names a package's ``__init__.py`` imports from its modules: ``{name: absolute module}``."""
    out: dict[str, str] = {}
    package = _absolute(_top(init), init, 1, None)
    for node in ast.walk(_parse(init)):
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(node, ast.Assign | ast.AnnAssign) and getattr(target, "id", "") == "_EXPORTS":
            # a lazy package (PEP 562): ``_EXPORTS = {"_module": ("name", ...)}``
            for key, names in zip(node.value.keys, node.value.values, strict=True):
                for name in names.elts:
                    out[name.value] = f"{package}.{key.value}"
        if isinstance(node, ast.ImportFrom):
            mod = _absolute(_top(init), init, node.level, node.module) if node.level else node.module or ""
            for alias in node.names:
                out[alias.asname or alias.name] = mod
    return out


def _top(path: Path) -> Path:
    """The package root a file belongs to (the folder named like the top-level package)."""
    p = path.parent
    while (p.parent / "__init__.py").is_file():
        p = p.parent
    return p


#: Optional cache on disk of :func:`_direct` (file -> [SHA-256 of its source, the files it imports]); see
#: :func:`use_disk_cache`.
_DISK: dict | None = None
_DISK_PATH: Path | None = None
_DISK_DIRTY = False


def use_disk_cache(path: str | Path) -> None:
    """Keep the direct imports of every file parsed in a JSON file (keyed by the SHA-256 of the file and of the list
    of the package's modules, so an edited file, or a module added or removed, is parsed again), written back when
    the process exits: the Snakefile then parses no unchanged module."""
    import atexit
    import json

    global _DISK, _DISK_PATH
    _DISK_PATH = Path(path)
    try:
        _DISK = json.loads(_DISK_PATH.read_text())
    except (OSError, ValueError):
        _DISK = {}
    atexit.register(_save_disk_cache)


def _save_disk_cache() -> None:
    import json
    import os

    if not _DISK_DIRTY or _DISK_PATH is None:
        return
    try:
        _DISK_PATH.parent.mkdir(parents=True, exist_ok=True)
        tmp = _DISK_PATH.with_name(f".{_DISK_PATH.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(_DISK, sort_keys=True))
        os.replace(tmp, _DISK_PATH)
    except OSError:  # a cache only: a read-only folder costs parse time, nothing else
        pass


@functools.cache
def _layout(root: Path) -> bytes:
    """The package's module files (a module added or removed can change what an unchanged file imports)."""
    return "\n".join(sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))).encode()


@functools.cache
def _direct(root: Path, path: Path) -> frozenset[Path]:
    """The package's source files that ``path`` imports directly."""
    global _DISK_DIRTY
    if _DISK is None:
        return _direct_parsed(root, path)
    digest = hashlib.sha256(path.read_bytes() + b"\0" + _layout(root)).hexdigest()
    hit = _DISK.get(str(path))
    if hit is not None and hit[0] == digest:
        return frozenset(Path(p) for p in hit[1])
    out = _direct_parsed(root, path)
    _DISK[str(path)] = [digest, sorted(str(p) for p in out)]
    _DISK_DIRTY = True
    return out


def _direct_parsed(root: Path, path: Path) -> frozenset[Path]:
    tree = _parse(path)
    init = root / "__init__.py"
    out: set[Path] = set()
    aliases: set[str] = set()  # local names bound to the package itself by `import dln` / `import dln as m`

    def add_name_of(module: str, name: str) -> None:
        sub = _module_file(root, f"{module}.{name}")
        if sub is not None:
            out.add(sub)
            return
        mod_file = _module_file(root, module)
        if mod_file is None:
            return
        out.add(mod_file)
        if mod_file.name == "__init__.py":  # a name re-exported by a package: the module it comes from
            src = _reexports(mod_file).get(name)
            if src and _module_file(root, src) is not None:
                out.add(_module_file(root, src))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(root, path, node.level, node.module) if node.level else (node.module or "")
            if module.split(".")[0] != root.name:
                continue
            for alias in node.names:
                add_name_of(module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != root.name:
                    continue
                f = _module_file(root, alias.name)
                if f is not None:
                    out.add(f)
                if alias.name == root.name:
                    aliases.add(alias.asname or alias.name)
                elif alias.asname is None:
                    aliases.add(root.name)  # `import dln.x` binds `dln` too
    if aliases:
        out.add(init)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                add_name_of(root.name, node.attr)
    out.discard(path)
    return frozenset(out)


def closure(path: str | Path, root: str | Path = PACKAGE_ROOT) -> list[Path]:
    """Every source file of the package that the module at ``path`` runs, itself included, sorted.

    Parameters
    ----------
    path : str or Path
        A Python file: a module of the package, or a script outside it that imports the package.
    root : str or Path
        The package folder (default: this ``dln``).
    """
    return list(_closure(Path(path).resolve(), Path(root).resolve()))


@functools.cache
def _closure(start: Path, root: Path) -> tuple[Path, ...]:
    """:func:`closure` of resolved paths (each file is read once per process)."""
    seen: set[Path] = set()
    todo = [start]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        # a package's __init__ runs when any of its modules is imported (the top-level one included)
        for parent in (q for q in p.parents if q == root or root in q.parents):
            if (parent / "__init__.py").is_file() and parent / "__init__.py" != p:
                todo.append(parent / "__init__.py")
        if p == root / "__init__.py":
            continue  # the public re-exports: a name used through it is resolved where it is used
        todo.extend(_direct(root, p) - seen)
    return tuple(sorted(seen))


def code_hash(*paths: str | Path, root: str | Path = PACKAGE_ROOT) -> str:
    """SHA-256 (first 16 hex digits) of the source of the union of the closures of ``paths``.

    Each file enters with its path relative to the package's parent folder, so the hash is the same in
    every checkout; a change of any byte of any file in the closure changes it.
    """
    root = Path(root).resolve()

    def key(f: Path) -> str:  # the name a file enters with: the same wherever the checkout lies
        return (f.relative_to(root.parent) if root.parent in f.parents else Path(f.name)).as_posix()

    files = sorted({f for p in paths for f in closure(p, root)}, key=lambda f: (key(f), str(f)))
    h = hashlib.sha256()
    for f in files:
        h.update(key(f).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]
