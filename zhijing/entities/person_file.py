"""One person, one file (一人一档): every linked record with its source, a timeline,
household, phones, vehicles and companies — each fact with its provenance (dataset,
record, first and last seen), FollowTheMoney-statement style."""

from __future__ import annotations

import duckdb
import pandas as pd

from zhijing.lake.store import current_files
from zhijing.sources.spec import load_spec

FACT_ELEMENTS = ("name", "citizen_id", "phone", "address_district", "sex")
SUMMARY_FIELDS = {"lodging": "旅馆名称", "rail_ticket": "train_no", "flight_ticket": "FLIGHT_NO", "coach_ticket": "班次",
                  "door_access": "community_code", "incident_110": "jqlb", "case_person": "RYLX", "traffic_accident": "事故形态",
                  "vehicle_registration": "号牌号码", "enterprise": "name", "enterprise_person": "position",
                  "bank_account": "开户行", "phone_subscriber": "operator", "hukou_person": "ZZ"}  # fmt: skip


def _read(settings, dataset: str) -> str | None:
    files = current_files(settings, "entities", dataset)
    return f"read_parquet({files!r})" if files else None


def search(settings, q: str, limit: int = 20) -> list[dict]:
    """Masters whose name, citizen ID or phone matches ``q`` (exact ID / phone, or name)."""
    src = _read(settings, "persons_master")
    if src is None:
        return []
    return duckdb.execute(
        f"SELECT master_id, name, citizen_id, sex, birth_date, phone, district, mentions AS records FROM {src} "
        "WHERE name = $q OR citizen_id = upper($q) OR phone = $q OR name LIKE $q || '%' ORDER BY mentions DESC LIMIT $n",
        {"q": q.strip(), "n": limit},
    ).df().to_dict(orient="records")


def mentions_of(settings, master_id: str) -> pd.DataFrame:
    links, ments = _read(settings, "person_links"), _read(settings, "person_mentions")
    if links is None or ments is None:
        return pd.DataFrame()
    return duckdb.execute(f"SELECT m.*, l.match_probability FROM {links} l JOIN {ments} m USING (mention_id) "
                          "WHERE l.master_id = $id ORDER BY m.seen_at", {"id": master_id}).df()  # fmt: skip


def _records(settings, dataset: str, record_ids: list[str]) -> pd.DataFrame:
    files = current_files(settings, "clean", dataset)
    if not files:
        return pd.DataFrame()
    return duckdb.execute(f"SELECT * FROM read_parquet({files!r}, union_by_name=true) WHERE _record_id IN (SELECT unnest($ids))",
                          {"ids": record_ids}).df()  # fmt: skip


def facts(m: pd.DataFrame) -> dict[str, list[dict]]:
    out = {}
    for element in FACT_ELEMENTS:
        rows = m[m[element].notna()]
        vals = []
        for value, g in rows.groupby(element):
            vals.append({"value": value, "sources": int(len(g)), "datasets": sorted(g.dataset.unique()),
                         "first_seen": _iso(g.seen_at.min()), "last_seen": _iso(g.seen_at.max()),
                         "record": f"{g.dataset.iloc[0]}:{g.record_id.iloc[0]}"})  # fmt: skip
        out[element] = sorted(vals, key=lambda v: -v["sources"])
    return out


def _iso(t) -> str | None:
    return None if pd.isna(t) else pd.Timestamp(t).isoformat()


def person_file(settings, master_id: str) -> dict | None:
    m = mentions_of(settings, master_id)
    if m.empty:
        return None
    spec = load_spec(settings)
    records, relations = [], {"nodes": [{"id": master_id, "label": m.name.dropna().mode().iat[0] if m.name.notna().any() else master_id,
                                         "kind": "person"}], "links": []}  # fmt: skip
    household = vehicles = companies = None
    for ds, g in m.groupby("dataset"):
        rows = _records(settings, ds, g.record_id.tolist())
        summary_field = SUMMARY_FIELDS.get(ds)
        title = spec.dataset(ds).title
        for _, r in rows.iterrows():
            records.append({"dataset": ds, "title": title, "record_id": r["_record_id"],
                            "summary": str(r.get(summary_field, "")) if summary_field else ""})  # fmt: skip
        if ds == "hukou_person" and len(rows):
            household = rows["HH"].iloc[0]
        if ds == "vehicle_registration":
            vehicles = rows["号牌号码"].dropna().unique().tolist()
        if ds in ("enterprise", "enterprise_person") and len(rows):
            companies = sorted(set(rows.get("uscc", pd.Series(dtype=str)).dropna()) | set(companies or []))
    for phone in m.phone.dropna().unique():
        relations["nodes"].append({"id": f"phone:{phone}", "label": phone, "kind": "phone"})
        relations["links"].append({"source": master_id, "target": f"phone:{phone}", "kind": "手机"})
    for plate in vehicles or []:
        relations["nodes"].append({"id": f"vehicle:{plate}", "label": plate, "kind": "vehicle"})
        relations["links"].append({"source": master_id, "target": f"vehicle:{plate}", "kind": "车辆"})
    for code in companies or []:
        relations["nodes"].append({"id": f"company:{code}", "label": code, "kind": "company"})
        relations["links"].append({"source": master_id, "target": f"company:{code}", "kind": "企业"})
    if household:
        relations["nodes"].append({"id": f"household:{household}", "label": household, "kind": "household"})
        relations["links"].append({"source": master_id, "target": f"household:{household}", "kind": "户"})
    timeline = [{"time": _iso(r.seen_at), "dataset": r.dataset, "record_id": r.record_id, "summary": spec.dataset(r.dataset).title}
                for r in m.itertuples() if not pd.isna(r.seen_at)]  # fmt: skip
    f = facts(m)
    return {"master_id": master_id, "name": f["name"][0]["value"] if f["name"] else None, "facts": f,
            "records": records, "timeline": timeline, "household": household, "vehicles": vehicles or [],
            "companies": companies or [], "relations": relations, "mention_ids": m.mention_id.tolist()}  # fmt: skip


def household_index(settings) -> dict[str, str]:
    """master_id -> household number (户号), for the relatives oversight rule."""
    links, ments = _read(settings, "person_links"), _read(settings, "person_mentions")
    hukou = current_files(settings, "clean", "hukou_person")
    if not (links and ments and hukou):
        return {}
    df = duckdb.sql(f"SELECT l.master_id, h.HH FROM {links} l JOIN {ments} m USING (mention_id) "
                    f"JOIN read_parquet({hukou!r}) h ON h._record_id = m.record_id WHERE m.dataset = 'hukou_person'").df()  # fmt: skip
    return dict(zip(df.master_id, df.HH, strict=True))


def mentions_placed(settings, mention_ids: list[str]) -> list[dict]:
    """Mentions with their master and the master's district — what need to know and the
    review screen show of each side of a pair."""
    links, ments, masters = _read(settings, "person_links"), _read(settings, "person_mentions"), _read(settings, "persons_master")
    if not (links and ments and masters) or not mention_ids:
        return []
    return duckdb.execute(
        f"SELECT m.mention_id, m.dataset, m.record_id, m.role, m.name, m.citizen_id, m.phone, l.master_id, p.district "
        f"FROM {ments} m LEFT JOIN {links} l USING (mention_id) LEFT JOIN {masters} p USING (master_id) "
        "WHERE m.mention_id IN (SELECT unnest($ids)) ORDER BY l.master_id, m.mention_id",
        {"ids": mention_ids},
    ).df().to_dict(orient="records")
