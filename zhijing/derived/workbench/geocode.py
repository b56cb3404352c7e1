"""Address lookup (地址定位) for the collision map: what an officer types — a standard
address or its code, a road, a hotel, a checkpoint, a station or airport — found among the
geography roles and declared places (DESIGN §10: places through a gazetteer), each with its
point and the checkpoints nearest it, so the map centres on it and proposes a window."""

from __future__ import annotations

from zhijing.derived.workbench.presence import cursor
from zhijing.derived.workbench.scenes import nearest_checkpoints
from zhijing.errors import ZhijingError
from zhijing.model import places

MAX_QUERY = 60
PER_KIND = 6
GAZETTEERS = ("hotel", "checkpoint", "terminal")


def _rank(col: str) -> str:
    """Exact, then prefix, then contained; shorter first (a name, not a sentence around it)."""
    return f"CASE WHEN {col} = $q THEN 0 WHEN starts_with({col}, $q) THEN 1 ELSE 2 END, length({col})"


def lookup(settings, text: str, limit: int = 12) -> list[dict]:
    """Candidates for ``text`` (plain text, never a pattern), best first."""
    q = (text or "").strip()
    if not q:
        raise ZhijingError("type something to search for")
    if len(q) > MAX_QUERY:
        raise ZhijingError(f"at most {MAX_QUERY} characters")
    con, found = cursor(), []
    if src := places.source(settings, "address"):  # the standard addresses (一标三实): text and code
        found += [("address", *r) for r in con.execute(
            f"SELECT text, dzbm, lon::DOUBLE, lat::DOUBLE, CAST(district_code AS VARCHAR) FROM {src} "
            f"WHERE (contains(text, $q) OR dzbm = $q) AND lon IS NOT NULL ORDER BY {_rank('text')}, text LIMIT {PER_KIND}", {"q": q}).fetchall()]  # fmt: skip
    road, node = places.source(settings, "road"), places.source(settings, "road_node")
    if road and node:  # a road at the middle of its nodes
        found += [("road", *r) for r in con.execute(
            f"SELECT r.name, NULL, median(n.lon::DOUBLE), median(n.lat::DOUBLE), CAST(any_value(r.district_code) AS VARCHAR) "
            f"FROM {road} r JOIN {node} n ON n.node_id = r.from_node WHERE contains(r.name, $q) "
            f"GROUP BY r.name, r.district_code ORDER BY {_rank('r.name')}, r.name LIMIT {PER_KIND}", {"q": q}).fetchall()]  # fmt: skip
    for kind in GAZETTEERS:
        if g := places.gazetteer(settings, kind):
            found += [(kind, *r) for r in con.execute(
                f"SELECT coalesce(name, code), code, lon, lat, CAST(district AS VARCHAR) FROM {g} "
                f"WHERE (contains(name, $q) OR code = $q) AND lon IS NOT NULL ORDER BY {_rank('name')}, code LIMIT {PER_KIND}", {"q": q}).fetchall()]  # fmt: skip
    exact = sorted(found, key=lambda r: (r[1] != q and r[2] != q, not str(r[1]).startswith(q), len(str(r[1]))))[: max(1, limit)]
    near = nearest_checkpoints(settings, [r[3] for r in exact], [r[4] for r in exact])
    return [{"kind": kind, "label": label, "code": code, "lon": round(lon, 6), "lat": round(lat, 6), "district": district, "near_checkpoints": cps}
            for (kind, label, code, lon, lat, district), cps in zip(exact, near, strict=True)]  # fmt: skip
