"""The model's types: the packaged ``types.yaml`` and a deployment's ``$ZHIJING_HOME/model/*.yaml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from zhijing.errors import ZhijingError

TYPES_FILE = Path(__file__).with_name("types.yaml")
# SQL words a property or role may not be named (they become columns of the model tables)
RESERVED = {"case", "select", "from", "where", "order", "group", "by", "join", "on", "and", "or", "not", "null", "end",
            "when", "then", "else", "as", "in", "is", "limit", "offset", "union", "all", "table", "to", "default"}  # fmt: skip
# the columns every entity row has, before its properties
ENTITY_COLUMNS = ("type", "dataset", "record_id", "source_line", "id")
# the columns every event row has, before its roles and properties
BASE_COLUMNS = ("type", "dataset", "record_id", "source_line", "ts", "ts_end", "place_kind", "place_id", "place_name", "lon", "lat", "placed")


class EntityType(BaseModel):
    """A thing with identity; a dataset that registers them maps its rows to it by ``key``
    (a vehicle register, a phone register, an enterprise register)."""

    model_config = ConfigDict(extra="forbid")
    label: str
    label_en: str | None = None  # the label in English (the console's English mode)
    ftm: str | None = None  # its FollowTheMoney schema (none: a value, e.g. a phone number)
    key: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)
    ftm_key: str | None = None  # the FtM property holding its identifier (``zhijing export ftm``)
    element: str | None = None  # the identifier's data element (its grade masks it); default: that of ``key``

    def columns(self) -> list[str]:
        return [*ENTITY_COLUMNS, *self.properties]

    def key_element(self) -> str:
        return self.element or self.properties.get(self.key or "", "code")


class Companion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: Literal["service", "overlap", "near"]
    window_s: int | None = None  # near: None is the analyst's Δt
    label: str
    label_en: str | None = None
    weight: float = 1.0


class GraphRule(BaseModel):
    """An edge of the relationship graph: ``from`` → ``to`` between two roles, or every pair
    of ``members`` sharing the ``group`` key."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    edge: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    members: str | None = None
    group: list[str] = Field(default_factory=list)
    where: str | None = None  # SQL over the type's columns


class EventType(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    label_en: str | None = None
    ftm: str | None = None
    ftm_map: dict[str, str] = Field(default_factory=dict)  # role or property -> FtM property (or role.property)
    roles: dict[str, str]
    properties: dict[str, str] = Field(default_factory=dict)
    time: Literal["instant", "interval", "none"] = "instant"
    place: Literal["required", "optional", "none"] = "optional"
    summary: list[str] = Field(default_factory=list)  # columns whose first value is a record's one-line summary
    affiliation: str | None = None  # the role naming the organisation its persons belong to (resolution evidence)
    default_span_s: int | None = None  # an interval without its end lasts this long (a stay: one night)
    companion: Companion | None = None
    graph: list[GraphRule] = Field(default_factory=list)

    def columns(self) -> list[str]:
        """The table's columns: the base ones, one per role, one per property."""
        return [*BASE_COLUMNS, *self.roles, *self.properties]

    def person_roles(self) -> list[str]:
        return [r for r, t in self.roles.items() if t == "person"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entities: dict[str, EntityType]
    events: dict[str, EventType]

    def event(self, name: str) -> EventType:
        try:
            return self.events[name]
        except KeyError:
            raise ZhijingError(f"unknown model type {name!r}; types: {', '.join(sorted(self.events))}") from None

    def placed(self) -> list[str]:
        """Event types with a time and a place: what presence (trajectory, companions, collision) reads."""
        return [n for n, t in self.events.items() if t.time != "none" and t.place != "none"]


def _validate(model: Model, origin: str) -> None:
    for name, ent in model.entities.items():
        if ent.key and ent.key not in ent.properties:
            raise ZhijingError(f"{origin}: {name}.key: {ent.key!r} is not one of its properties")
        if ent.key and name in model.events:  # both would be model/<name>
            raise ZhijingError(f"{origin}: {name!r} is both a registered entity and an event type")
    for name, ev in model.events.items():
        for role, kind in ev.roles.items():
            if kind not in model.entities:
                raise ZhijingError(f"{origin}: {name}.roles.{role}: unknown entity type {kind!r}")
        for col in [*ev.roles, *ev.properties]:
            if col.lower() in RESERVED or col in BASE_COLUMNS:
                raise ZhijingError(f"{origin}: {name}: {col!r} is a reserved word; name the role or property otherwise")
        if bad := [c for c in ev.summary if c not in ev.columns()]:
            raise ZhijingError(f"{origin}: {name}.summary: {bad[0]!r} is not a column of the type")
        for rule in ev.graph:
            used = [r for r in (rule.from_, rule.to, rule.members) if r]
            cols = set(ev.columns()) | {"hour", "day"}
            bad = [r for r in used if r not in ev.roles] + [g for g in rule.group if g not in cols]
            if bad or not ((rule.from_ and rule.to) or (rule.members and rule.group)):
                raise ZhijingError(f"{origin}: {name}.graph: {rule.edge}: needs from/to roles or members and group columns")


@lru_cache(maxsize=1)
def packaged() -> Model:
    model = Model.model_validate(yaml.safe_load(TYPES_FILE.read_text(encoding="utf-8")))
    _validate(model, TYPES_FILE.name)
    return model


def load_folder(folder: Path) -> Model:
    """The packaged types plus those of ``folder/*.yaml`` (a colliding name is refused)."""
    base = packaged()
    if not folder.is_dir():
        return base
    entities, events = dict(base.entities), dict(base.events)
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        try:
            extra = Model.model_validate({"entities": {}, "events": {}, **(yaml.safe_load(path.read_text(encoding="utf-8")) or {})})
        except Exception as exc:  # pydantic or YAML: one line naming the file
            raise ZhijingError(f"{path.name}: not a valid model file: {str(exc).splitlines()[0]}") from None
        for kind, found, into in (("entity", extra.entities, entities), ("event", extra.events, events)):
            for name in found:
                if name in into:
                    raise ZhijingError(f"{path.name}: {kind} type {name!r} collides with a type already defined")
            into.update(found)
    model = Model(entities=entities, events=events)
    _validate(model, str(folder))
    return model


def load(settings=None) -> Model:
    """The packaged types plus the deployment's (``<home>/model/*.yaml``)."""
    if settings is None:
        return packaged()
    return load_folder(Path(settings.home) / "model")
