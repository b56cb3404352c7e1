"""Companions (同行/同住/同乘/同出入): who repeatedly shares an event with the subject, by
the model's companion rules (types.yaml): a train, flight or bus (the same service on the
same day), a hotel night (overlapping stays in one hotel), a checkpoint within Δt, a door or
an internet café within the type's window; ranked by the strength of the evidence, how often, and at how
many distinct places, each with its evidence.

Checkpoints follow DESIGN §9: an equi-join on (checkpoint, ⌊t/Δt⌋ + offset) with the
offsets in a MATERIALIZED CTE, then the exact |Δt| filter — never ``BETWEEN`` on time in
the join; the scan of the others' reads is only pre-filtered to the spans ±Δt around the
subject's own reads (row groups of the time-sorted copy: ~0.3 s instead of ~2.5 s at 10^6).
Strength of one shared event: 1 for the same service; the overlap over the union of two
hotel stays (the same check-in and check-out is 1); 1 − ½·|Δt|/Δt at a checkpoint.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from zhijing.derived.workbench.presence import cursor, max_span, source
from zhijing.derived.workbench.subjects import Subject
from zhijing.derived.workbench.trajectory import where
from zhijing.localtime import shown
from zhijing.model import types as model_types
from zhijing.model.types import Companion

MAX_DT = 3600
MAX_SPANS = 200  # beyond this many separate time spans, the scan is bounded by the first and last only
DAY = timedelta(days=1)
SPAN_GAP = timedelta(hours=1)  # spans closer than this are read as one (a row group holds hours of reads)


def _spans(times: list[datetime], dt: int) -> str:
    """A filter on ``o.ts`` to the spans ±dt around the subject's own checkpoint reads: the
    presence copy is sorted by time, so the scan reads only the row groups of those spans, not
    every read at those checkpoints over months (a pre-filter; the exact join stays below)."""
    if not times:
        return "false"
    pad, spans = timedelta(seconds=dt), []
    for t in sorted(times):
        if spans and t - pad - spans[-1][1] <= SPAN_GAP:
            spans[-1][1] = t + pad
        else:
            spans.append([t - pad, t + pad])
    if len(spans) > MAX_SPANS:
        spans = [[spans[0][0], spans[-1][1]]]
    return "(" + " OR ".join(f"o.ts BETWEEN TIMESTAMPTZ '{a.isoformat()}' AND TIMESTAMPTZ '{b.isoformat()}'" for a, b in spans) + ")"


def _between(bounds: tuple, pad_before: timedelta | None, pad_after: timedelta = timedelta(0)) -> str:
    """A pre-filter of ``o.ts`` to [first − pad_before, last + pad_after] (``false`` when the
    subject has no such rows; no lower bound when pad_before is unknown): row groups of the
    time-sorted copy outside it are not read."""
    first, last = bounds
    if first is None:
        return "false"
    upper = f"o.ts <= TIMESTAMPTZ '{(last + pad_after).isoformat()}'"
    return upper if pad_before is None else f"o.ts >= TIMESTAMPTZ '{(first - pad_before).isoformat()}' AND {upper}"


# one shared event: their subject and record beside mine, at my place
PAIR = ("o.subject, m.record_id AS my_record, o.dataset, o.record_id, m.mode, m.place_kind, m.place_id, m.place_name, "
        "m.ts AS my_ts, o.ts, o.ts_end")


def _near(src: str, kind: str, spans: str, dt: int) -> str:
    """Pairs at one place within ``dt`` of a ``near`` type (DESIGN §9: an equi-join on
    (place, ⌊t/Δt⌋ + offset), then the exact |Δt| filter)."""
    return f"""
      SELECT {PAIR}, $w_{kind} * (1.0 - 0.5 * abs(epoch(o.ts) - epoch(m.ts)) / {dt}) AS strength
      FROM (SELECT me.*, CAST(floor(epoch(me.ts) / {dt}) AS BIGINT) + offs.off AS b FROM me, offs WHERE me.mode = '{kind}') m
      JOIN (SELECT o.*, CAST(floor(epoch(o.ts) / {dt}) AS BIGINT) AS b FROM {src} o
            WHERE o.subject_kind = $kind AND o.mode = '{kind}' AND o.place_id IN (SELECT place_id FROM me WHERE mode = '{kind}')
              AND {spans}) o ON o.place_id = m.place_id AND o.b = m.b
      WHERE abs(epoch(o.ts) - epoch(m.ts)) <= {dt} AND o.record_id <> m.record_id"""


def _service(src: str, kind: str, trips: str) -> str:
    """Pairs on one service (a train, a flight) on one local day: the place id is both."""
    return f"""
      SELECT {PAIR}, $w_{kind} AS strength
      FROM me m JOIN {src} o ON o.subject_kind = $kind AND o.mode = '{kind}' AND o.place_kind = m.place_kind
                            AND o.place_id = m.place_id AND {trips}
      WHERE m.mode = '{kind}'"""


def _overlap(src: str, kind: str, stays: str) -> str:
    """Pairs whose intervals at one place overlap (strength: the overlap over the union)."""
    return f"""
      SELECT {PAIR}, $w_{kind} * epoch(least(o.ts_end, m.ts_end) - greatest(o.ts, m.ts))
               / greatest(epoch(greatest(o.ts_end, m.ts_end) - least(o.ts, m.ts)), 1) AS strength
      FROM me m JOIN {src} o ON o.subject_kind = $kind AND o.mode = '{kind}' AND o.place_id = m.place_id AND {stays}
      WHERE m.mode = '{kind}' AND o.ts < m.ts_end AND m.ts < o.ts_end"""


def rules(settings) -> dict[str, Companion]:
    """{event type: its companion rule} for the model's types that have one."""
    return {n: t.companion for n, t in model_types.load(settings).events.items() if t.companion}


def companions(settings, subject: Subject, dt_seconds: int = 120, start: datetime | None = None, end: datetime | None = None,
               limit: int = 50, evidence: int = 10) -> dict:  # fmt: skip
    """``{"subject", "companions": [{"subject", "score", "events", "places", "kinds", "evidence"}]}``.

    Every model type with a companion rule takes part (DESIGN §10): a train or a flight
    (``service``), a hotel night (``overlap``), a checkpoint, a door or an internet café
    (``near``, within the type's own window or the analyst's Δt), each with its weight."""
    src = source(settings)
    out: dict = {"subject": subject.label, "dt_seconds": dt_seconds, "companions": []}
    if src is None:
        return out
    kinds = rules(settings)
    con = cursor()
    pred, params = where(subject, start, end)
    con.execute(f"CREATE TEMP TABLE me AS SELECT * FROM {src} WHERE {pred} AND mode IN (SELECT unnest($modes))",
                {**params, "modes": list(kinds)})  # fmt: skip
    dt = max(1, min(dt_seconds, MAX_DT))
    span = max_span(settings)
    by_time, parts = source(settings, by_time=True), []
    for kind, rule in kinds.items():
        first, last, last_end = con.execute("SELECT min(ts), max(ts), max(ts_end) FROM me WHERE mode = $k", {"k": kind}).fetchall()[0]
        if first is None:
            continue
        if rule.match == "near":
            w = dt if rule.window_s is None else max(1, int(rule.window_s))
            times = [r[0] for r in con.execute("SELECT ts FROM me WHERE mode = $k", {"k": kind}).fetchall()]
            parts.append(_near(by_time, kind, _spans(times, w), w))
        elif rule.match == "service":  # a service's place is its local day: look a day either side
            parts.append(_service(by_time, kind, _between((first, last), DAY, DAY)))
        else:  # an interval that overlaps mine began at most the longest span before it
            parts.append(_overlap(by_time, kind, _between((first, last_end), None if span is None else timedelta(seconds=span))))
    if not parts:
        return out
    weights = {f"w_{k}": float(r.weight) for k, r in kinds.items()}
    con.execute("CREATE TEMP TABLE shared AS SELECT * FROM (WITH offs AS MATERIALIZED (SELECT unnest([-1, 0, 1]) AS off) "
                + " UNION ALL ".join(parts) + ") WHERE subject NOT IN (SELECT unnest($ids))",
                {"kind": subject.kind, "ids": list(subject.ids), **{k: v for k, v in weights.items() if any(f"${k}" in p for p in parts)}})  # fmt: skip
    ranked = con.execute("""
      WITH best AS (SELECT subject, my_record, max(strength) AS s FROM shared GROUP BY ALL)
      SELECT s.subject, (SELECT sum(b.s) FROM best b WHERE b.subject = s.subject) AS score,
             count(DISTINCT s.my_record) AS events, count(DISTINCT s.place_id) AS places, list(DISTINCT s.mode ORDER BY s.mode) AS kinds
      FROM shared s GROUP BY s.subject ORDER BY score DESC, events DESC, places DESC, s.subject LIMIT $n""",
                         {"n": max(1, limit)}).fetchall()  # fmt: skip
    ev = con.execute("""SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY subject ORDER BY strength DESC, my_ts) AS k
                        FROM shared WHERE subject IN (SELECT unnest($s))) WHERE k <= $e ORDER BY subject, my_ts""",
                     {"s": [r[0] for r in ranked], "e": max(1, evidence)}).df()  # fmt: skip
    by = {s: g for s, g in ev.groupby("subject")} if len(ev) else {}
    for sub, score, events, places, kinds_of in ranked:
        g = by.get(sub)
        rows = [] if g is None else [
            {"kind": kinds[r.mode].label, "mode": r.mode, "place_kind": r.place_kind, "place_id": r.place_id, "place_name": r.place_name,
             "my_record": r.my_record, "my_ts": shown(r.my_ts), "dataset": r.dataset, "record_id": r.record_id,
             "ts": shown(r.ts), "strength": round(float(r.strength), 3)} for r in g.itertuples()]  # fmt: skip
        out["companions"].append({"subject": sub, "kind": subject.kind, "score": round(float(score), 3), "events": int(events),
                                  "places": int(places), "kinds": [kinds[k].label for k in kinds_of], "evidence": rows})  # fmt: skip
    return out
