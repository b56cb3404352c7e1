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


def _edges(tx: pd.DataFrame) -> pd.DataFrame:
    """Each payer's first payment of each fee-sized amount: an edge to its upline."""
    return tx[tx.amount >= MIN_FEE].sort_values("ts", kind="stable").drop_duplicates(["amount", "payer"])


def trees(tx: pd.DataFrame) -> pd.DataFrame:
    """Fixed-fee trees: amounts paid by enough distinct payers, of which some payer is also
    paid the same amount (a chain, so depth ≥ 2 — decided in one join before any loop).
    One row per root: size, depth, breadth per level, members."""
    e = _edges(tx)
    e = e[e.groupby("amount").payer.transform("size") >= MIN_SIZE - 1]
    chained = e.merge(
        e[["amount", "payer"]].rename(columns={"payer": "payee"}), on=["amount", "payee"]
    ).amount.unique()
    rows = []
    for amount, g in e[e.amount.isin(chained)].groupby("amount"):
        parent = dict(zip(g.payer, g.payee, strict=True))
        when = dict(zip(g.payer, g.ts, strict=True))
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


def baseline(tx: pd.DataFrame) -> set[str]:
    """Plain threshold: accounts paid the same fee-sized amount by ≥ 5 distinct payers."""
    n = _edges(tx).groupby(["amount", "payee"]).payer.nunique()
    return set(n[n >= 5].index.get_level_values("payee"))


def score(settings: Settings, as_of: pd.Timestamp) -> pd.DataFrame:
    """Trees with the model's flag and score; the baseline's accounts in ``attrs["baseline"]``
    (and, per tree, whether it flags the root)."""
    tx = data.transfers(settings, data.as_utc(as_of))
    if tx.empty:
        t = trees(pd.DataFrame(columns=["payer", "payee", "amount", "ts"]))
        base: set[str] = set()
    else:
        t, base = trees(tx), baseline(tx)
    t["flagged"] = (t["size"] >= MIN_SIZE) & (t.depth >= MIN_DEPTH)
    t["score"] = (t["size"] / 40).clip(0, 1) + (t.depth / 5).clip(0, 1)
    t["baseline"] = t.root.isin(base)
    t = t.sort_values("score", ascending=False).reset_index(drop=True)
    t.attrs["baseline"] = base
    return t


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    s = score(settings, as_of)
    holders = data.holders(settings).drop_duplicates("account").set_index("account").master_id
    return [{"subject_kind": "person", "subject": holders.get(r.root, r.root), "label": "传销组织者（疑似）",
             "score": float(r.score),
             "evidence": {"account": r.root, "fee": r.amount, "members": int(r["size"]), "depth": int(r.depth),
                          "per_level": [int(w) for w in r.widths]}} for _, r in s[s.flagged].iterrows()]  # fmt: skip
