"""From scored pairs to persons: threshold, analysts' judgements, and never joining two
different valid citizen IDs silently (held apart, listed for review with the reason).

Everything here works on integer positions (numpy), so the same code clusters 10^4
mentions in a test and 5.8 M in a province: connected components in scipy, and only
the few clusters that would join two IDs are looked at one by one."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

THRESHOLD = 0.2  # from the precision–recall curve of the generated city (docs/entities.md)


@dataclass
class Clusters:
    labels: pd.Series  # mention_id -> cluster number
    review: list[dict] = field(default_factory=list)  # held-apart conflicts with reasons


def _components(n: int, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(li), dtype=np.int8), (li, ri)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cluster(mentions: pd.DataFrame, pairs: pd.DataFrame, must: list[tuple[str, str]],
            cannot: list[tuple[str, str]], threshold: float = THRESHOLD) -> Clusters:  # fmt: skip
    """``mentions``: mention_id, citizen_id; ``pairs``: mention_id_l, mention_id_r,
    match_probability (citizen IDs are taken from ``mentions``)."""
    ids = mentions.mention_id.to_numpy()
    index = pd.Index(ids)

    cid = pd.factorize(mentions.citizen_id, use_na_sentinel=True)[0]  # -1 where no valid ID
    labels, review = cluster_positions(
        lambda idx: [str(ids[i]) for i in idx], cid, index.get_indexer(pairs.mention_id_l), index.get_indexer(pairs.mention_id_r),
        pairs.match_probability.to_numpy(float), _positions(index, must), _positions(index, cannot), threshold)  # fmt: skip
    return Clusters(pd.Series(labels, index=ids), review)


def _positions(index: pd.Index, pairs: list[tuple[str, str]]) -> np.ndarray:
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    a = index.get_indexer([p[0] for p in pairs])
    b = index.get_indexer([p[1] for p in pairs])
    ok = (a >= 0) & (b >= 0)
    return np.stack([a[ok], b[ok]], axis=1)


def cluster_positions(names, cid: np.ndarray, li: np.ndarray, ri: np.ndarray, prob: np.ndarray,
                      must: np.ndarray, cannot: np.ndarray, threshold: float = THRESHOLD,
                      birth: np.ndarray | None = None) -> tuple[np.ndarray, list[dict]]:  # fmt: skip
    """Cluster numbers per position. ``names``: positions -> mention ids (for review
    items only); ``cid``: a code per mention for its valid citizen ID
    (-1 for none); ``li``/``ri``/``prob``: scored pairs by position; ``must``/``cannot``:
    judged pairs by position (k × 2); ``birth``: a code per mention for its birth date
    (stated or from the valid ID; -1 for none): a cluster never holds two."""
    n = len(cid)
    keep = prob >= threshold
    keep &= ~((cid[li] >= 0) & (cid[ri] >= 0) & (cid[li] != cid[ri]))  # two valid, different IDs are two people
    if len(cannot):
        banned = _pair_key(cannot[:, 0], cannot[:, 1], n)
        keep &= ~np.isin(_pair_key(li, ri, n), banned)
    el = np.concatenate([li[keep], must[:, 0]])
    er = np.concatenate([ri[keep], must[:, 1]])
    ew = np.concatenate([prob[keep], np.ones(len(must))])
    labels = _components(n, el, er)
    review: list[dict] = []
    # clusters that would join two different valid IDs through ID-less records
    review += _split_conflicts(labels, cid, el, er, ew, "id_conflict", "different valid citizen IDs")
    if birth is not None:  # then two different birth dates (a same-named parent and child)
        same = labels[el] == labels[er]
        review += _split_conflicts(labels, birth, el[same], er[same], ew[same], "birth_conflict", "different birth dates")
    for a, b in cannot:  # a judged "different" pair still joined through others: hold apart too
        if labels[a] == labels[b]:
            review.append({"kind": "cannot_link_conflict", "mentions": [int(a), int(b)],
                           "reason": "judged different but joined through other records"})  # fmt: skip
    wanted = sorted({m for item in review for m in item["mentions"]})
    name_of = dict(zip(wanted, names(wanted), strict=True)) if wanted else {}
    for item in review:
        item["mentions"] = [name_of[m] for m in item["mentions"]]
    return labels, review


def _split_conflicts(labels: np.ndarray, codes: np.ndarray, el: np.ndarray, er: np.ndarray, ew: np.ndarray,
                     kind: str, what: str) -> list[dict]:  # fmt: skip
    """Split (in place) every cluster whose mentions carry two different ``codes``; one
    review item per split cluster."""
    has = codes >= 0
    per = pd.DataFrame({"label": labels[has], "code": codes[has]}).drop_duplicates().label.value_counts()
    conflicted = np.sort(per[per > 1].index.to_numpy())
    review: list[dict] = []
    if not len(conflicted):
        return review
    next_label = int(labels.max()) + 1
    edge_label = labels[el]
    in_conflict = np.isin(edge_label, conflicted)
    sub_l, sub_r, sub_w, sub_lab = el[in_conflict], er[in_conflict], ew[in_conflict], edge_label[in_conflict]
    order = np.argsort(sub_lab, kind="stable")
    sub_l, sub_r, sub_w, sub_lab = sub_l[order], sub_r[order], sub_w[order], sub_lab[order]
    starts = np.searchsorted(sub_lab, conflicted, side="left")
    ends = np.searchsorted(sub_lab, conflicted, side="right")
    member_order = np.argsort(labels, kind="stable")
    m_starts = np.searchsorted(labels[member_order], conflicted, side="left")
    m_ends = np.searchsorted(labels[member_order], conflicted, side="right")
    for k in range(len(conflicted)):
        members = member_order[m_starts[k]:m_ends[k]]
        s, e = starts[k], ends[k]
        next_label, item = _split_by_id(labels, members, codes, sub_l[s:e], sub_r[s:e], sub_w[s:e], next_label)
        review.append({**item, "kind": kind, "reason": f"records would join {item['ids']} {what}; held apart"})
    return review


def _pair_key(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    return lo * n + hi


def _split_by_id(labels: np.ndarray, members: np.ndarray, cid: np.ndarray, el: np.ndarray,
                 er: np.ndarray, ew: np.ndarray, next_label: int) -> tuple[int, dict]:  # fmt: skip
    """Give each valid ID its own group; mentions without one join the group they are most
    strongly linked to (strongest edges first, repeated until nothing moves)."""
    codes = sorted({int(c) for c in cid[members] if c >= 0})
    group = {c: next_label + k for k, c in enumerate(codes)}
    next_label += len(codes)
    assigned = {int(m): group[int(cid[m])] for m in members if cid[m] >= 0}
    order = np.argsort(-ew, kind="stable")
    edges = list(zip(el[order].tolist(), er[order].tolist(), strict=True))
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            if a in assigned and b not in assigned:
                assigned[b], changed = assigned[a], True
            elif b in assigned and a not in assigned:
                assigned[a], changed = assigned[b], True
    for m in members.tolist():
        if m in assigned:
            labels[m] = assigned[m]
        else:
            labels[m], next_label = next_label, next_label + 1
    return next_label, {"kind": "id_conflict", "mentions": [int(m) for m in members[:50]], "ids": len(codes),
                        "reason": f"records would join {len(codes)} different valid citizen IDs; held apart"}  # fmt: skip
