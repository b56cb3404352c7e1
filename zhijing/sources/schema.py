"""The shape of the source registry — which datasets arrive, how, and what each field means —
and the packaged registry (``city_sources.yaml``, the generated city's departments).

Below both ``declarations.py`` (which reads a deployment's declarations into these shapes)
and ``spec.py`` (which merges the two into the registry every job reads): docs/layers.md.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

SPEC_FILE = Path(__file__).with_name("city_sources.yaml")

Element = Literal[
    "record_id", "citizen_id", "name", "name_pinyin", "sex", "birth_date", "phone", "address",
    "division_code", "plate", "vin", "uscc", "company_name", "datetime", "date", "lon", "lat", "lonlat",
    "place_code", "amount", "account_no", "duration_s", "text", "category", "code", "count", "number",
]  # fmt: skip
PERSON_ELEMENTS = ("name", "name_pinyin", "citizen_id", "sex", "birth_date", "phone", "address")
# ``lonlat``: one text "lon,lat" (经纬度); the clean zone adds two numeric columns of these suffixes
LONLAT_PARTS = ("__lon", "__lat")
# ``key: _line``: a file with no unique column is keyed by where each row stands (file:line)
LINE_KEY = "_line"


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    element: Element
    title: str | None = None
    note: str | None = None
    # how a date field writes day, month and year when the text alone cannot tell
    # (``%d/%m/%Y``: 06/04/1982 is the 6th of April); never guessed (standardize_sql)
    format: str | None = None


class PersonRole(BaseModel):
    """One person mention in a row: a role and which field holds each person element."""

    model_config = ConfigDict(extra="forbid")
    role: str
    name: str | None = None
    name_pinyin: str | None = None
    citizen_id: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    phone: str | None = None
    address: str | None = None

    def element_fields(self) -> dict[str, str]:
        """{element: source field} for the elements this role carries."""
        return {e: getattr(self, e) for e in PERSON_ELEMENTS if getattr(self, e)}


class PlaceRef(BaseModel):
    """Where a model row happened (DESIGN §10): a code joined to a declared place source of
    ``kind``, coordinates in the row, a service (train, flight, bus) on its local day, or a
    name; fields may name a joined dataset's column as ``dataset.column``."""

    model_config = ConfigDict(extra="forbid")
    kind: str  # hotel, checkpoint, community, cell, rail, flight, ... (a place source's kind or a label)
    code: str | None = None  # joined to the place source of this kind
    name: str | None = None  # the place's name in the row (when the source has none)
    lon: str | None = None
    lat: str | None = None
    service: str | None = None  # a trip: the place is the service on the local day of the time
    at: str | None = None  # a trip: the terminal (name or code in the place source of kind ``terminal``)
    to: str | None = None  # a trip: where it goes (shown, not located)


class ModelMapping(BaseModel):
    """One dataset's rows as one model type (``zhijing/model/types.yaml``): which field is
    each role, the time, the place and the properties (like FollowTheMoney's mapping
    ``queries``). A person role names a ``persons`` role of the dataset (its resolved
    person); other roles name the field holding the identifier (phone, plate, account, ...)."""

    model_config = ConfigDict(extra="forbid")
    type: str
    key: str | None = None  # an entity type: the field identifying the thing (a plate, a USCC)
    roles: dict[str, str] = Field(default_factory=dict)
    time: str | None = None
    end: str | None = None  # an interval's end (or ``duration`` seconds)
    duration: str | None = None
    place: PlaceRef | None = None
    properties: dict[str, str] = Field(default_factory=dict)
    join: dict[str, dict[str, str]] = Field(default_factory=dict)  # {dataset: {my field: its field}}
    where: str | None = None  # a field that must be non-empty for the row to be this type


class PlaceSource(BaseModel):
    """A place dataset (reference or clean): the rows a place code or name is joined to."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    dataset: str
    code: str
    name: str | None = None
    lon: str
    lat: str
    prefix: int | None = None  # the code is the first ``prefix`` characters (a community of addresses)
    station: str | None = None  # the police station (派出所) whose jurisdiction holds the place
    district: str | None = None  # its district (区县) code, when no station is declared


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    title_en: str | None = None  # the catalog title in English (the console's English mode)
    owner: str
    format: Literal["csv", "jsonl", "excel", "sqlite", "stream", "ftm"]
    path: str  # relative to the sources folder; may contain one '*'
    encoding: str | None = None
    table: str | None = None
    sheet: str | None = None
    subject: str | None = None
    key: str  # a field whose values are unique, or LINE_KEY
    time_field: str | None = None
    partition: Literal["none", "day", "month"] = "none"
    grade: Literal["一般", "重要", "核心"]
    pi: Literal["none", "general", "sensitive"]
    retention_days: int
    delimiter: str = ","  # csv only
    quote: str = '"'  # csv only; "" when the file never quotes
    header: bool = True  # csv only; without a header the fields are the columns in order
    ftm_schema: str | None = None  # ftm only: the FollowTheMoney schema whose entities are the rows (fields: property paths)
    fields: list[FieldSpec]
    persons: list[PersonRole] = Field(default_factory=list)
    model: list[ModelMapping] = Field(default_factory=list)  # its rows as model types (DESIGN §10)
    profile: dict[str, Any] | None = None  # what ``zhijing sources add`` found in the file
    _root: Path | None = PrivateAttr(default=None)  # folder ``path`` is relative to (None: the city's)
    _declared_in: Path | None = PrivateAttr(default=None)

    def root(self, default: Path) -> Path:
        """The folder this dataset's ``path`` is relative to."""
        return self._root or default

    @property
    def declared_in(self) -> Path | None:
        """The deployment file that declares this dataset (None: the packaged registry)."""
        return self._declared_in

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def element_of(self, field: str) -> str:
        return self.field(field).element

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    @property
    def derived_columns(self) -> list[str]:
        """Clean columns a mapping may name beside the fields: ``<field>__lon`` and
        ``<field>__lat`` of every ``lonlat`` field."""
        return [f.name + part for f in self.fields if f.element == "lonlat" for part in LONLAT_PARTS]


class ReferenceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    title_en: str | None = None
    format: Literal["csv", "geojson"]
    path: str
    encoding: str | None = None
    _root: Path | None = PrivateAttr(default=None)  # a deployment's: the folder of its declaration

    def root(self, default: Path) -> Path:
        return self._root or default


class CitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: dict[str, str]
    datasets: list[DatasetSpec]
    reference: list[ReferenceSpec]
    places: list[PlaceSource] = Field(default_factory=list)
    # which reference dataset plays each role of the map (district, station, address, road,
    # road_node, unit, officer, checkpoint, hotel): analyses ask for the role, never the name
    geography: dict[str, str] = Field(default_factory=dict)

    def dataset(self, name: str) -> DatasetSpec:
        for d in self.datasets:
            if d.name == name:
                return d
        raise KeyError(name)


@lru_cache(maxsize=1)
def packaged_spec() -> CitySpec:
    """The generated city's registry alone (the generator writes exactly these sources)."""
    return CitySpec.model_validate(yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8")))


@lru_cache(maxsize=2)
def registry_part(city_registry: bool = True) -> CitySpec:
    """The packaged part of a deployment's registry: the generated city's, or (setting
    ``city_registry = false``) nothing — no datasets, reference, places or geography."""
    spec = packaged_spec()
    return spec if city_registry else spec.model_copy(update={"datasets": [], "reference": [], "places": [], "geography": {}})
