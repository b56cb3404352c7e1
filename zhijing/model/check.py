"""A dataset's model mappings checked against the model's types and the dataset's fields.

Returns ``(location, problem)`` pairs so the declarations reader reports each as
file:line:field (``lodging.yaml:31: model[0].roles.guest: ...``).
"""

from __future__ import annotations

from pathlib import Path

from zhijing.errors import ZhijingError
from zhijing.model import types
from zhijing.model.types import Model
from zhijing.sources.declarations import DeclarationError, load_folder
from zhijing.sources.spec import DatasetSpec, packaged_spec, registry_part

TIME_ELEMENTS = ("datetime", "date")


def _field_problem(ref: str | None, names: set[str], joined: dict[str, set[str] | None]) -> str | None:
    """What is wrong with a field reference (``col``, ``dataset.col`` of a joined dataset, ``=literal``)."""
    if not ref or ref.startswith("="):
        return None
    if "." in ref and ref.split(".", 1)[0] in joined:
        ds, col = ref.split(".", 1)
        cols = joined[ds]
        return None if cols is None or col in cols else f"{col!r} is not a field of {ds}"
    return None if ref in names else f"{ref!r} is not one of the declared fields"


def _entity_problems(m, ent, at: tuple, names: set[str]) -> list[tuple[tuple, str]]:
    """An entity mapping: a key field and the entity's properties."""
    out: list[tuple[tuple, str]] = []
    if not ent.key:
        return [((*at, "type"), f"{m.type} is not registered from datasets (it has no key)")]
    if not m.key:
        out.append(((*at, "key"), f"a {m.type} needs the field holding its {ent.key}"))
    elif bad := _field_problem(m.key, names, {}):
        out.append(((*at, "key"), bad))
    for prop, ref in m.properties.items():
        if prop not in ent.properties:
            out.append(((*at, "properties", prop), f"{m.type} has no property {prop!r}"))
        elif bad := _field_problem(ref, names, {}):
            out.append(((*at, "properties", prop), bad))
    return out


def mapping_problems(spec, model: Model, datasets: dict) -> list[tuple[tuple, str]]:
    """Problems of ``spec.model``; ``datasets`` maps known dataset names to their specs
    (a joined dataset must be one of them)."""
    out: list[tuple[tuple, str]] = []
    names = set(spec.field_names) | set(spec.derived_columns)  # a lonlat field's __lon / __lat too
    persons = {p.role for p in spec.persons}
    claimed: dict[tuple[str, str], int] = {}
    for i, m in enumerate(spec.model):
        at = ("model", i)
        if m.type in model.entities and m.type not in model.events:
            out += _entity_problems(m, model.entities[m.type], at, names)
            continue
        if m.type not in model.events:
            known = ", ".join(sorted({*model.events, *(n for n, e in model.entities.items() if e.key)}))
            out.append(((*at, "type"), f"unknown model type {m.type!r} (types: {known})"))
            continue
        ev = model.events[m.type]
        joined: dict[str, set[str] | None] = {}
        for ds, on in m.join.items():
            other = datasets.get(ds)
            joined[ds] = set(other.field_names) | set(other.derived_columns) if other is not None else None
            if other is None:
                out.append(((*at, "join", ds), f"unknown dataset {ds!r}"))
            for mine, theirs in on.items():
                if mine not in names:
                    out.append(((*at, "join", ds), f"{mine!r} is not one of the declared fields"))
                if other is not None and theirs not in other.field_names:
                    out.append(((*at, "join", ds), f"{theirs!r} is not a field of {ds}"))
        for role, ref in m.roles.items():
            if role not in ev.roles:
                out.append(((*at, "roles", role), f"{m.type} has no role {role!r} (roles: {', '.join(ev.roles)})"))
            elif ev.roles[role] == "person":
                if ref not in persons:
                    out.append(((*at, "roles", role), f"{ref!r} is not one of the dataset's persons roles"))
            elif bad := _field_problem(ref, names, joined):
                out.append(((*at, "roles", role), bad))
            key = (role, ref)
            if key in claimed and spec.model[claimed[key]].type == m.type:
                out.append(((*at, "roles", role), f"the same {role!r} is already claimed by model[{claimed[key]}]"))
            claimed[key] = i
        for prop, ref in m.properties.items():
            if prop not in ev.properties:
                out.append(((*at, "properties", prop), f"{m.type} has no property {prop!r}"))
            elif bad := _field_problem(ref, names, joined):
                out.append(((*at, "properties", prop), bad))
        for key in ("time", "end", "duration", "where"):
            ref = getattr(m, key)
            if bad := _field_problem(ref, names, joined):
                out.append(((*at, key), bad))
            elif key in ("time", "end") and ref and ref in spec.field_names and spec.element_of(ref) not in TIME_ELEMENTS:
                out.append(((*at, key), "must be a field of element datetime or date"))
        if ev.time != "none" and not m.time:
            out.append(((*at, "time"), f"a {m.type} needs a time"))
        if m.place:
            for key in ("code", "name", "lon", "lat", "service", "at", "to"):
                if bad := _field_problem(getattr(m.place, key), names, joined):
                    out.append(((*at, "place", key), bad))
            if not (m.place.code or m.place.service or (m.place.lon and m.place.lat)):
                out.append(((*at, "place"), "a place needs a code, a service or lon and lat"))
        elif ev.place == "required":
            out.append(((*at, "place"), f"a {m.type} needs a place"))
    return out


def declared(spec: DatasetSpec, path: Path, same_file: list[DatasetSpec]) -> list[tuple[tuple, str]]:
    """A declared dataset's model mappings against the model (packaged types and the home's
    ``model/*.yaml``) and the datasets it may join (packaged, or declared earlier in its
    file): the ``check`` a command passes to ``sources.declarations.load_file``."""
    if not spec.model:
        return []
    try:
        model = types.load_folder(path.parent.parent / "model")
    except ZhijingError as exc:
        return [(("model",), str(exc))]
    known = {d.name: d for d in [*packaged_spec().datasets, *same_file, spec]}
    return mapping_problems(spec, model, known)


def refuse_bad_mappings(settings) -> None:
    """Raise when a deployment's declaration maps its columns wrongly (file:line: field:
    problem): the model is built from declarations the model accepts, never from guesses."""
    _, problems = load_folder(Path(settings.home) / "sources", registry_part(settings.city_registry), declared)
    if problems:
        raise DeclarationError([str(p) for p in problems])
