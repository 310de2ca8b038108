"""Override site-file fields by dotted path: ``--set``, scenario files, sweep values.

A path names a field the way error messages do: ``mining.hashprice_usd_per_ph_day``,
``ai.lease[0].rate_usd_per_kw_month``, ``curtailment[1].cap_mw``. Overrides are
applied to the raw TOML document and the result is validated by the same
pydantic schema as a site file, so a bad value fails exactly as it would in
the file. A path that names no field (a typo) is an error naming the closest
field, never a silent no-op.

Alternatives replace each other: setting ``mining.hashprice_usd_per_ph_day``
drops a ``[mining.hashprice]`` table (and the reverse), setting
``ai.utilization_frac`` drops an ``[ai.utilization]`` profile (and the
reverse), so a scenario can switch a site between a flat and a derived
hashprice.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import InputError, Problem
from .files import TomlSyntaxError, parse_toml
from . import schema
from .schema import SiteFile

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")

#: one side of each pair replaces the other when set
ALTERNATIVES = (
    (("mining", "hashprice_usd_per_ph_day"), ("mining", "hashprice")),
    (("ai", "utilization_frac"), ("ai", "utilization")),
)

Path_ = tuple[str | int, ...]


def parse_path(text: str) -> Path_:
    """``"ai.lease[0].rate_usd_per_kw_month"`` -> ``("ai", "lease", 0, "rate_usd_per_kw_month")``.

    Raises
    ------
    ValueError
        The text is not a dotted path.
    """
    parts: list[str | int] = []
    for piece in text.strip().split("."):
        match = _TOKEN.fullmatch(piece)
        if not match:
            raise ValueError(f"{text!r} is not a dotted path like ai.lease[0].rate_usd_per_kw_month")
        parts.append(match.group(1))
        parts += [int(i) for i in _INDEX.findall(match.group(2))]
    return tuple(parts)


def format_path(path: Path_) -> str:
    """The inverse of :func:`parse_path`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def parse_value(text: str, where: str = "--set") -> Any:
    """A ``--set`` value as TOML would read it (``38``, ``1.1e14``, ``true``, ``"x"``,
    ``{tenant = "B", rate_usd_per_kw_month = 120}``); anything else is a string.
    Dates and times stay text, as the site file holds them. A value that TOML's parser cannot take
    (nesting beyond the limit, a 5,000-digit integer) is an :class:`InputError` naming ``where``."""
    try:
        value = parse_toml(f"v = {text}", where)["v"]
    except TomlSyntaxError:
        return text
    if isinstance(value, dt.date | dt.time):
        return text
    return value


def parse_assignment(text: str, where: str = "--set") -> tuple[str, Any]:
    """``"path=value"`` -> ``(path, value)``; raise :class:`InputError` when malformed."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise InputError([Problem(f"{where} {text}", "is not of the form dotted.path=value.",
                                  "Write e.g. --set mining.hashprice_usd_per_ph_day=38.")], where)
    return path.strip(), parse_value(value.strip(), f"{where} {path.strip()}")


def read_scenario_file(path: Path) -> dict[str, Any]:
    """A scenario file: site fields to override, as nested tables or quoted dotted keys.

    ``description`` at the top level is a note, not a field. Arrays are addressed by
    quoted keys, e.g. ``"ai.lease[0].rate_usd_per_kw_month" = 130.0``.
    """
    where = str(path)
    doc = schema.read_toml(Path(path), "Check the --scenario path.")
    doc.pop("description", None)
    out: dict[str, Any] = {}
    problems: list[Problem] = []

    def walk(prefix: str, table: dict) -> None:
        for key, value in table.items():
            dotted = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and not _INDEX.search(key):
                walk(dotted, value)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                problems.append(Problem(f"{where}: {dotted}", "an array of tables would replace the whole list.",
                                        f'Set single entries with quoted keys, e.g. "{dotted}[0].field" = value.'))
            else:
                out[dotted] = value

    walk("", doc)
    if problems:
        raise InputError(problems, where)
    if not out:
        raise InputError([Problem(where, "the scenario sets no field.",
                                  "Add e.g. [mining] hashprice_usd_per_ph_day = 38.0.")], where)
    return out


# ------------------------------------------------------------------ checking paths


def check_path(raw: dict, path_text: str, where: str) -> list[Problem]:
    """Problems with a path itself (unknown field, bad index) against the schema and ``raw``."""
    place = f"{where}: {path_text}"
    try:
        path = parse_path(path_text)
    except ValueError as err:
        return [Problem(place, f"{err}.", "Use field names joined by dots, list items as [0].")]
    model: type[BaseModel] | None = SiteFile
    node: Any = raw
    done: list[str | int] = []
    i = 0
    while i < len(path):
        part = path[i]
        if isinstance(part, int):
            return [Problem(place, f"{format_path(done) or 'the site file'} is not a list.",
                            f"Drop [{part}].")]
        assert model is not None
        fields = model.model_fields
        if part not in fields:
            close = difflib.get_close_matches(part, list(fields), n=1, cutoff=0.5)
            stem = format_path(done)
            hint = f"Did you mean {format_path((*done, close[0]))}?" if close else ""
            known = f"Fields of {stem or 'the site file'}: {', '.join(fields)}."
            return [Problem(place, f"no field {part!r} in {stem or 'the site file'}.",
                            " ".join(x for x in (hint, known) if x))]
        done.append(part)
        annotation = fields[part].annotation
        inner = schema._inner_model(annotation)
        is_list = "list[" in str(annotation)
        node = node.get(part) if isinstance(node, dict) else None
        i += 1
        if is_list and i < len(path):
            index = path[i]
            if not isinstance(index, int):
                return [Problem(place, f"{format_path(done)} is a list: give an item index.",
                                f"Write e.g. {format_path(done)}[0].{index}.")]
            have = len(node) if isinstance(node, list) else 0
            if index > have or (index == have and i + 1 < len(path)):
                return [Problem(place, f"{format_path(done)} has {have} item{'s' if have != 1 else ''}"
                                       f"{f' (indices 0..{have - 1})' if have else ''}.",
                                f"Use an index below {have}, or set {format_path(done)}[{have}] to a whole table to add one.")]
            done.append(index)
            node = node[index] if isinstance(node, list) and index < have else None
            i += 1
        if i < len(path) and inner is None:
            return [Problem(place, f"{format_path(done)} is a value, not a table.",
                            f"Stop the path at {format_path(done)}.")]
        model = inner
    return []


# ------------------------------------------------------------------ applying


def apply_overrides(raw: dict, overrides: dict[str, Any], where: str) -> dict:
    """A deep copy of the raw site document with ``overrides`` set; raise on bad paths."""
    problems: list[Problem] = []
    for path_text in overrides:
        problems += check_path(raw, path_text, where)
    if problems:
        raise InputError(problems, where)
    doc = copy.deepcopy(raw)
    paths = [parse_path(p) for p in overrides]
    for path, value in zip(paths, overrides.values()):
        node: Any = doc
        for part, nxt in zip(path[:-1], path[1:]):
            if isinstance(part, int):
                if part == len(node):
                    node.append({})
                node = node[part]
            else:
                if part not in node or node[part] is None:
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
        last = path[-1]
        if isinstance(last, int) and last == len(node):
            node.append(value)
        else:
            node[last] = value
    for a, b in ALTERNATIVES:
        set_a = any(p[:2] == a for p in paths)
        set_b = any(p[:2] == b for p in paths)
        if set_a != set_b:
            gone = b if set_a else a
            table = doc.get(gone[0])
            if isinstance(table, dict):
                table.pop(gone[1], None)
    return doc


def read_raw(path: Path) -> dict:
    """The site file as a raw TOML document (errors reported as for a site file)."""
    return schema.read_toml(Path(path))


def validate(raw: dict, where: str, overrides: dict[str, Any] | None = None) -> SiteFile:
    """Validate a raw document as a site file; problems on overridden fields say so."""
    problems: list[Problem] = []
    try:
        config = SiteFile.model_validate(raw)
    except ValidationError as err:
        problems = [schema._problem_from_error(where, e) for e in err.errors()]
    else:
        problems = schema.cross_check(config, where)
    if problems:
        if overrides:
            problems = [_mark(p, where, overrides) for p in problems]
        raise InputError(problems, where + (" with overrides" if overrides else ""))
    return config


def _mark(problem: Problem, where: str, overrides: dict[str, Any]) -> Problem:
    field = problem.where[len(where) + 2:] if problem.where.startswith(where + ": ") else ""
    hits = [p for p in overrides if field and (p == field or p.startswith(field + ".") or field.startswith(p))]
    if not hits:
        return problem
    return Problem(problem.where, problem.message.rstrip(".") + f" (set by override {hits[0]}).", problem.fix)


def site_config(path: Path, overrides: dict[str, Any]) -> tuple[dict, SiteFile]:
    """Raw document and validated config of a site file with ``overrides`` applied."""
    where = str(path)
    if not schema.SITE_ID_PATTERN.match(Path(path).stem):
        schema.read_site_file(Path(path))  # reports the bad id
    base = read_raw(path)
    bad = {p: check_path(base, p, where) for p in overrides}
    problems = [x for found in bad.values() for x in found]
    good = {p: v for p, v in overrides.items() if not bad[p]}
    raw = apply_overrides(base, good, where)
    try:
        config = validate(raw, where, good)
    except InputError as err:
        problems += err.problems
    if problems:  # every problem at once: bad paths and bad values
        raise InputError(problems, where + " with overrides")
    return raw, config


def value_at(config: SiteFile, path_text: str) -> Any:
    """The validated value of a field (defaults applied by the schema), or None."""
    node: Any = config
    for part in parse_path(path_text):
        if node is None:
            return None
        if isinstance(part, int):
            node = node[part] if part < len(node) else None
        else:
            node = getattr(node, part, None)
    return node


class Overrides(dict):
    """Dotted path -> value, remembering what set each path (``sources``: ``"scenario"``, ``"set"``)."""

    def __init__(self, values: dict[str, Any] | None = None, sources: dict[str, str] | None = None) -> None:
        super().__init__(values or {})
        self.sources: dict[str, str] = dict(sources or {})


def load_site_with(path: str | Path, overrides: dict[str, Any]):
    """:func:`allocator.inputs.site.load_site` with overrides applied before validation.

    The site's ``field_sources`` record the overridden paths: by ``overrides.sources`` when it is
    an :class:`Overrides`, else ``"override"``.
    """
    from .site import load_site

    path = Path(path)
    if not overrides:
        return load_site(path)
    _, config = site_config(path, overrides)
    site = load_site(path, config=config)
    sources = getattr(overrides, "sources", {})
    site.field_sources = {p: sources.get(p, "override") for p in overrides}
    return site
