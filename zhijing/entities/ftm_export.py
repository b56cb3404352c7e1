"""FollowTheMoney exports (``zhijing export ftm``, ``GET /api/cases/{ref}/ftm``, ``GET
/api/graph/ftm``): a case's subjects and evidence, or a graph neighbourhood, as an FtM entity
stream — an export like a person file or a case report (``export_routes``): a stated reason,
need to know for every person, values masked above the caller's clearance, the approval
thresholds (its rows are its entities, its grade the highest value shown unmasked), the
watermark on every entity, and a disclosure event naming every person in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from zhijing.access.guard import AccessContext
from zhijing.config import get_settings
from zhijing.entities import export_routes
from zhijing.entities.routes import GRADES, _mask_record
from zhijing.governance.catalog import element_grade
from zhijing.model import ftm
from zhijing.model import types as model_types
from zhijing.sources.spec import load_spec

MEDIA = "application/x-ndjson; charset=utf-8"


def prepare(ctx: AccessContext, what: str, stem: str, masters: Iterable[str], records: Iterable[tuple[str, str]],
            things: Iterable[tuple[str, str, str | None]] = ()) -> export_routes.Prepared:  # fmt: skip
    """The entities of ``masters`` (persons), of the model rows of ``records`` (dataset,
    record id) and of ``things`` (kind, identifier, name): persons outside the caller's
    need to know are left out, every value is masked to the caller's clearance."""
    from zhijing.access.masking import watermark
    from zhijing.serving.person_file import persons_by_id

    settings = get_settings()
    types = model_types.load(settings)
    rows = ftm.model_rows(settings, types, records)
    mentions = [str(r[role]) for name, r in rows for role in types.events[name].person_roles() if r.get(role)]
    links = ftm.masters_of(settings, mentions)
    wanted = list(dict.fromkeys([*masters, *links.values()]))
    found = persons_by_id(settings, wanted)
    seen = [m for m in wanted if m in found and ctx.may_see(m, found[m]["places"])]
    ctx.audit("consult", seen, query=f"{what} ({len(seen)} persons, {len(rows)} records)")
    shown: set[str] = set()

    specs = {d.name: d for d in load_spec(settings).datasets}

    def mask(value: str, element: str, dataset: str | None) -> str:
        """As the person file masks: a master's values by their element, a record's by its dataset's grades."""
        grade = element_grade(specs[dataset], element) if dataset in specs else GRADES.get(element, "internal")
        out = ctx.mask({"v": value}, {"v": grade}, {"v": element})["v"]
        if out == value:
            shown.add(grade)
        return out

    mark = watermark(ctx.user.username, ctx.purpose)
    b = ftm.Builder(types, mask, mark, settings.timezone)
    for m in seen:
        b.person(found[m])
    for kind, key, name in things:
        b.thing(kind, key, name)
    visible = {mention: m for mention, m in links.items() if m in seen}
    for name, r in rows:
        record = _mask_record(ctx, {"dataset": r["dataset"], "record_id": r["record_id"]})["record_id"]
        b.event(name, r, record, visible)
    entities = b.entities()
    text = ftm.jsonl(entities)

    def write(_: export_routes.Format) -> tuple[str, str, str, str]:
        import hashlib

        export_id = hashlib.sha256(mark.encode("utf-8")).hexdigest()[:16]
        return text, export_id, MEDIA, f"{stem}-{export_id}.ftm.json"

    grade = export_routes.shown_grade(ctx.user.clearance, shown)
    return export_routes.Prepared(len(entities), grade, seen, what, write)
