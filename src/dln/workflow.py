"""The workflow's helpers: configuration checks, sweep expansion, code versions and the job bodies.

The Snakefile imports this module while it parses, so at import time it needs the standard library only (YAML
and jsonschema are imported when a config is checked): every fact about the families that the parse needs
(their parameters with types, ranges and defaults, their sweep keys and the rules between parameters) comes
from the config schema ``workflow/schemas/config.schema.yaml``, which ``workflow/schemas/make_schema.py``
renders from the families' specs (``dln.experiments.<family>.SPEC``). :func:`load_schema` checks that the
schema is current. The job bodies (:func:`run_simulate`, :func:`run_aggregate`) import the family's module.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import itertools
import json
import logging
import math
import os
import re
import time
from pathlib import Path

from .experiments import PACKAGE as EXPERIMENTS_PACKAGE
from .experiments._spec import evaluate_rule, rule_names

#: The repository holding the workflow (this file is ``<root>/src/dln/workflow.py``).
ROOT = Path(__file__).resolve().parents[2]

SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"

#: The job scripts of the workflow (their source is part of every job's code version).
SCRIPTS = ROOT / "workflow" / "scripts"

#: Keys of a family's node in the schema that carry the spec (JSON schema ignores unknown keywords).
X_DEFAULTS, X_RULES, X_SPEC_HASH = "x-dln-defaults", "x-dln-rules", "x-dln-spec-sha256"

#: The family every configuration runs, with its defaults, whether or not the config names it (the ledger and
#: the book read its dataset).
ALWAYS = ("lm_figures",)


class ConfigError(ValueError):
    """An invalid workflow configuration; the message names the key and the allowed values."""


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def load_schema(path: str | os.PathLike = SCHEMA_PATH, check: bool = False) -> dict:
    """The config schema; with ``check``, a :class:`ConfigError` if it was rendered from other specs than the
    families' modules hold now (it names the command that renders it again)."""
    import yaml

    with open(path) as fh:
        schema = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if check:
        stale = [f for f in families(schema) if family_node(schema, f).get(X_SPEC_HASH) != spec_digest(f)]
        if stale:
            raise ConfigError(
                f"{path} is stale: the parameters of {', '.join(stale)} changed since it was rendered; run "
                "`python workflow/schemas/make_schema.py` (bash run.sh all does it for you)"
            )
    return schema


def families(schema: dict) -> list[str]:
    """Every family of the schema, in book order."""
    return list(schema["properties"]["families"]["properties"])


def family_node(schema: dict, family: str) -> dict:
    return _resolve(schema["properties"]["families"]["properties"][family], schema)


def family_defaults(schema: dict, family: str) -> dict:
    """A family's default parameters, as rendered into the schema from its spec."""
    return json.loads(json.dumps(family_node(schema, family)[X_DEFAULTS]))


def spec_digest(family: str) -> str:
    """SHA-256 of the source of a family's ``SPEC`` and of the shared parameter table (``_spec.py``).

    Read statically, so the check costs no import; it changes when a parameter, default, range or rule does."""
    import ast

    path = module_path(family)
    text = path.read_text()
    segment = ""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SPEC" for t in node.targets):
            segment = ast.get_source_segment(text, node) or ""
    common = (Path(__file__).resolve().parent / "experiments" / "_spec.py").read_text()
    return hashlib.sha256((segment + "\0" + common).encode()).hexdigest()


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _resolve(schema: dict, root: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        node = root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _allowed(schema: dict, root: dict) -> str:
    """A short human description of what a schema node allows."""
    s = _resolve(schema, root)
    if not isinstance(s, dict):
        return "anything"
    if "enum" in s:
        return "one of " + ", ".join(json.dumps(v) for v in s["enum"])
    if "const" in s:
        return json.dumps(s["const"])
    typ = s.get("type", "")
    if typ == "array":
        inner = _allowed(s.get("items", {}), root)
        bits = [f"a list of {inner}"]
        if "minItems" in s:
            bits.append(f"at least {s['minItems']} item(s)")
        if s.get("uniqueItems"):
            bits.append("no duplicates")
        return ", ".join(bits)
    if typ == "object":
        props = sorted(s.get("properties", {}))
        return "a mapping with keys " + ", ".join(props) if props else "a mapping"
    bits = [typ if isinstance(typ, str) else " or ".join(typ)]
    for key, word in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in s:
            bits.append(f"{word} {s[key]}")
    if "pattern" in s:
        bits.append(f"matching {s['pattern']}")
    return " ".join(bits)


_YAML12_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def yaml12_number(value) -> float | None:
    """The number a YAML 1.2 reader makes of ``value`` where a YAML 1.1 reader (PyYAML, Snakemake) left a string
    (``"1e10"``, ``"2E-3"``: YAML 1.1 needs a dot and a signed exponent, ``1.0e+10``); None for anything else."""
    if isinstance(value, str) and _YAML12_FLOAT.fullmatch(value.strip()):
        return float(value)
    return None


@functools.cache
def _yaml12_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """PyYAML's safe loader that also reads exponent notation without a dot or sign (``1e10``) as a float."""

    # tried after PyYAML's own int and float resolvers (it copies the table for the subclass)
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(rf"^(?:{_YAML12_FLOAT.pattern})$"), list("-+0123456789.")
    )
    return Loader


def yaml12_load(text: str):
    """``text`` read as YAML by PyYAML's safe loader, with ``1e10`` (unquoted, also inside lists and mappings) a
    number as in YAML 1.2; quoted values stay strings."""
    import yaml

    return yaml.load(text, Loader=_yaml12_loader())  # noqa: S506 (a SafeLoader subclass)


def _number_hint(err) -> str | None:
    """For a string where a number is expected that YAML 1.2 reads as a number (``1e10``): how to write it so that
    YAML 1.1 (PyYAML, Snakemake) reads a number too (an integer as an integer)."""
    types = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
    number = yaml12_number(err.instance)
    if number is None or not math.isfinite(number) or not {"number", "integer"} & set(types):
        return None
    if "number" not in types and not number.is_integer():
        return None  # an integer is expected: the number would be rejected too
    if "integer" in types and number.is_integer() and abs(number) < 2**53:
        text = str(int(number))
    else:
        mantissa, e, exponent = repr(number).partition("e")
        text = (mantissa if "." in mantissa else mantissa + ".0") + (e + exponent if e else "")
    return f"; YAML reads {err.instance!r} as a string: write {text}"


def config_errors(config: dict, schema: dict | None = None) -> list[str]:
    """All schema violations of ``config``, each a message naming the key and the allowed values."""
    import jsonschema

    schema = load_schema() if schema is None else schema
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = _key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
            for name in extra:
                where = f"{key}.{name}" if err.absolute_path else name
                messages.append(f"config key {where!r} is not allowed; allowed keys here: {', '.join(allowed)}")
            continue
        if err.validator == "required":
            messages.append(f"config key {key!r}: {err.message}")
            continue
        desc = _resolve(err.schema, schema).get("description", "") if isinstance(err.schema, dict) else ""
        allowed = _allowed(err.schema, schema)
        msg = f"config key {key!r}: {err.message}; allowed: {allowed}"
        if desc:
            msg += f" ({desc.strip()})"
        hint = _number_hint(err) if err.validator == "type" else None
        if hint:
            msg += hint
        messages.append(msg)
    return messages


def yaml_error(path: str | os.PathLike) -> str | None:
    """The syntax error of a YAML config file, naming the file, line and column (None if it parses).

    Snakemake reports only that a config file "is not valid JSON or YAML"; ``run.sh`` calls this first."""
    import yaml

    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        return f"{path}: cannot be read ({exc.strerror})"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        what = "; ".join(x for x in (exc.context, exc.problem) if x)
        return f"{where}: {what}"
    except yaml.YAMLError as exc:
        return f"{path}: {exc}"
    if not isinstance(data, dict):
        return f"{path}: the config must be a mapping (keys families, figures, ledger, book), not {type(data).__name__}"
    return None


def validate_config(config: dict, schema: dict | None = None) -> None:
    """Raise :class:`ConfigError` listing every invalid key of ``config`` (no-op if valid)."""
    errors = config_errors(config, schema)
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))


# --------------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------------
def _param_schema(family: str, section: str, key: str, schema: dict) -> dict:
    fam = _resolve(schema["properties"]["families"]["properties"][family], schema)
    sec = _resolve(fam["properties"][section], schema)
    prop = _resolve(sec["properties"][key], schema)
    if section == "sweep":
        prop = _resolve(prop.get("items", {}), schema)
    return prop


def _normalize(value, prop: dict):
    """A value as its parameter's type: a "number" is a float (``T: 5`` and ``T: 5.0`` are one job), an "integer"
    an int (``N: 3.0`` and ``N: 3`` are one job; JSON schema counts 3.0 as an integer)."""
    if isinstance(value, bool):
        return value
    if prop.get("type") == "number" and isinstance(value, int):
        return float(value)
    if prop.get("type") == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def format_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"parameter value {value!r} is not finite")
        return repr(value)
    return str(value)


#: separator of the ``key=value`` pairs of a job ID: not a comma, which Snakemake's ``--target-jobs`` (the
#: remote executors' way of naming the job to run) splits on
JOB_ID_SEPARATOR = "+"


def job_id(point: dict) -> str:
    """The file stem of one job: ``key=value`` pairs of the swept parameters joined by :data:`JOB_ID_SEPARATOR`
    (``all`` for the one job of a family without a sweep)."""
    return JOB_ID_SEPARATOR.join(f"{k}={format_value(v)}" for k, v in point.items()) or "all"


def normalized_family_config(family: str, family_config: dict, schema: dict | None = None) -> dict:
    """``{"sweep": ..., "fixed": ...}`` with every value as its parameter's type (``5`` -> ``5.0`` for a number,
    ``3.0`` -> ``3`` for an integer)."""
    schema = load_schema() if schema is None else schema
    sweep = dict(family_config.get("sweep", {}))
    fixed = dict(family_config.get("fixed", {}))
    sweep = {k: [_normalize(v, _param_schema(family, "sweep", k, schema)) for v in vals] for k, vals in sweep.items()}
    fixed = {k: _normalize(v, _param_schema(family, "fixed", k, schema)) for k, v in fixed.items()}
    return {"sweep": sweep, "fixed": fixed}


def expand_jobs(
    family: str, family_config: dict, schema: dict | None = None, defaults: dict | None = None
) -> dict[str, dict]:
    """Map job id -> full parameter dict: ``defaults`` (the family's defaults, :func:`family_defaults`),
    overridden by the ``fixed`` parameters, overridden by one point of the sweep's cartesian product.

    The job id names only the swept parameters; the order of jobs follows the config file.
    Resolving the defaults here puts every parameter into the rule's ``params``, so a
    changed default reruns the jobs (Snakemake's ``params`` rerun trigger).
    """
    norm = normalized_family_config(family, family_config, schema)
    sweep, fixed = norm["sweep"], norm["fixed"]
    overlap = sorted(set(sweep) & set(fixed))
    if overlap:
        raise ConfigError(
            f"config key 'families.{family}': parameter(s) {overlap} appear in both 'sweep' and 'fixed'; "
            "allowed: each parameter in one of them"
        )
    defaults = dict(defaults or {})
    unknown = sorted((set(sweep) | set(fixed)) - set(defaults)) if defaults else []
    if unknown:
        raise ConfigError(
            f"config key 'families.{family}': parameter(s) {unknown} are not parameters of "
            f"{EXPERIMENTS_PACKAGE}.{family}; allowed: {', '.join(defaults)}"
        )
    jobs: dict[str, dict] = {}
    keys = list(sweep)
    for combo in itertools.product(*(sweep[k] for k in keys)):
        point = dict(zip(keys, combo, strict=True))
        jobs[job_id(point)] = {**defaults, **fixed, **point}
    return jobs


def chunk_jobs(config: dict, jobs: dict[str, dict[str, dict]]) -> dict[str, dict[str, list[dict]]]:
    """Group each family's jobs into the jobs Snakemake runs: ``families.<family>.chunk`` sweep points per job
    (default 1: one job, and one job file ``<point id>.nc``, per point, which a SLURM run fans out). A chunk of
    several points is one process and one file ``chunk<i>-of-<n>.nc``: cheaper where each point takes less time
    than starting a process. Returns ``{family: {job id: [point params, ...]}}``."""
    out: dict[str, dict[str, list[dict]]] = {}
    for family, points in jobs.items():
        size = int(config["families"].get(family, {}).get("chunk", 1))
        items = list(points.items())
        if size <= 1 or len(items) <= 1:
            out[family] = {job: [p] for job, p in items}
            continue
        n = -(-len(items) // size)
        out[family] = {f"chunk{i + 1}-of-{n}": [p for _, p in items[i * size : (i + 1) * size]] for i in range(n)}
    return out


# --------------------------------------------------------------------------------------------
# size and sense: checked before any job, after the schema
# --------------------------------------------------------------------------------------------
#: Limits of one configuration, each overridable on purpose by its environment variable: (default, what).
LIMITS: dict[str, tuple[float, str]] = {
    "DLN_MAX_JOBS_PER_FAMILY": (2000, "the number of jobs of this family (the product of its sweep's lengths)"),
    "DLN_MAX_JOBS": (5000, "the number of jobs of all families together"),
    "DLN_MAX_JOB_MEMORY_GB": (8.0, "the estimated memory of one job's largest arrays (GB)"),
}


def limit(name: str) -> float:
    """The limit ``name`` of :data:`LIMITS`: its environment variable if set, else the default."""
    default, _ = LIMITS[name]
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"environment variable {name}={raw!r} must be positive")
    return value


def _over(name: str, value: float, where: str) -> str:
    _, what = LIMITS[name]
    return (
        f"config key {where!r}: {what} is {value:,.6g}, above the limit {limit(name):,.6g} "
        f"(set {name} to allow more on purpose)"
    )


def nonfinite_errors(node, path: str = "") -> list[str]:
    """Every NaN or infinite number of a configuration, named by its key."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += nonfinite_errors(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += nonfinite_errors(v, f"{path}[{i}]")
    elif isinstance(node, float) and not math.isfinite(node):
        out.append(f"config key {path!r}: {node!r} is not a finite number; allowed: finite numbers")
    return out


def job_count(family_config: dict) -> int:
    """The number of jobs of a family's sweep (the product of its lists' lengths), without expanding it."""
    return math.prod(len(v) if isinstance(v, list) else 1 for v in family_config.get("sweep", {}).values())


def job_memory_bytes(p: dict) -> float:
    """Order-of-magnitude estimate of the largest arrays one job holds, in bytes (16 per complex entry).

    The largest of: an ensemble of layer tuples (``N d^2`` entries times the number of paths, chains, samples,
    starts or seeds), saved trajectories of layer tuples (``N d^2`` times the saved times, per seed), and a
    two-dimensional grid of ``n_grid^2`` fields (free energy)."""
    layers = 16.0 * p.get("N", 1) * p.get("d", 1) ** 2
    batch = max([1, *(p.get(k, 1) for k in ("n_paths", "n_chains", "n_samples", "n_starts", "n_seeds"))])
    times = max([1, *(p.get(k, 1) for k in ("n_save", "n_t"))])
    grid = 16.0 * p.get("n_grid", 1) ** 2 * p.get("d", 1) ** 2
    return max(layers * batch, layers * times * p.get("n_seeds", 1), grid)


def _where(family: str, family_config: dict, key: str) -> str:
    section = "sweep" if key in family_config.get("sweep", {}) else "fixed"
    return f"families.{family}.{section}.{key}"


def sense_errors(family: str, family_config: dict, jobs: dict[str, dict], rules: list[str] = ()) -> list[str]:
    """Per-job memory above :func:`limit` and violated rules between parameters (the family's spec, rendered into
    the schema), each naming the key (first job only)."""
    out = []
    mem_limit = limit("DLN_MAX_JOB_MEMORY_GB") * 1e9
    for job, p in jobs.items():
        est = job_memory_bytes(p)
        if est > mem_limit:
            keys = [
                k
                for k in (
                    "n_paths",
                    "n_chains",
                    "n_samples",
                    "n_starts",
                    "n_seeds",
                    "n_save",
                    "n_t",
                    "n_grid",
                    "N",
                    "d",
                )
                if k in family_config.get("sweep", {}) or k in family_config.get("fixed", {})
            ]
            where = _where(family, family_config, keys[0]) if keys else f"families.{family}"
            out.append(_over("DLN_MAX_JOB_MEMORY_GB", est / 1e9, where) + f" (job {job or family})")
            break
    for rule in rules:
        keys = rule_names(rule)
        for job, p in jobs.items():
            if not evaluate_rule(rule, p):
                vals = ", ".join(f"{k} = {p[k]!r}" for k in keys)
                where = ", ".join(repr(_where(family, family_config, k)) for k in keys)
                out.append(f"config keys {where}: {vals} break the rule {rule} (job {job})")
                break
    return out


def check_config(config: dict, schema: dict | None = None) -> dict[str, dict[str, dict]]:
    """Validate a configuration completely before any job: the schema, finite numbers, the number of jobs per
    family and in total, each job's memory estimate and the rules between parameters. Returns the jobs of
    every configured family (``{family: {job id: params}}``); raises :class:`ConfigError` listing every
    problem, each naming its key."""
    schema = load_schema() if schema is None else schema
    errors = config_errors(config, schema) + nonfinite_errors(config)
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))
    known = families(schema)
    configured = {f: c for f, c in config["families"].items() if f in known}
    configured.update({f: config["families"].get(f, {}) for f in ALWAYS if f in known})
    counts = {f: job_count(c) for f, c in configured.items()}
    for f, n in counts.items():
        if n > limit("DLN_MAX_JOBS_PER_FAMILY"):
            errors.append(_over("DLN_MAX_JOBS_PER_FAMILY", n, f"families.{f}.sweep"))
    if not errors and sum(counts.values()) > limit("DLN_MAX_JOBS"):
        errors.append(_over("DLN_MAX_JOBS", sum(counts.values()), "families"))
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))
    jobs = {}
    for f, c in configured.items():
        jobs[f] = expand_jobs(f, c, schema, defaults=family_defaults(schema, f))
        errors += sense_errors(f, c, jobs[f], family_node(schema, f).get(X_RULES, []))
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))
    return jobs


# --------------------------------------------------------------------------------------------
# code versions: a rerun trigger for the jobs whose code changed
# --------------------------------------------------------------------------------------------
@functools.cache
def _sources():
    """``dln._sources``, with its cache of parsed imports in ``.snakemake/dln-imports.json`` of the working folder
    (where Snakemake keeps its own records)."""
    from . import _sources

    if (Path.cwd() / ".snakemake").is_dir():
        _sources.use_disk_cache(Path.cwd() / ".snakemake" / "dln-imports.json")
    return _sources


def module_path(family: str) -> Path:
    """The source file of a family's experiment module (found without importing it)."""
    src = _sources()
    if EXPERIMENTS_PACKAGE == "dln.experiments":
        return src.PACKAGE_ROOT / "experiments" / f"{family}.py"
    spec = importlib.util.find_spec(f"{EXPERIMENTS_PACKAGE}.{family}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"experiment module {EXPERIMENTS_PACKAGE}.{family} does not exist")
    return Path(spec.origin)


@functools.cache
def family_code(family: str) -> str:
    """Version of the code a family's jobs run: a hash of the source of its module's import closure inside
    ``dln`` (``dln._sources``) and of the job scripts. A rule parameter (evaluated for the jobs that are
    scheduled), so editing a module reruns exactly the families that use it."""
    return _sources().code_hash(module_path(family), Path(__file__).resolve(), SCRIPTS / "simulate.py")


@functools.cache
def step_code(script: str) -> str:
    """Version of the code of a step that reads the datasets (``ledger.py``, ``book_assets.py``, ``plot.py``):
    the script's import closure inside ``dln`` and every family module (read by name at run time)."""
    from .experiments import NAMES

    modules = [module_path(family) for family in NAMES]
    return _sources().code_hash(SCRIPTS / script, *modules)


@functools.cache
def figure_code() -> str:
    """Version of the code of the overview figures: ``plot.py``'s import closure."""
    return _sources().code_hash(SCRIPTS / "plot.py")


#: The book's root page and the part after the families' pages: page names (files ``book/<page>.md``).
BOOK_ROOT = "index"
BOOK_LAST_PART = ("Claims", ("claims", "blueprint", "errata", "reproducibility"))

#: Where the book gets the page of a family that has no page ``book/<family>.md`` (rendered by ``book_assets``).
GENERATED_PAGES = "_generated/pages"


def book_pages(book: str | os.PathLike = "book") -> dict[str, str]:
    """Every page of the book: page name -> its file relative to ``book`` without ``.md``, in book order.

    A family's page is ``<family>`` if ``book/<family>.md`` exists (prose written for it), else
    ``_generated/pages/<family>`` (rendered from the family module's title, summary, checks and figures).
    """
    from .experiments import NAMES

    book = Path(book)
    pages = {BOOK_ROOT: BOOK_ROOT}
    for family in NAMES:
        pages[family] = family if (book / f"{family}.md").exists() else f"{GENERATED_PAGES}/{family}"
    pages.update({page: page for page in BOOK_LAST_PART[1]})
    return pages


def book_toc(book: str | os.PathLike = "book") -> dict:
    """The book's table of contents (Jupyter Book 1.x ``_toc.yml``, sphinx-external-toc format): the root page,
    one part per :data:`dln.experiments.PARTS` entry with its families' pages, then :data:`BOOK_LAST_PART`."""
    from .experiments import PARTS

    pages = book_pages(book)
    parts = [{"caption": part, "chapters": [{"file": pages[f]} for f in names]} for part, names in PARTS.items()]
    last, names = BOOK_LAST_PART
    parts.append({"caption": last, "chapters": [{"file": pages[p]} for p in names]})
    return {"format": "jb-book", "root": pages[BOOK_ROOT], "parts": parts}


def experiment(family: str):
    """The :class:`dln.experiments.Family` of ``family`` (in the test package if one is set), its module imported;
    a clear error if the module is absent."""
    from .experiments import Family

    name = f"{EXPERIMENTS_PACKAGE}.{family}"
    try:
        fam = Family(family, EXPERIMENTS_PACKAGE)
        fam.module  # noqa: B018  (imports it)
        return fam
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise RuntimeError(
                f"experiment module {name!r} does not exist: family {family!r} has no simulate() yet"
            ) from exc
        raise


# --------------------------------------------------------------------------------------------
# job bodies
# --------------------------------------------------------------------------------------------
def get_logger(log_path: str | os.PathLike | None, name: str) -> logging.Logger:
    logger = logging.getLogger(f"dln.workflow.{name}")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    logger.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_path, mode="w")
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    return logger


class Progress:
    """A progress callback: ``progress(fraction, message="")`` logs percent done and ETA, at most every ``every`` s.

    Experiment functions that accept a ``progress`` keyword get one of these.
    """

    def __init__(self, logger: logging.Logger, label: str, every: float = 2.0):
        self.logger, self.label, self.every = logger, label, every
        self.start = time.monotonic()
        self.last = -math.inf

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        fraction = min(max(float(fraction), 0.0), 1.0)
        if now - self.last < self.every and fraction < 1.0:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0 else float("nan")
        eta_s = f"{eta:.1f} s" if math.isfinite(eta) else "unknown"
        self.logger.info(
            f"{self.label}: {100 * fraction:5.1f}% done, elapsed {elapsed:.1f} s, ETA {eta_s}"
            + (f" ({message})" if message else "")
        )


class Heartbeat:
    """While a job runs, log a line every ``every`` seconds unless the experiment reports progress itself.

    Experiments whose ``simulate`` takes no ``progress`` callback still show that they are alive
    (elapsed time; the ETA is unknown without a fraction done).
    """

    def __init__(self, logger: logging.Logger, label: str, progress: Progress, every: float = 10.0):
        import threading

        self.logger, self.label, self.progress, self.every = logger, label, progress, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.progress.last == -math.inf:  # the experiment never reported progress
                elapsed = time.monotonic() - self.progress.start
                self.logger.info(f"{self.label}: running, elapsed {elapsed:.0f} s, ETA unknown (no progress reported)")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=1)
        return False


#: The thread-pool variables of the BLAS libraries NumPy may use.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(threads: int) -> None:
    """Give BLAS the job's ``threads:`` (before NumPy is imported): parallel jobs then do not oversubscribe the
    cores, and a fixed thread count keeps floating-point reductions, hence the data, identical between runs."""
    import sys

    if "numpy" in sys.modules:
        raise RuntimeError("pin_threads must run before numpy is imported")
    for var in THREAD_VARIABLES:
        os.environ[var] = str(max(1, int(threads)))


def _config_attr(ds) -> dict:
    """The dataset's ``config`` attribute as a dict (empty if absent or not a JSON object)."""
    try:
        cfg = json.loads(ds.attrs.get("config", "{}"))
    except ValueError:
        return {}
    return cfg if isinstance(cfg, dict) else {}


def context_of(family: str, params: dict) -> str:
    return f"rule {family} params {json.dumps(params, sort_keys=True, default=str)}"


def run_simulate(family: str, params: dict | list[dict], output: str, log_path: str | None, history: str = "") -> None:
    """One job: ``simulate(params)``, check, restamp provenance, write atomically.

    ``params`` is one point of the sweep, or a list of points (a chunk, :func:`chunk_jobs`), simulated in turn and
    combined into one file along the swept parameters.

    Raises :class:`dln.DLNError` whose message starts with ``rule <family> params {...}``
    on NaN/Inf, divergence or invalid parameters.
    """
    if isinstance(params, list):
        if len(params) != 1:
            return _run_chunk(family, params, output, log_path, history)
        params = params[0]
    from dln import DLNError
    from dln.experiments._conventions import check_metadata, restamp

    logger = get_logger(log_path, family)
    ctx = context_of(family, params)
    logger.info(f"start {ctx} -> {output}")
    t0 = time.monotonic()
    progress = Progress(logger, family)
    heartbeat = Heartbeat(logger, family, progress)
    try:
        fam = experiment(family)
        with heartbeat:
            ds = fam.simulate(dict(params), progress=progress)
        check_metadata(ds, ctx)
    except DLNError as exc:
        msg = str(exc) if str(exc).startswith(ctx) else f"{ctx}: {exc}"
        logger.error(msg)
        raise type(exc)(msg) from exc
    except Exception:
        logger.exception(f"{ctx}: failed")  # the traceback reaches the job's log
        raise
    ds = restamp(
        ds,
        config={**_config_attr(ds), **params},
        history=history or f"snakemake rule {family}: dln.experiments.{family}.simulate({params!r}) -> {output}",
    )
    _write_job(ds, output, logger, ctx, t0)


#: Global attribute of a chunk's job file: the parameters of its points (JSON list), in order; and the dimension
#: along which the file stacks their datasets.
POINTS_ATTR, POINT_DIM = "dln_points", "dln_point"
#: Global attribute of a chunk's job file: the dimensions of each variable in a point's own dataset (JSON).
POINT_DIMS_ATTR = "dln_point_dims"


def stack_points(datasets: list, points: list[dict], keys) -> object:
    """One dataset of the points of a chunk: their datasets stacked along :data:`POINT_DIM`, each point's swept
    parameters (``keys``) dropped; their parameters and each variable's dimensions go to global attributes, so that
    :func:`split_points` gives back what each point's own job would have written. A ``ValueError`` if the points
    cannot share one file (a dimension of another size, a variable only some points have)."""
    import xarray as xr

    parts = []
    for ds in datasets:
        one = ds.squeeze([k for k in keys if k in ds.dims and ds.sizes[k] == 1], drop=True)
        one = one.drop_vars([k for k in keys if k in one.coords])
        one.attrs = {}
        parts.append(one)
    out = xr.concat(parts, dim=POINT_DIM, join="exact", data_vars="all", combine_attrs="override")
    out.attrs = {
        POINTS_ATTR: json.dumps(points, sort_keys=True, default=str),
        POINT_DIMS_ATTR: json.dumps({n: list(v.dims) for n, v in datasets[0].data_vars.items()}),
    }
    return out


def split_points(ds) -> list:
    """The per-point datasets of a job file (one for a file of one point), each with its parameters as its
    ``config`` attribute: exactly what the point's own job would have written, up to the global attributes."""
    if POINTS_ATTR not in ds.attrs:
        return [ds]
    import xarray as xr

    dims = json.loads(ds.attrs[POINT_DIMS_ATTR])
    out = []
    for i, p in enumerate(json.loads(ds.attrs[POINTS_ATTR])):
        one = ds.isel({POINT_DIM: i})
        variables = {}
        for name, var in one.data_vars.items():
            own = dims.get(name, list(var.dims))
            swept = {k: [p[k]] for k in own if k not in var.dims}  # the point's value, a dimension of size 1
            variables[name] = (var.expand_dims(swept) if swept else var).transpose(*own)
        one = xr.Dataset(variables, attrs={"config": json.dumps(p, sort_keys=True, default=str)})
        out.append(one)
    return out


def _run_chunk(family: str, points: list[dict], output: str, log_path: str | None, history: str) -> None:
    from dln import DLNError
    from dln.experiments._conventions import check_metadata, finalize, restamp

    logger = get_logger(log_path, family)
    ctx = f"rule {family} chunk of {len(points)} points"
    logger.info(f"start {ctx} -> {output}")
    t0 = time.monotonic()
    common = {k: v for k, v in points[0].items() if all(p.get(k) == v for p in points)}
    try:
        fam = experiment(family)
        datasets = []
        for i, p in enumerate(points):
            pctx = context_of(family, p)
            progress = Progress(logger, f"{family} point {i + 1} of {len(points)}")
            with Heartbeat(logger, family, progress):
                ds = fam.simulate(dict(p), progress=progress)
            check_metadata(ds, pctx)
            datasets.append(ds)
        try:
            ds = stack_points(datasets, points, fam.spec.sweep_keys)
        except ValueError as exc:
            raise DLNError(
                f"the points cannot be stacked in one file ({exc}); give this family chunk: 1 "
                f"(config key families.{family}.chunk)"
            ) from exc
        ds = finalize(
            ds,
            title=f"{fam.TITLE} ({len(points)} points)",
            summary=fam.SUMMARY,
            references=list(fam.REFERENCES),
            config=common,
            context=ctx,
        )
    except DLNError as exc:
        msg = str(exc) if str(exc).startswith("rule ") else f"{ctx}: {exc}"
        logger.error(msg)
        raise type(exc)(msg) from exc
    except Exception:
        logger.exception(f"{ctx}: failed")
        raise
    ds = restamp(ds, config=common, history=history or f"snakemake rule {family}: {len(points)} points -> {output}")
    _write_job(ds, output, logger, ctx, t0)


def _write_job(ds, output: str, logger: logging.Logger, ctx: str, t0: float) -> None:
    """Write a job's file atomically with its data checksum; a failure is a DLNError naming the rule and file."""
    from dln import DLNError
    from dln.experiments._conventions import write_netcdf

    try:
        write_netcdf(ds, output, checksum=True)
    except Exception as exc:
        logger.exception(f"{ctx}: writing {output} failed")
        raise DLNError(f"{ctx}: writing {output} failed ({type(exc).__name__}: {exc})") from exc
    logger.info(f"done {ctx} in {time.monotonic() - t0:.2f} s -> {output}")


def run_aggregate(family: str, inputs: list[str], output: str, config: dict, log_path: str | None) -> None:
    """Read every job file of a family, ``aggregate`` them, check, restamp and write atomically."""
    from dln import DLNError
    from dln.experiments._conventions import check_metadata, read_netcdf, restamp, verify_checksum, write_netcdf

    logger = get_logger(log_path, f"{family}_aggregate")
    kept = previous_path(output)
    ctx = f"rule {family}_aggregate"
    keep_note = f" (the last good {Path(output).name} is kept at {kept})" if kept.exists() else ""
    logger.info(f"{ctx}: reading {len(inputs)} job file(s)")
    t0 = time.monotonic()
    try:
        for p in inputs:  # every job file's data against the checksum written with them
            verify_checksum(p, rule=family)
        datasets = [one for p in inputs for one in split_points(read_netcdf(p))]
        ds = experiment(family).aggregate(datasets)
        check_metadata(ds, ctx)
    except DLNError as exc:
        msg = (str(exc) if str(exc).startswith(ctx) else f"{ctx}: {exc}") + keep_note
        logger.error(msg)
        raise type(exc)(msg) from exc
    except Exception:
        logger.exception(f"{ctx}: failed{keep_note}")
        raise
    ds = restamp(
        ds,
        config={**_config_attr(ds), "family": family, "workflow": config},
        history=f"{os.environ.get('DLN_WORKFLOW_COMMAND', 'snakemake')} (rule {family}_aggregate, "
        f"aggregate of {len(inputs)} jobs, output {output})",
    )
    try:
        write_netcdf(ds, output)
    except Exception as exc:
        msg = f"{ctx}: writing {output} failed ({type(exc).__name__}: {exc}){keep_note}"
        logger.error(msg)
        raise DLNError(msg) from exc
    keep_previous(output)
    logger.info(f"{ctx}: wrote {output} in {time.monotonic() - t0:.2f} s")


def previous_path(output: str | os.PathLike) -> Path:
    """Where the last good version of an aggregated dataset is kept: ``<folder>/.previous/<name>``."""
    output = Path(output)
    return output.parent / ".previous" / output.name


def keep_previous(output: str | os.PathLike) -> Path:
    """Keep the dataset just written as the last good one (a hard link, so no second copy on disk).

    Snakemake deletes a job's outputs before it runs the job again; when that run fails, the last good dataset
    is still at :func:`previous_path` (the error message says so)."""
    dest = previous_path(output)
    dest.parent.mkdir(exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(output, tmp)
    except OSError:  # a file system without hard links
        import shutil

        shutil.copy2(output, tmp)
    os.replace(tmp, dest)
    return dest


if __name__ == "__main__":  # run.sh, before Snakemake: `python -m dln.workflow check-yaml FILE | verify-jobs RESULTS`
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "verify-jobs":  # run.sh: damaged job files are removed, then rerun
        from dln import DLNError
        from dln.experiments._conventions import verify_checksum

        blocked = []
        results = Path(sys.argv[2])
        for path in sorted([*results.glob("*/jobs/*.nc"), *results.glob("*.nc")]):
            if not path.is_file():  # a folder (or other non-file) where the workflow writes a file
                blocked.append(path)
                continue
            if path.parent.name != "jobs":
                continue
            try:
                verify_checksum(path, rule=path.parent.parent.name)
            except DLNError as exc:
                print(f"[run.sh] removing a damaged job file (it will be rerun): {exc}", file=sys.stderr)
                path.unlink()
        for path in blocked:
            rule = path.parent.parent.name if path.parent.name == "jobs" else f"{path.stem}_aggregate"
            print(
                f"[run.sh] {path} is not a file, but the rule {rule!r} writes a file there: move it away "
                "(nothing was deleted), then run again",
                file=sys.stderr,
            )
        # folders the rules write into must be writable (os.access: a read-only file system stops root too)
        unwritable = 0
        for folder in sorted([results, *results.glob("*/"), *results.glob("*/jobs/")]):
            if folder.is_dir() and not folder.name.startswith(".") and not os.access(folder, os.W_OK):
                rules = (
                    f"the rule {folder.parent.name!r} writes its job files there"
                    if folder.name == "jobs"
                    else "the aggregate rules, the figures and the ledger write there"
                    if folder == results
                    else f"the rules of {folder.name!r} write there"
                )
                print(
                    f"[run.sh] {folder} is not writable (read-only file system or permissions): {rules}",
                    file=sys.stderr,
                )
                unwritable += 1
        sys.exit(3 if blocked or unwritable else 0)
    if len(sys.argv) == 3 and sys.argv[1] == "check-yaml":
        error = yaml_error(sys.argv[2])
        if error:
            print(f"invalid config file {error}", file=sys.stderr)
        sys.exit(2 if error else 0)
    print("usage: python -m dln.workflow check-yaml FILE | verify-jobs RESULTS", file=sys.stderr)
    sys.exit(2)
