"""神鹰: telecom-fraud mule accounts (涉诈"两卡") — accounts that receive money from people
who then report fraud to 110, and pass it on within hours (fast fan-in / fan-out).

Victims are found through their own 110 reports (entity resolution links the caller to
their bank accounts); the subject of a warning is the mule account's holder."""

from __future__ import annotations

import pandas as pd

from zhijing.config import Settings
from zhijing.derived.risk import data

NAME, VERSION = "mules", "1"
PASS_HOURS, REPORT_DAYS = 24, 3


def victim_accounts(settings: Settings, as_of: pd.Timestamp) -> pd.DataFrame:
    """(account, reported): accounts held by people who reported fraud (诈骗) as an incident
    before ``as_of`` (the caller and the holder resolved to one master)."""
    t1 = data.as_utc(as_of)
    return data.query(settings, f"""
        SELECT DISTINCT h.account, i.ts AS reported FROM i {data.master('i.caller')}
        JOIN (SELECT o.account, l.master_id FROM o {data.master('o.owner')} WHERE o.account IS NOT NULL) h USING (master_id)
        WHERE i.category = '诈骗' AND i.ts < TIMESTAMPTZ '{t1.isoformat()}'
    """, i="incident", o="ownership", l=data.LINKS).reindex(columns=["account", "reported"])  # fmt: skip


def score(settings: Settings, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per receiving account: transfers in from reported victims (within days before the
    report), pass-through pairs (out ≥ 80 % of an inbound amount within a day), and the
    plain baseline's count of large inbound transfers."""
    tx = data.transfers(settings, data.as_utc(as_of))
    if tx.empty:
        return pd.DataFrame(
            columns=["account", "victim_in", "pass_through", "large_in", "score", "flagged", "baseline"]
        )
    victims = victim_accounts(settings, as_of)
    v = tx.merge(victims, left_on="payer", right_on="account")
    v = v[(v.ts <= v.reported) & (v.ts >= v.reported - pd.Timedelta(days=REPORT_DAYS))]
    victim_in = v.groupby("payee").payer.nunique().rename("victim_in")
    inbound = tx[tx.amount >= 1000][["payee", "amount", "ts", "payer"]]
    pairs = inbound.merge(
        tx[["payer", "payee", "amount", "ts"]], left_on="payee", right_on="payer", suffixes=("", "_out")
    )
    pairs = pairs[(pairs.ts_out > pairs.ts) & (pairs.ts_out <= pairs.ts + pd.Timedelta(hours=PASS_HOURS))
                  & (pairs.amount_out >= 0.8 * pairs.amount) & (pairs.amount_out <= pairs.amount)
                  & (pairs.payee_out != pairs.payer)]  # fmt: skip
    passing = pairs.groupby("payee").ts.nunique().rename("pass_through")
    large = inbound[inbound.amount >= 3000].groupby("payee").size().rename("large_in")
    f = (
        pd.concat([victim_in, passing, large], axis=1)
        .fillna(0)
        .astype(int)
        .rename_axis("account")
        .reset_index()
    )
    f["score"] = f.victim_in.clip(0, 3) / 3 + f.pass_through.clip(0, 3) / 3
    f["flagged"] = (f.victim_in >= 1) & (f.pass_through >= 1)
    f["baseline"] = f.large_in >= 3  # plain threshold: three or more inbound transfers of ≥ 3000
    return f.sort_values("score", ascending=False).reset_index(drop=True)


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    s = score(settings, as_of)
    holders = data.holders(settings).drop_duplicates("account").set_index("account").master_id
    return [{"subject_kind": "person", "subject": holders.get(r.account, r.account), "label": "涉诈账户（疑似）",
             "score": float(r.score), "evidence": {"account": r.account, "reported_victims_paying_in": int(r.victim_in),
                                                   "pass_through_transfers": int(r.pass_through)}}
            for _, r in s[s.flagged].iterrows()]  # fmt: skip
