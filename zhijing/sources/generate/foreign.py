"""``zhijing generate-foreign``: the generated city as a foreign city's departments send it.

The same people and events, byte for byte where the format allows (every value, record id
and planted fault is the generated city's), but under other dataset names, files, tables
and headers (``data/foreign_city.yaml``); lodging split between two hotel chains, each with
its own hotel list, and bank transfers between two banks' files. Beside them, the city's
own declarations (``foreign_city.yaml``: datasets with their ``model`` mappings, places,
reference, geography) and ``truth/foreign.json``, which maps every foreign name back to the
generated city's so both cities' answers can be compared. An analysis that names a dataset
or a header cannot give the same answer on both (DESIGN §10).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from openpyxl import load_workbook

from zhijing.errors import ZhijingError
from zhijing.sources.spec import CitySpec, DatasetSpec, ModelMapping, packaged_spec

PLAN_FILE = Path(__file__).with_name("data") / "foreign_city.yaml"
DECLARATION = "foreign_city.yaml"
Chooser = Callable[[dict[str, str]], int]  # a row (original headers) -> which part takes it


def plan() -> dict[str, Any]:
    return yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))


def _parts(p: dict) -> dict[str, list[dict]]:
    """Original dataset -> the foreign datasets it becomes (one, or the parts of a split)."""
    return {name: [d] for name, d in p["datasets"].items()} | {name: s["parts"] for name, s in p["split"].items()}


# --- declarations -------------------------------------------------------------------------


def _renamer(fields: dict[str, dict[str, str]], names: dict[str, str], own: str) -> Callable[[str | None], str | None]:
    """Renames a field reference of dataset ``own``: ``col``, ``dataset.col`` or ``=literal``."""

    def ref(r: str | None) -> str | None:
        if not r or r.startswith("="):
            return r
        ds, col = r.split(".", 1) if "." in r and r.split(".", 1)[0] in names else (own, r)
        new = fields[ds][col]
        return new if ds == own else f"{names[ds]}.{new}"

    return ref


def _mapping(m: ModelMapping, ref: Callable, person_roles: set[str], fields: dict, names: dict) -> dict:
    """One model mapping with every field reference renamed (person roles keep their names)."""
    out = m.model_dump(exclude_none=True, exclude_defaults=True)
    out["type"] = m.type
    out["roles"] = {role: (v if v in person_roles else ref(v)) for role, v in m.roles.items()}
    for key in ("key", "time", "end", "duration", "where"):
        if getattr(m, key):
            out[key] = ref(getattr(m, key))
    if m.place:
        out["place"] = {k: (v if k == "kind" else ref(v)) for k, v in m.place.model_dump(exclude_none=True).items()}
    if m.properties:
        out["properties"] = {k: ref(v) for k, v in m.properties.items()}
    if m.join:
        out["join"] = {names[ds]: {ref(mine): fields[ds][theirs] for mine, theirs in on.items()} for ds, on in m.join.items()}
    return out


def declare(spec: DatasetSpec, part: dict, fields: dict[str, dict[str, str]], names: dict[str, str]) -> dict:
    """The foreign declaration of one part of ``spec``: renamed name, file and every header."""
    ref = _renamer(fields, names, spec.name)
    own = fields[spec.name]
    d = spec.model_dump(exclude_none=True, exclude_defaults=True, exclude={"profile", "model", "persons", "fields"})
    d.update({k: part[k] for k in ("name", "title", "owner", "path", "table", "sheet", "subject", "encoding") if k in part})
    d["key"], d["fields"] = own[spec.key], [f.model_dump(exclude_none=True) | {"name": own[f.name]} for f in spec.fields]
    if spec.time_field:
        d["time_field"] = own[spec.time_field]
    d["persons"] = [{"role": p.role, **{e: own[f] for e, f in p.element_fields().items()}} for p in spec.persons]
    roles = {p.role for p in spec.persons}
    d["model"] = [_mapping(m, ref, roles, fields, names) for m in spec.model]
    return d


# --- files --------------------------------------------------------------------------------


def _star(pattern: str, path: str) -> str:
    """The part of ``path`` the '*' of ``pattern`` matched."""
    head, tail = pattern.split("*", 1)
    return path[len(head) : len(path) - len(tail) if tail else None]


def _target(part: dict, star: str | None) -> str:
    return part["path"].replace("*", star) if star is not None else part["path"]


def _csv(src: Path, spec: DatasetSpec, parts: list[dict], out: Path, star: str | None, choose: Chooser) -> None:
    """Each line to its part's file, headers renamed, re-encoded where the part says; broken
    lines (garbage bytes, lost columns) stay as broken (surrogates keep their bytes)."""
    enc = spec.encoding or "utf-8"
    lines = src.read_bytes().split(b"\n")
    header = lines[0].decode(enc).rstrip("\r").split(spec.delimiter)
    handles = []
    for part in parts:
        path = out / _target(part, star)
        path.parent.mkdir(parents=True, exist_ok=True)
        handles.append((path.open("wb"), part.get("encoding", enc)))
        handles[-1][0].write((spec.delimiter.join(part["fields"][h] for h in header) + "\n").encode(handles[-1][1]))
    try:
        for raw in lines[1:]:
            if not raw:
                continue
            text = raw.decode(enc, errors="surrogateescape")
            row = next(csv.reader([text], delimiter=spec.delimiter), [])
            fh, penc = handles[choose(dict(zip(header, row, strict=False))) if len(parts) > 1 else 0]
            fh.write(text.encode(penc, errors="surrogateescape") + b"\n")
    finally:
        for fh, _ in handles:
            fh.close()


def _jsonl(src: Path, fields: dict[str, str], dst: Path) -> None:
    """Keys renamed; a line cut in half keeps its cut (its keys renamed as text)."""
    keys = re.compile("|".join(re.escape(json.dumps(k, ensure_ascii=False) + ":") for k in fields))
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open(encoding="utf-8") as fin, dst.open("w", encoding="utf-8") as fout:
        for line in fin:
            try:
                row = json.loads(line)
                fout.write(json.dumps({fields.get(k, k): v for k, v in row.items()}, ensure_ascii=False) + "\n")
            except json.JSONDecodeError:
                fout.write(keys.sub(lambda m: json.dumps(fields[json.loads(m.group(0)[:-1])], ensure_ascii=False) + ":", line))


def _excel(src: Path, spec: DatasetSpec, part: dict, dst: Path) -> None:
    wb = load_workbook(src)
    ws = wb[spec.sheet] if spec.sheet in wb.sheetnames else wb.active
    for cell in ws[1]:
        cell.value = part["fields"].get(cell.value, cell.value)
    ws.title = part.get("sheet", ws.title)
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)


def _sqlite(src: Path, spec: DatasetSpec, part: dict, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(dst) as con:
        con.execute("ATTACH DATABASE ? AS src", (str(src),))
        cols = ", ".join(f'"{old}" AS "{new}"' for old, new in part["fields"].items())
        con.execute(f'DROP TABLE IF EXISTS "{part["table"]}"')
        con.execute(f'CREATE TABLE "{part["table"]}" AS SELECT {cols} FROM src."{spec.table}"')
        con.commit()
        con.execute("DETACH DATABASE src")


def _files(root: Path, spec: DatasetSpec) -> list[tuple[Path, str | None]]:
    """(file, what its '*' matched) for every file of ``spec`` under ``root``."""
    if "*" not in spec.path:
        return [(root / spec.path, None)] if (root / spec.path).exists() else []
    return [(p, _star(spec.path, p.relative_to(root).as_posix())) for p in sorted(root.glob(spec.path))]


def rewrite(root: Path, spec: DatasetSpec, parts: list[dict], out: Path, choose: Chooser) -> None:
    """Every file of ``spec`` under ``root`` written as its foreign part(s) under ``out``."""
    for src, star in _files(root, spec):
        if spec.format == "csv":
            _csv(src, spec, parts, out, star, choose)
        elif spec.format in ("jsonl", "stream"):
            _jsonl(src, parts[0]["fields"], out / _target(parts[0], star))
        elif spec.format == "excel":
            _excel(src, spec, parts[0], out / _target(parts[0], star))
        elif spec.format == "sqlite":
            _sqlite(src, spec, parts[0], out / _target(parts[0], star))


# --- the two hotel chains and the two banks -----------------------------------------------


def _hotel_chains(root: Path, p: dict, out: Path) -> tuple[Chooser, dict[str, list[str]]]:
    """Every other hotel (in code order) belongs to the second chain; each chain's list is
    written in its own columns. Returns the chooser of a lodging row and {list: codes}."""
    import pandas as pd

    hotels = pd.read_csv(root / "geo" / "hotels.csv", dtype=str)
    chain_of = {code: i % 2 for i, code in enumerate(sorted(hotels.hotel_code))}
    lists = {}
    for i, part in enumerate(p["split"]["lodging"]["parts"]):
        info = p["hotel_lists"][part["hotels"]]
        mine = hotels[hotels.hotel_code.map(chain_of) == i].rename(columns=info.get("columns", {}))
        (out / info["path"]).parent.mkdir(parents=True, exist_ok=True)
        mine.to_csv(out / info["path"], index=False)
        lists[part["hotels"]] = sorted(hotels.hotel_code[hotels.hotel_code.map(chain_of) == i])
    return (lambda row: chain_of.get(row.get("旅馆编码", ""), 0)), lists


def _banks(root: Path, spec: CitySpec, p: dict) -> Chooser:
    """A transfer goes to the file of the payer's bank (the last bank takes the rest)."""
    import pandas as pd

    acc = spec.dataset("bank_account")
    accounts = pd.read_csv(root / acc.path, dtype=str, encoding=acc.encoding, on_bad_lines="skip", encoding_errors="replace")
    parts = p["split"]["bank_transaction"]["parts"]
    part_of_bank = {b: i for i, part in enumerate(parts) for b in part.get("banks", [])}
    last = len(parts) - 1
    bank = dict(zip(accounts["账号"], accounts["开户行"].map(lambda b: part_of_bank.get(b, last)), strict=True))
    return lambda row: bank.get(row.get("付款账号", ""), last)


# --- the city -----------------------------------------------------------------------------


def _declarations(spec: CitySpec, p: dict, hotel_lists: dict) -> dict:
    parts = _parts(p)
    names = {name: ps[0]["name"] for name, ps in parts.items()}
    fields = {name: ps[0]["fields"] for name, ps in parts.items()}
    datasets = []
    for ds in spec.datasets:
        for part in parts[ds.name]:
            # a split part joins and is joined under the first part's names; its own headers differ
            datasets.append(declare(ds, part, fields | {ds.name: part["fields"]}, names))
    refs = p["reference"]
    reference = [{"name": r["name"], "title": r["title"], "format": orig.format, "path": r["path"],
                  **({"encoding": orig.encoding} if orig.encoding else {})}
                 for orig in spec.reference if (r := refs.get(orig.name))]  # fmt: skip
    reference += [{"name": n, "title": h["title"], "format": "csv", "encoding": "utf-8", "path": h["path"]}
                  for n, h in p["hotel_lists"].items()]  # fmt: skip
    ref_names = {orig: r["name"] for orig, r in refs.items()}
    places = []
    for pl in spec.places:
        if pl.kind == "hotel":
            for n, h in p["hotel_lists"].items():
                cols = h.get("columns", {})
                places.append(pl.model_dump(exclude_none=True) | {"dataset": n} | {k: cols.get(v, v) for k, v in
                              pl.model_dump(include={"code", "name", "lon", "lat", "station", "district"}, exclude_none=True).items()})  # fmt: skip
        else:
            places.append(pl.model_dump(exclude_none=True) | {"dataset": ref_names[pl.dataset]})
    first_hotels = next(iter(p["hotel_lists"]))
    geography = {role: (first_hotels if ds == "hotels" else ref_names[ds]) for role, ds in spec.geography.items()}
    return {"department": "外市各部门 (zhijing generate-foreign)", "datasets": datasets, "reference": reference,
            "places": places, "geography": geography}  # fmt: skip


def _truth(spec: CitySpec, p: dict, hotel_lists: dict) -> dict:
    parts = _parts(p)
    return {
        "datasets": {part["name"]: name for name, ps in parts.items() for part in ps},
        "fields": {part["name"]: {new: old for old, new in part["fields"].items()} for ps in parts.values() for part in ps},
        "reference": {r["name"]: orig for orig, r in p["reference"].items()} | dict.fromkeys(p["hotel_lists"], "hotels"),
        "hotel_lists": hotel_lists,
        "banks": {part["name"]: part.get("banks", "the rest") for part in p["split"]["bank_transaction"]["parts"]},
        "roles": "unchanged: a mention dataset|record_id|role maps by its dataset alone",
    }


def generate_foreign(city: Path, out: Path, truth: Path | None = None, force: bool = False) -> dict:
    """Write ``city``'s sources (a generated city's folder) as the foreign city under ``out``
    (a deployment's ``<home>/sources``) and its name map to ``truth/foreign.json``."""
    city, out = Path(city), Path(out)
    root = city / "sources" if (city / "sources").is_dir() else city
    if not (root / "geo" / "hotels.csv").exists():
        raise ZhijingError(f"{city} holds no generated city (no sources/geo/hotels.csv); run `zhijing generate` first")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ZhijingError(f"{out} is not empty; pass --force to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    spec, p = packaged_spec(), plan()
    parts = _parts(p)
    choose, hotel_lists = _hotel_chains(root, p, out)
    choosers = {"lodging": choose, "bank_transaction": _banks(root, spec, p)}
    for ds in spec.datasets:
        rewrite(root, ds, parts[ds.name], out, choosers.get(ds.name, lambda row: 0))
    for orig in spec.reference:
        if (r := p["reference"].get(orig.name)) and (root / orig.path).exists():
            (out / r["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / orig.path, out / r["path"])
    declarations = _declarations(spec, p, hotel_lists)
    (out / DECLARATION).write_text("# The foreign city's declarations, written by `zhijing generate-foreign`.\n"
                                   + yaml.safe_dump(declarations, allow_unicode=True, sort_keys=False, width=160),
                                   encoding="utf-8")  # fmt: skip
    names = _truth(spec, p, hotel_lists)
    truth = Path(truth) if truth else out.parent / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    (truth / "foreign.json").write_text(json.dumps(names, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"datasets": len(declarations["datasets"]), "reference": len(declarations["reference"]),
            "declaration": str(out / DECLARATION), "truth": str(truth / "foreign.json")}  # fmt: skip
