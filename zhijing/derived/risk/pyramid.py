"""神鹰: pyramid selling (传销) — a recruitment tree in which every recruit pays one fixed
entry fee to the member who recruited them, fees flowing upward; flagged by depth and
breadth, with the tree's root (the organiser) as the subject."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from zhijing.config import Settings
from zhijing.derived.risk import data

NAME, VERSION = "pyramid", "1"
MIN_SIZE, MIN_DEPTH, MIN_FEE = 15, 3, 500.0


def trees(tx: pd.DataFrame) -> pd.DataFrame:
    """Fixed-fee trees: for each amount paid by ≥ 10 distinct payers, each payer's first
    payment of it is an edge to its upline. One row per root: size, depth, breadth."""
    tx = tx[tx.amount >= MIN_FEE]
    common = tx.groupby("amount").payer.nunique()
    rows = []
    for amount in common[common >= 10].index:
        e = tx[tx.amount == amount].sort_values("ts").drop_duplicates("payer")
        parent = dict(zip(e.payer, e.payee, strict=True))
        when = dict(zip(e.payer, e.ts, strict=True))
        children = defaultdict(list)
        for c, p in parent.items():
            children[p].append(c)
        for root in set(parent.values()) - set(parent):
            level, frontier, members, widths = 0, [root], [root], []
            seen = {root}
            while frontier:
                nxt = [c for n in frontier for c in children.get(n, []) if c not in seen]
                seen.update(nxt)
                if nxt:
                    level += 1
                    widths.append(len(nxt))
                    members += nxt
                frontier = nxt
            rows.append({"root": root, "amount": float(amount), "size": len(members), "depth": level, "widths": widths,
                         "members": members, "last_join": max(when[m] for m in members if m in when)})  # fmt: skip
    return pd.DataFrame(rows, columns=["root", "amount", "size", "depth", "widths", "members", "last_join"])


def score(settings: Settings, as_of: pd.Timestamp) -> pd.DataFrame:
    t = trees(data.transfers(settings, data.as_utc(as_of)))
    t["flagged"] = (t["size"] >= MIN_SIZE) & (t.depth >= MIN_DEPTH)
    t["score"] = (t["size"] / 40).clip(0, 1) + (t.depth / 5).clip(0, 1)
    t["baseline"] = t.widths.map(lambda w: bool(w) and w[0] >= 5)  # plain threshold: ≥ 5 equal payments in
    return t.sort_values("score", ascending=False).reset_index(drop=True)


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    s = score(settings, as_of)
    holders = data.masters_of(settings, "bank_account", "holder").set_index("record_id").master_id
    return [{"subject_kind": "person", "subject": holders.get(r.root, r.root), "label": "传销组织者（疑似）",
             "score": float(r.score),
             "evidence": {"account": r.root, "fee": r.amount, "members": int(r["size"]), "depth": int(r.depth),
                          "per_level": [int(w) for w in r.widths]}} for _, r in s[s.flagged].iterrows()]  # fmt: skip
