"""A deployment's own source declarations: ``$ZHIJING_HOME/sources/*.yaml``.

A data center takes in the next department's data without touching the installed
package: each YAML file declares one dataset (a mapping with ``name``) or a department's
datasets (a mapping with ``datasets: [...]``), in the same schema as the packaged
registry. Paths in a declaration are relative to the folder that holds it.

Every error names the file, the line and the field (``hotel.yaml:12: fields[3].element:
Input should be ...``), so a clerk's typo is found without reading a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from zhijing.errors import ZhijingError
from zhijing.sources.schema import (
    LINE_KEY,
    CitySpec,
    DatasetSpec,
    PlaceSource,
    ReferenceSpec,
    registry_part,
)

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SUFFIXES = (".yaml", ".yml")
# a dataset, its declaration file and the datasets declared before it there -> (field path, problem)
Check = Callable[[DatasetSpec, Path, list[DatasetSpec]], list[tuple[tuple, str]]]


class DeclarationError(ZhijingError):
    """One or more declarations are invalid; the message lists them as file:line: field: problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 3} more; run `zhijing sources check`)" if len(problems) > 3 else ""
        super().__init__("invalid source declaration: " + "; ".join(problems[:3]) + more)


@dataclass
class Problem:
    file: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line}: {self.field or '(file)'}: {self.message}"


def declaration_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def _node_at(node: yaml.Node | None, loc: tuple) -> tuple[yaml.Node | None, bool]:
    """The node a pydantic location points at (or its nearest parent; the flag says exact)."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        else:
            child = None
        if child is None:
            return node, False
        node = child
    return node, True


def _loc_text(loc: tuple) -> str:
    out = ""
    for k in loc:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _entries(data: Any, root: yaml.Node | None, path: Path) -> tuple[list[tuple[Any, tuple, yaml.Node | None]], list[Problem]]:
    """(dataset mapping, its location prefix, its node) for each dataset a file declares."""
    if isinstance(data, dict) and "datasets" in data:
        extra = sorted(set(data) - {"datasets", "department", "places", "reference", "geography"})
        problems = [Problem(path, _line(_node_at(root, (k,))[0]), k, "unknown key (expected datasets, department, places, reference, geography)")
                    for k in extra]  # fmt: skip
        items = data["datasets"]
        if not isinstance(items, list):
            return [], problems + [Problem(path, _line(_node_at(root, ("datasets",))[0]), "datasets", "must be a list")]
        return [(d, ("datasets", i), _node_at(root, ("datasets", i))[0]) for i, d in enumerate(items)], problems
    if isinstance(data, dict):
        return [(data, (), root)], []
    return [], [Problem(path, 1, "", "a declaration is a mapping with `name` (one dataset) or `datasets` (a list)")]


def _semantic(spec: DatasetSpec) -> list[tuple[tuple, str]]:
    """Checks the schema cannot express: names that exist, a key, a time field of a time element."""
    out: list[tuple[tuple, str]] = []
    if not NAME.match(spec.name):
        out.append((("name",), "must be lower-case letters, digits and _ (it names folders in the lake)"))
    names = spec.field_names
    for i, n in enumerate(names):
        if names.index(n) != i:
            out.append((("fields", i, "name"), f"field {n!r} declared twice"))
    if spec.key not in names and spec.key != LINE_KEY:
        out.append((("key",), f"{spec.key!r} is not one of the declared fields (or {LINE_KEY}: file and line)"))
    if spec.time_field and spec.time_field not in names:
        out.append((("time_field",), f"{spec.time_field!r} is not one of the declared fields"))
    elif spec.time_field and spec.element_of(spec.time_field) not in ("datetime", "date"):
        out.append((("time_field",), "must be a field of element datetime or date"))
    if spec.partition != "none" and not spec.time_field:
        out.append((("partition",), "a partitioned dataset needs a time_field"))
    for i, role in enumerate(spec.persons):
        for element, field in role.element_fields().items():
            if field not in names:
                out.append((("persons", i, element), f"{field!r} is not one of the declared fields"))
    if Path(spec.path).is_absolute() or ".." in Path(spec.path).parts:
        out.append((("path",), "must be relative to the declarations folder, without .."))
    if spec.format == "csv" and (len(spec.delimiter) != 1 or len(spec.quote) > 1):
        out.append((("delimiter",), "delimiter must be one character and quote at most one"))
    if spec.format == "ftm":
        from zhijing.sources.connectors.ftm import property_problems

        out += [(("ftm_schema",), p) for p in property_problems(spec.ftm_schema, names)]
    return out


def load_file(path: Path, check: Check | None = None) -> tuple[list[DatasetSpec], list[Problem]]:
    """The datasets one declaration file declares, and what is wrong with it; ``check`` adds
    the problems of each dataset's model mappings (``model.check.declared``: the model sits
    above sources, so the command that has both passes it)."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [], [Problem(path, mark.line + 1 if mark else 1, "", f"not valid YAML: {exc.problem or exc.context}")]
    entries, problems = _entries(data, root, path)
    specs = []
    for item, prefix, node in entries:
        try:
            spec = DatasetSpec.model_validate(item)
        except ValidationError as exc:
            for e in exc.errors():
                where, _ = _node_at(node, tuple(e["loc"]))  # a missing key: the line of its parent
                what = "missing" if e["type"] == "missing" else e["msg"]
                problems.append(Problem(path, _line(where), _loc_text(prefix + tuple(e["loc"])), what))
            continue
        bad = _semantic(spec) + (check(spec, path, specs) if check else [])
        for loc, msg in bad:
            problems.append(Problem(path, _line(_node_at(node, loc)[0]), _loc_text(prefix + loc), msg))
        if not bad:
            spec._root, spec._declared_in = path.parent, path
            specs.append(spec)
    return specs, problems


def load_extras(folder: Path) -> tuple[list[PlaceSource], list[ReferenceSpec], dict[str, str], list[Problem]]:
    """The place sources, reference datasets and geography roles a deployment's declaration
    files declare (beside their ``datasets``); a reference path is relative to its file's folder."""
    places, refs, geography, problems = [], [], {}, []
    for path in declaration_files(folder):
        try:
            root, data = yaml.compose(path.read_text(encoding="utf-8-sig")), yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except yaml.MarkedYAMLError:
            continue  # load_file reports it
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("geography"), dict):
            geography.update({str(k): str(v) for k, v in data["geography"].items()})
        for key, cls, into in (("places", PlaceSource, places), ("reference", ReferenceSpec, refs)):
            for i, item in enumerate(data.get(key) or []):
                try:
                    obj = cls.model_validate(item)
                except ValidationError as exc:
                    e = exc.errors()[0]
                    where, _ = _node_at(root, (key, i, *e["loc"]))
                    problems.append(Problem(path, _line(where), _loc_text((key, i, *e["loc"])), e["msg"]))
                    continue
                if isinstance(obj, ReferenceSpec):
                    obj._root = path.parent
                into.append(obj)
    return places, refs, geography, problems


def load_folder(folder: Path, packaged: CitySpec, check: Check | None = None) -> tuple[list[DatasetSpec], list[Problem]]:
    """Every valid deployment dataset under ``folder`` and every problem (names must be unique,
    also against the packaged registry)."""
    taken = {d.name: "the packaged registry" for d in packaged.datasets} | {r.name: "the packaged registry" for r in packaged.reference}
    specs, problems = [], []
    for path in declaration_files(folder):
        found, bad = load_file(path, check)
        problems += bad
        for spec in found:
            if spec.name in taken:
                problems.append(Problem(path, 1, "name", f"dataset {spec.name!r} is already declared in {taken[spec.name]}"))
                continue
            taken[spec.name] = path.name
            specs.append(spec)
    return specs, problems


def _fingerprint(folder: Path) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in declaration_files(folder))


def merged(folder: Path, city_registry: bool = True) -> CitySpec:
    """The packaged registry (unless ``city_registry`` is off) plus the deployment's datasets;
    any invalid declaration is an error."""
    fingerprint = _fingerprint(folder)
    if not fingerprint:
        return registry_part(city_registry)
    return _merged(str(folder.resolve()), fingerprint, city_registry)


@lru_cache(maxsize=8)
def _merged(folder: str, fingerprint: tuple, city_registry: bool) -> CitySpec:
    packaged = registry_part(city_registry)
    specs, problems = load_folder(Path(folder), packaged)
    places, refs, geography, more = load_extras(Path(folder))
    if problems or more:
        raise DeclarationError([str(p) for p in problems + more])
    return packaged.model_copy(update={"datasets": [*packaged.datasets, *specs], "places": [*packaged.places, *places],
                                       "reference": [*packaged.reference, *refs],
                                       "geography": {**packaged.geography, **geography}})  # fmt: skip


def dump(spec: DatasetSpec, header: str = "") -> str:
    """A declaration file's text for ``spec`` (one dataset), fields one per line."""
    data = spec.model_dump(exclude_none=True, exclude_defaults=False)
    body = {k: v for k, v in data.items() if k not in ("fields", "persons", "model", "profile")}
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.append(yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=120).rstrip())
    lines.append("fields:")
    lines += ["  - " + _flow(f) for f in data["fields"]]
    lines.append("persons:" + ("" if data.get("persons") else " []"))
    lines += ["  - " + _flow(p) for p in data.get("persons", [])]
    if data.get("model"):
        lines.append("# the rows as model events (docs/model.md): what trajectory, companions and collision read")
        lines.append("model:")
        lines += ["  - " + _flow(_lean(m)) for m in data["model"]]
    if data.get("profile"):
        lines.append("# what `zhijing sources add` measured in the file (not read by ingest)")
        lines.append(yaml.safe_dump({"profile": data["profile"]}, allow_unicode=True, sort_keys=False, width=200,
                                    default_flow_style=None).rstrip())  # fmt: skip
    return "\n".join(lines) + "\n"


def _lean(d: dict) -> dict:
    """A mapping without its empty keys (``properties: {}``, ``join: {}``)."""
    return {k: _lean(v) if isinstance(v, dict) and k == "place" else v for k, v in d.items() if v not in ({}, [], None)}


def _flow(d: dict) -> str:
    return yaml.safe_dump(d, allow_unicode=True, sort_keys=False, default_flow_style=True, width=400).strip()
