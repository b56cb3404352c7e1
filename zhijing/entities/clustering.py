"""From scored pairs to persons: threshold, analysts' judgements, and never joining two
different valid citizen IDs silently (held apart, listed for review with the reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

THRESHOLD = 0.2  # best F1 on the precision–recall curve of the generated city (docs/entities.md)


@dataclass
class Clusters:
    labels: pd.Series  # mention_id -> cluster number
    review: list[dict] = field(default_factory=list)  # held-apart conflicts with reasons


def components(ids: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    index = pd.Index(ids)
    li, ri = index.get_indexer(left), index.get_indexer(right)
    n = len(ids)
    graph = coo_matrix((np.ones(len(li)), (li, ri)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cluster(mentions: pd.DataFrame, pairs: pd.DataFrame, must: list[tuple[str, str]],
            cannot: list[tuple[str, str]], threshold: float = THRESHOLD) -> Clusters:  # fmt: skip
    """``mentions``: mention_id, citizen_id; ``pairs``: mention_id_l, mention_id_r,
    match_probability, citizen_id_l, citizen_id_r."""
    ids = mentions.mention_id.to_numpy()
    valid = mentions.set_index("mention_id").citizen_id
    e = pairs[pairs.match_probability >= threshold]
    differs = e.citizen_id_l.notna() & e.citizen_id_r.notna() & (e.citizen_id_l != e.citizen_id_r)
    e = e[~differs]  # two valid, different IDs are two people, whatever else agrees
    banned = {frozenset(p) for p in cannot}
    if banned:
        e = e[[frozenset((a, b)) not in banned for a, b in zip(e.mention_id_l, e.mention_id_r, strict=True)]]
    must_df = pd.DataFrame(must, columns=["mention_id_l", "mention_id_r"]).assign(match_probability=1.0)
    e = pd.concat([e[["mention_id_l", "mention_id_r", "match_probability"]], must_df], ignore_index=True)
    labels = components(ids, e.mention_id_l.to_numpy(), e.mention_id_r.to_numpy())
    lab = pd.Series(labels, index=ids)
    review = []
    per_cluster = valid.groupby(lab).nunique()
    for c in per_cluster[per_cluster > 1].index:
        members = lab.index[lab == c]
        lab, item = _split_by_id(lab, members, valid, e, int(labels.max()) + 1 + len(review) * 1000)
        review.append(item)
    for a, b in cannot:  # a judged "different" pair still joined through others: hold apart too
        if a in lab.index and b in lab.index and lab[a] == lab[b]:
            review.append({"kind": "cannot_link_conflict", "mentions": [a, b],
                           "reason": "judged different but joined through other records"})  # fmt: skip
    return Clusters(lab, review)


def _split_by_id(lab: pd.Series, members: pd.Index, valid: pd.Series, edges: pd.DataFrame, base: int):
    """Give each valid ID its own group; mentions without one join the group they are most
    strongly linked to."""
    ids = valid.reindex(members)
    groups = {cid: base + k for k, cid in enumerate(sorted(ids.dropna().unique()))}
    assigned = {m: groups[i] for m, i in ids.dropna().items()}
    sub = edges[edges.mention_id_l.isin(members) & edges.mention_id_r.isin(members)].sort_values("match_probability", ascending=False)
    changed = True
    while changed:
        changed = False
        for a, b in zip(sub.mention_id_l, sub.mention_id_r, strict=True):
            if a in assigned and b not in assigned:
                assigned[b], changed = assigned[a], True
            elif b in assigned and a not in assigned:
                assigned[a], changed = assigned[b], True
    for k, m in enumerate(members):
        lab[m] = assigned.get(m, base + 500 + k)
    return lab, {"kind": "id_conflict", "mentions": list(members)[:50], "ids": len(groups),
                 "reason": f"records would join {len(groups)} different valid citizen IDs; held apart"}  # fmt: skip
