"""Search everything (云搜索): one embedded Tantivy index over every catalogued dataset's
clean records and the entity masters.

Tantivy has no Chinese tokenizer and cannot call Python (DESIGN §9), so text is segmented
here with jieba and indexed as whitespace-joined tokens; names get their own fields —
characters and bigrams, pinyin (homophones 张/章), four-corner digits per position (shapes
王/玉) and the name with each character masked (any one-character variant) — and exact
keys are normalised before indexing: citizen IDs (15 → 18), phones, plates by their OCR
key, USCC, account, case and record numbers, standard addresses. Queries are built from
term queries, never parsed, so query syntax in the box is only text.

The index lives beside the lake (``<home>/index/search``); ``index_sync.update`` keeps it
at the lake's versions by writing only the documents that changed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import jieba
import tantivy

from zhijing.derived.workbench.intents import TAILS, Intent, classify, clean, segment
from zhijing.derived.workbench.keys import is_name, name_similarity, name_tokens, plate_key_sql
from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files
from zhijing.localtime import shown_all
from zhijing.model import places
from zhijing.sources.spec import DatasetSpec, load_spec

jieba.setLogLevel(60)
TEXT_ELEMENTS = ("address", "text", "company_name", "category", "name")
KEY_ELEMENTS = ("citizen_id", "phone", "plate", "uscc", "account_no", "record_id", "code", "place_code", "vin")
NAME_FIELDS = ("name_chars", "name_py", "name_shape", "name_mask")
MASTERS = ("persons_master", "vehicles_master", "phones_master", "companies_master")
BATCH = 50_000
WRITER_HEAP, WRITER_THREADS = 1_000_000_000, 2  # threads overlap the Python side; a large heap: fewer segments to merge at 10^7 documents
FORMAT = "6"  # the documents' layout (5: content hashes kept beside; 6: incidents, cases and places their own kinds, ID tails): another layout is rebuilt
# a dataset whose rows are events of these model types is a kind of its own: an incident is found as an incident, not under its caller
EVENT_KINDS = {"incident": "incident", "accident": "incident", "complaint": "incident", "offence": "case"}


def index_dir(settings) -> Path:
    return settings.home / "index" / "search"


def schema() -> tantivy.Schema:
    """Text fields keep term frequencies but no positions: queries are term queries only
    (never phrases), and BM25 needs only frequencies and field lengths."""
    b = tantivy.SchemaBuilder()

    def text(name: str, stored: bool, tokenizer: str) -> None:
        b.add_text_field(name, stored=stored, tokenizer_name=tokenizer, index_option="freq")

    text("uid", True, "raw")
    text("dataset", True, "raw")
    text("kind", True, "raw")  # record | incident | case | place | person | vehicle | phone | company
    text("masters", True, "raw")
    text("group", True, "raw")  # what a hit is grouped under
    b.add_integer_field("group_h", stored=False, indexed=False, fast=True)  # its hash: grouping without fetching documents
    text("keys", False, "raw")
    text("text", False, "whitespace")
    for f in NAME_FIELDS:
        text(f, False, "whitespace")
    text("district", True, "raw")
    text("names", True, "raw")
    b.add_bytes_field("fields", stored=True, indexed=False)  # the record's values, JSON (stored only)
    b.add_date_field("ts", stored=True, indexed=True, fast=True)
    return b.build()


SEP = "\x1f"  # joins a document's texts (or names) into one string in DuckDB: jieba splits at it as at any space


def _q(c: str) -> str:
    return '"' + c.replace('"', '""') + '"'


def _list(exprs: list[str]) -> str:
    """A DuckDB list of the non-null, non-empty values of ``exprs``."""
    return f"list_filter([{', '.join(f'({e})::VARCHAR' for e in exprs)}]::VARCHAR[], lambda x: x IS NOT NULL AND x <> '')" if exprs else "[]::VARCHAR[]"


@lru_cache(maxsize=1_000_000)
def _segmented(text: str) -> str:
    """``segment`` joined by spaces, for the index build: a string costs a fraction of a
    tuple of tokens, so every distinct text of a 10^6-person city stays cached."""
    return " ".join(segment.__wrapped__(text))


@lru_cache(maxsize=500_000)
def _name_strings(name: str) -> tuple[str, ...]:
    """A name's tokens per name field, each field's joined by spaces (for the index build)."""
    toks = name_tokens.__wrapped__(name) if is_name(name) else {}
    return tuple(" ".join(toks.get(f, ())) for f in NAME_FIELDS)


def clear_caches() -> None:
    """Drop the index build's caches: not a server's to keep."""
    for cached in (_segmented, _name_strings, _text_json, _names_json):
        cached.cache_clear()


@lru_cache(maxsize=200_000)
def _text_json(texts: str) -> str:
    """The ``text`` member of a document: its texts (joined by SEP) segmented. Generated and
    real records repeat their texts (directions, colours, operators, addresses)."""
    words = " ".join(w for w in map(_segmented, texts.split(SEP)) if w) if texts else ""
    return ',"text":' + json.dumps(words, ensure_ascii=False)


@lru_cache(maxsize=200_000)
def _names_json(names: str) -> str:
    """The ``names`` member and the name fields of a document whose names are joined by SEP."""
    uniq = list(dict.fromkeys(n.strip() for n in names.split(SEP))) if names else []
    per = [_name_strings(n) for n in uniq]
    fields = {f: " ".join(p[i] for p in per if p[i]) for i, f in enumerate(NAME_FIELDS)}
    return "," + json.dumps({"names": uniq, **fields}, ensure_ascii=False)[1:-1]


def doc_sql(sql: str, dataset: str, kind: str) -> str:
    """The documents of a query whose columns are the document's parts (uid, masters, grp,
    keys, texts (to segment), names, district, fields (JSON), ts), as columns uid, base,
    ts, texts, names: DuckDB writes every member it can (keys, group and its hash, the
    stored values in base64) into ``base``; Python adds only the segmented text and the
    name fields (``lines``)."""
    grp = "coalesce(grp, 'person:' || masters[1], 'record:' || uid)"
    return f"""SELECT uid, to_json(struct_pack(uid := uid, dataset := '{dataset}', kind := '{kind}', masters := coalesce(masters, []::VARCHAR[]),
                                          keys := keys, "group" := {grp}, group_h := (hash({grp}) >> 1)::BIGINT, district := district,
                                          fields := to_base64(encode(fields))))::VARCHAR AS base,
                     strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS ts,
                     array_to_string(texts, chr(31)) AS texts, array_to_string(names, chr(31)) AS names
              FROM ({sql})"""  # fmt: skip


def lines(base: list[str], ts: list[str | None], texts: list[str | None], names: list[str | None]) -> Iterator[str]:
    """Documents as JSON for ``IndexWriter.add_json`` from the columns of ``doc_sql``: the
    segmented text and the name fields are cached, so the per-document work in Python is
    two lookups and a concatenation."""
    for b, t, x, n in zip(base, ts, texts, names, strict=True):
        yield f'{b[:-1]}{_text_json(x)}{_names_json(n)},"ts":"{t}"}}' if t else f"{b[:-1]}{_text_json(x)}{_names_json(n)}}}"


def _docs(con: duckdb.DuckDBPyConnection, sql: str, dataset: str, kind: str) -> Iterator[str]:
    """The documents (JSON) of ``sql`` (the parts ``doc_sql`` reads)."""
    for batch in con.sql(f"SELECT base, ts, texts, names FROM ({doc_sql(sql, dataset, kind)})").to_arrow_reader(BATCH):
        yield from lines(*(batch.column(i).to_pylist() for i in range(4)))


def record_sql(settings, spec: DatasetSpec, con: duckdb.DuckDBPyConnection, only: str | None = None) -> str | None:
    """The document parts (see ``doc_sql``) of one clean dataset's records, each field
    indexed by its data element (None when the dataset has no version); ``only`` a table
    of (dataset, record_id) limits them to those records. The per-row work (keys, JSON of
    the values) is done in DuckDB, segmentation in Python."""
    files = current_files(settings, "clean", spec.name)
    if not files:
        return None
    src = f"read_parquet({files!r}, union_by_name=true)"
    available = set(con.sql(f"SELECT * FROM {src} LIMIT 0").columns)
    fields = [f for f in spec.fields if f.name in available]
    person_names = {r.name for r in spec.persons if r.name}
    by = {el: [f"r.{_q(f.name)}" for f in fields if f.element == el and f.name not in person_names] for el in {f.element for f in fields}}
    keys = ["r._record_id"] + [f"upper(trim(r.{_q(f.name)}::VARCHAR))" for f in fields if f.element in KEY_ELEMENTS or f.element == "address"]
    keys += [f"'plate:' || {plate_key_sql(f'r.{_q(f.name)}')}" for f in fields if f.element == "plate"]
    keys += tails([f"r.{_q(f.name)}" for f in fields if f.element in ("citizen_id", "phone") and f.name not in person_names])
    names = [f"r.{_q(n)}" for n in person_names if n in available] + by.get("name", [])
    texts = [c for el in TEXT_ELEMENTS if el != "name" for c in by.get(el, [])]
    texts += [f"lower(replace(r.{_q(f.name)}, '/', ' ')) || ' ' || lower(replace(r.{_q(f.name)}, '/', ''))" for f in fields if f.element == "name_pinyin"]
    districts = [f"r.{_q(f.name + '__district')}" for f in fields if f.element == "address" and f"{f.name}__district" in available]
    plates = [f"r.{_q(f.name)}" for f in fields if f.element == "plate"]
    kind = kind_of(spec)
    grp = f"'{kind}:{spec.name}|' || r._record_id" if kind != "record" else f"'vehicle:' || coalesce(rp.plate, {plates[0]})" if plates else "NULL"
    resolved = f"LEFT JOIN read_plate rp ON rp.raw = {plates[0]}" if plates else ""
    time_field = spec.time_field or next((f.name for f in fields if f.element == "datetime"), None)
    ts = f"r.{_q(time_field)}" if time_field and time_field in available else "NULL"
    struct = ", ".join(f"{_q(f.name)} := r.{_q(f.name)}" for f in fields)
    limit = f"WHERE r._record_id IN (SELECT record_id FROM {only} WHERE dataset = '{spec.name}')" if only else ""
    return f"""SELECT '{spec.name}|' || r._record_id AS uid, m.masters AS masters,
                     CASE WHEN m.masters IS NULL OR '{kind}' <> 'record' THEN {grp} END AS grp,
                     {_list(keys)} AS keys, {_list(texts)} AS texts, {_list(names)} AS names, {_list(districts)} AS district,
                     to_json(struct_pack({struct}))::VARCHAR AS fields, {ts}::TIMESTAMPTZ AS ts
              FROM {src} r LEFT JOIN (SELECT record_id, list(DISTINCT master_id ORDER BY master_id) AS masters FROM pl
                                      WHERE dataset = '{spec.name}' GROUP BY 1) m ON m.record_id = r._record_id {resolved} {limit}"""  # fmt: skip


def kind_of(spec: DatasetSpec) -> str:
    """What a dataset's records are found as: ``incident`` or ``case`` when the model maps its
    rows to such events (DESIGN §10), else ``record`` (grouped under the entity they name)."""
    return next((EVENT_KINDS[m.type] for m in spec.model if m.type in EVENT_KINDS), "record")


def tails(cols: list[str]) -> list[str]:
    """Keys of the last digits of IDs and phones (``tail:1234``): a partial ID finds them."""
    return [f"'tail:' || right(trim({c}::VARCHAR), {n})" for c in cols for n in TAILS]


MASTER_SQL = {
    "persons_master": ("person", "master_id", "[master_id]", "NULL", ["master_id", "citizen_id", "phone", *tails(["citizen_id", "phone"])], [], ["name"], ["district"],
                       ["master_id", "name", "citizen_id", "phone", "district", "sex", "birth_date", "mentions"]),
    "vehicles_master": ("vehicle", "plate", "owner_masters", "'vehicle:' || plate", ["vehicle_id", "plate", "vin", "'plate:' || " + plate_key_sql("plate")],
                        ["brand"], [], [], ["vehicle_id", "plate", "vin", "brand", "checkpoint_reads"]),
    "phones_master": ("phone", "number", "holder_masters", "'phone:' || number", ["phone_id", "number"], ["operator"], [], [],
                      ["phone_id", "number", "operator"]),
    "companies_master": ("company", "uscc", "legal_rep_masters", "'company:' || uscc", ["company_id", "uscc"], ["name", "address"], [], [],
                         ["company_id", "uscc", "name", "address"]),
}  # fmt: skip


def master_sql(settings, name: str) -> str | None:
    """The document parts (see ``doc_sql``) of one master table: one per master person,
    vehicle, phone or company (None when the table has no version)."""
    kind, key, masters, grp, keys, texts, names, district, shown = MASTER_SQL[name]
    files = current_files(settings, "entities", name)
    if not files:
        return None
    struct = ", ".join(f"{c} := {c}" for c in shown)
    return f"""SELECT '{kind}|' || {key} AS uid, {masters} AS masters, {grp} AS grp, {_list(keys)} AS keys,
                      {_list(texts)} AS texts, {_list(names)} AS names, {_list(district)} AS district,
                      to_json(struct_pack({struct}))::VARCHAR AS fields, NULL::TIMESTAMPTZ AS ts
               FROM read_parquet({files!r}) WHERE {key} IS NOT NULL"""  # fmt: skip


def place_sql(settings, kind: str) -> str | None:
    """The document parts (see ``doc_sql``) of the named places of one declared kind (hotels,
    checkpoints, terminals, standard addresses): a street or a hotel's name finds the place."""
    sources = [(p, f) for p, f in places.declared(settings, kind) if p.name]
    if not sources:
        return None
    return f"""SELECT 'place|{kind}|' || code AS uid, NULL::VARCHAR[] AS masters, 'place:{kind}:' || code AS grp, {_list(["upper(code)"])} AS keys,
                      {_list(["name"])} AS texts, []::VARCHAR[] AS names, []::VARCHAR[] AS district,
                      to_json(struct_pack(name := name, place_kind := '{kind}', code := code, lon := lon, lat := lat, station := station))::VARCHAR AS fields,
                      NULL::TIMESTAMPTZ AS ts
               FROM ({places.gazetteer_sql(sources)}) WHERE name IS NOT NULL"""  # fmt: skip


def place_kinds(settings) -> dict[str, list[str]]:
    """The declared place kinds that have names, with the datasets they are read from."""
    out: dict[str, list[str]] = {}
    for p in load_spec(settings).places:
        if p.name:
            out.setdefault(p.kind, []).append(p.dataset)
    return out


_OPEN: dict[str, tuple[float, tantivy.Index]] = {}


def open_index(settings) -> tantivy.Index | None:
    """The index, opened once per process and reopened when ``update`` rewrote it."""
    path = index_dir(settings)
    state = path / "versions.json"
    if not state.exists():
        return None
    stamp = state.stat().st_mtime
    cached = _OPEN.get(str(path))
    if cached is None or cached[0] != stamp:
        _OPEN[str(path)] = cached = (stamp, tantivy.Index.open(str(path)))
    return cached[1]


MAX_QUERY = 200
CANDIDATES = 300
SHAPE_BOOST = 0.0
# what an intent finds first among equals: an ID or a phone its holder (before the phone or vehicle master it also
# keys), an address the place (before the incidents at it, whose shorter documents score higher), a plate the vehicle (before its owner's file)
PRIORS = {**{k: {"person": 0.05} for k in ("id", "id_partial", "phone", "phone_partial")}, "plate": {"vehicle": 0.05},
          "place": {"place": 0.3}}  # fmt: skip
KEY_INTENTS = ("id", "id_partial", "phone", "phone_partial", "plate", "record_no")
# the kinds of document an intent looks in (None: every kind)
INTENT_KINDS = {"crime": ("incident", "case"), "place": ("place", "incident", "case")}


def _term(schema, field: str, value: str, boost: float) -> tantivy.Query:
    return tantivy.Query.boost_query(tantivy.Query.term_query(schema, field, value), boost)


def _name_clauses(schema, q: str) -> list[tantivy.Query]:
    """A name's tokens: the name itself, its pinyin, each one-character variant, each position's pinyin."""
    nt = name_tokens(q)
    out = [_term(schema, "name_chars", q, 10.0), _term(schema, "name_py", nt["name_py"][0], 6.0)]
    out += [_term(schema, "name_mask", t, 2.0) for t in nt["name_mask"]]
    out += [_term(schema, "name_py", t, 0.5) for t in nt["name_py"][1:]]
    if SHAPE_BOOST:
        out += [_term(schema, "name_shape", t, SHAPE_BOOST) for t in nt["name_shape"]]
    return out


def intent_clauses(schema, intent: Intent) -> list[tantivy.Query]:
    """The term (and key pattern) queries of one reading of the query — never the query
    parser, so ``AND``, quotes, colons and brackets are only text."""
    out = [_term(schema, "keys", k, 20.0) for k in intent.keys]
    out += [tantivy.Query.boost_query(tantivy.Query.regex_query(schema, "keys", p), 10.0) for p in intent.patterns]
    if intent.kind == "name":
        out += _name_clauses(schema, intent.value)
    elif intent.kind == "pinyin":
        out.append(_term(schema, "name_py", intent.value, 6.0))
    return out + [_term(schema, "text", t, 1.0) for t in intent.words]


def _filters(schema, datasets, start, end, district, kinds=None) -> list[tuple]:
    M, S = tantivy.Occur.Must, tantivy.Occur.Should
    must = []
    if datasets:
        must.append((M, tantivy.Query.boolean_query([(S, tantivy.Query.term_query(schema, "dataset", d)) for d in datasets])))
    if kinds:
        must.append((M, tantivy.Query.term_set_query(schema, "kind", list(kinds))))
    if start or end:
        must.append((M, tantivy.Query.range_query(schema, "ts", tantivy.FieldType.Date, start, end)))
    if district:
        must.append((M, tantivy.Query.term_query(schema, "district", district)))
    return must


def build_query(schema, q: str, datasets: list[str] | None = None, start: datetime | None = None, end: datetime | None = None,
                district: str | None = None, intent: Intent | None = None) -> tantivy.Query:  # fmt: skip
    """The query of one intent (``intent``), or of every intent of ``q`` at once, with the filters."""
    S = tantivy.Occur.Should
    chosen = [intent] if intent else list(classify(q))
    should = [(S, c) for i in chosen for c in intent_clauses(schema, i)] or [(S, tantivy.Query.empty_query())]
    kinds = INTENT_KINDS.get(intent.kind) if intent else None
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy.Query.boolean_query(should)),
                                        *_filters(schema, datasets, start, end, district, kinds)])  # fmt: skip


def highlight(value: str, terms: list[str]) -> str | None:
    """``value`` with every query term wrapped in <mark>, or None when none occurs."""
    found = [t for t in terms if t and t in value]
    if not found:
        return None
    pattern = re.compile("|".join(re.escape(t) for t in sorted(found, key=len, reverse=True)))
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    out, pos = [], 0
    for m in pattern.finditer(value):
        out += [esc(value[pos : m.start()]), f"<mark>{esc(m.group())}</mark>"]
        pos = m.end()
    return "".join([*out, esc(value[pos:])])


def _identity(dataset: str, fields: dict) -> dict:
    return fields


def _everything(groups: list[str]) -> set[str]:
    return set(groups)


def _groups(searcher, query: tantivy.Query) -> dict[int, dict]:
    """The candidates of one query grouped by their group's hash (no document fetched)."""
    res = searcher.search(query, limit=CANDIDATES)
    addrs = [a for _, a in res.hits]
    hashes = searcher.fast_field_values("group_h", addrs) if addrs else []
    groups: dict[int, dict] = {}
    for (score, addr), h in zip(res.hits, hashes, strict=True):
        g = groups.setdefault(h, {"bm25": float(score), "count": 0, "addrs": []})
        g["count"] += 1
        g["addrs"].append((float(score), addr))
    return groups


def _scored(intent: Intent, groups: list[dict]) -> None:
    """Each group's score under ``intent``: its BM25 over the intent's best, times the
    intent's confidence; a name's by how close the group's best name is (exact 1, homophone
    0.85), so an exact name outranks its homophones whatever their frequencies."""
    best = max((g["bm25"] for g in groups), default=1.0) or 1.0
    for g in groups:
        rel = g["bm25"] / best
        if intent.kind == "name":
            sim = max((name_similarity(intent.value, n) for n in g["top"].get("names", [])), default=0.0)
            rel = sim * (0.5 + 0.5 * rel)
        if intent.kind in KEY_INTENTS:  # every exact key is as right as another (BM25 differs only by the documents' lengths)
            rel = 1.0
        prior = PRIORS.get(intent.kind, {}).get(g["top"]["group"][0].partition(":")[0], 0.0)
        g["score"] = intent.confidence * rel + prior + 0.01 * math.log1p(g["count"])


def query(settings, q: str, datasets: list[str] | None = None, start: datetime | None = None, end: datetime | None = None,
          district: str | None = None, limit: int = 20, per_group: int = 3, shown=_identity, offset: int = 0,
          admit=_everything, kinds: list[str] | None = None) -> dict:  # fmt: skip
    """Hits grouped by what they are — a person, a vehicle, a phone, a company, an incident,
    a case, a place, or a record — ranked, one page of them (``offset``, ``limit``). The
    query is read as its intents (``intents.classify``); each intent searches the kinds it
    finds and a group keeps its best intent's score, so a name query is one intent among
    several. ``kinds`` limits the groups (the person screen: persons). ``shown(dataset,
    fields)`` masks each record's values for the caller before highlighting, so a masked
    value is never marked. ``admit(groups)`` names the groups the caller may see: it runs
    over every candidate before the page is cut, so ``total`` and ``more`` count only what
    the caller may see and a page is never short for what was filtered out of it."""
    q = (q or "").strip()
    if not q:
        raise ZhijingError("type something to search for")
    if len(q) > MAX_QUERY:
        raise ZhijingError(f"at most {MAX_QUERY} characters")
    readings = classify(q)
    shown_intents = [i.shown() for i in readings]
    index = open_index(settings)
    if index is None:
        return {"query": q, "intents": shown_intents, "total": 0, "more": False, "groups": [], "indexed": False}
    index.reload()
    searcher = index.searcher()
    merged: dict[str, dict] = {}
    for intent in readings:
        groups = list(_groups(searcher, build_query(index.schema, q, datasets, start, end, district, intent)).values())
        for g in groups:  # the best document of each group names it
            g["top"] = searcher.doc(g["addrs"][0][1]).to_dict()
        groups = [g for g in groups if not kinds or g["top"]["group"][0].partition(":")[0] in kinds]
        _scored(intent, groups)
        for g in groups:
            key = g["top"]["group"][0]
            if key not in merged or g["score"] > merged[key]["score"]:
                merged[key] = {**g, "intent": intent.kind}
    admitted = admit(list(merged))
    kept = [g for k, g in merged.items() if k in admitted]
    ranked = sorted(kept, key=lambda g: (-g["score"], g["top"]["group"][0]))
    terms = list(dict.fromkeys([q, clean(q), *(i.value for i in readings if i.kind in KEY_INTENTS),
                                *(t for t in segment(q) if len(t) > 1 or not t.isascii())]))  # fmt: skip
    out = []
    for g in ranked[offset : offset + limit]:
        group = g["top"]["group"][0]
        kind, _, ident = group.partition(":")
        hits = []
        for i, (score, addr) in enumerate(g["addrs"][:per_group]):
            d = g["top"] if i == 0 else searcher.doc(addr).to_dict()
            ds = d["dataset"][0]
            fields = shown(ds, shown_all(json.loads(bytes(d["fields"][0]).decode())))  # times in the deployment's zone
            marks = {k: h for k, v in fields.items() if isinstance(v, str) and (h := highlight(v, terms))}
            hits.append({"dataset": ds, "uid": d["uid"][0], "kind": d["kind"][0], "score": round(score, 3),
                         "masters": d.get("masters", []), "fields": fields, "highlights": marks})  # fmt: skip
        out.append({"group": group, "kind": kind, "id": ident, "score": round(g["score"], 3), "count": g["count"], "intent": g["intent"],
                    "hits": hits})  # fmt: skip
    return {"query": q, "intents": shown_intents, "total": len(kept), "more": len(kept) > offset + limit, "groups": out, "indexed": True}


def entities(settings, group_ids: list[str]) -> dict[str, dict]:
    """The master document of each ``kind:id`` group (a person's name, ID, phone, district)."""
    index = open_index(settings)
    if index is None or not group_ids:
        return {}
    uids = [g.replace(":", "|", 1) for g in group_ids]
    searcher = index.searcher()
    res = searcher.search(tantivy.Query.term_set_query(index.schema, "uid", uids), limit=len(uids))
    out = {}
    for _, addr in res.hits:
        d = searcher.doc(addr).to_dict()
        out[d["uid"][0].replace("|", ":", 1)] = {"dataset": d["dataset"][0], "fields": json.loads(bytes(d["fields"][0]).decode()),
                                                 "district": d.get("district", [None])[0]}  # fmt: skip
    return out
