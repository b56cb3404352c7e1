"""Master IDs that survive reruns: derived from the identifying property (a valid citizen
ID) where there is one; otherwise carried over from the previous run's cluster with the
largest overlap; otherwise from the cluster's smallest mention id."""

from __future__ import annotations

import hashlib

import pandas as pd


def _hid(text: str) -> str:
    return "PM" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:14].upper()


def assign(labels: pd.Series, citizen_ids: pd.Series, previous: pd.DataFrame | None) -> pd.Series:
    """mention_id -> master_id."""
    df = pd.DataFrame({"cluster": labels, "cid": citizen_ids.reindex(labels.index)})
    out = {}
    prev = previous.set_index("mention_id").master_id if previous is not None and len(previous) else pd.Series(dtype=str)
    taken: set[str] = set()
    for _cluster, g in df.groupby("cluster"):
        ids = g.cid.dropna()
        if len(ids):
            master = _hid("cid:" + ids.value_counts().index[0])
        else:
            carried = prev.reindex(g.index).dropna()
            master = carried.value_counts().index[0] if len(carried) else _hid("mention:" + min(g.index))
            if master in taken:
                master = _hid("mention:" + min(g.index))
        taken.add(master)
        out.update(dict.fromkeys(g.index, master))
    return pd.Series(out)


def changes(previous: pd.DataFrame | None, current: pd.Series) -> list[dict]:
    """Merges and splits between runs, with their evidence (the mentions that moved)."""
    if previous is None or not len(previous):
        return []
    prev = previous.set_index("mention_id").master_id
    both = pd.DataFrame({"old": prev, "new": current}).dropna()
    events = []
    for new, g in both.groupby("new"):
        if g.old.nunique() > 1:
            events.append({"event": "merge", "master_id": new, "from": sorted(g.old.unique()), "mentions": list(g.index[:20])})
    for old, g in both.groupby("old"):
        if g.new.nunique() > 1:
            events.append({"event": "split", "master_id": old, "into": sorted(g.new.unique()), "mentions": list(g.index[:20])})
    return events
