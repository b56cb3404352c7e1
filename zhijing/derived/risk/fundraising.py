"""神鹰: illegal fundraising (非法集资) — a company account taking many individuals'
deposits and paying 'returns' to earlier depositors out of later ones, and complaints
that name the company with promised-return language.

Subjects are companies (对公 accounts); complainants are never a feature, only the count
of complaints that name the company."""

from __future__ import annotations

import pandas as pd

from zhijing.config import Settings
from zhijing.derived.risk import data

NAME, VERSION = "fundraising", "1"
PROMISE = "收益|回报|年化|保本|保息|返利|提现|高息"
MIN_PAYERS = 10


def _norm(col: str) -> str:
    return f"replace({col}, '有限责任公司', '有限公司')"


def features(settings: Settings, as_of: pd.Timestamp, days: int = 180) -> pd.DataFrame:
    """One row per company account (an 对公 account ownership) with inbound payments from
    persons' accounts in the last ``days``; complaints are those whose respondent is the company."""
    t1 = data.as_utc(as_of)
    t0 = t1 - pd.Timedelta(days=days)
    sql = f"""
    WITH acct AS (SELECT DISTINCT account, registered_name AS name, company AS uscc, kind FROM o WHERE account IS NOT NULL),
    tx AS (SELECT payer, payee, amount, ts FROM p
           WHERE ts >= TIMESTAMPTZ '{t0.isoformat()}' AND ts < TIMESTAMPTZ '{t1.isoformat()}'),
    inflow AS (SELECT tx.* FROM tx JOIN acct c ON c.account = tx.payee AND c.kind = '对公'
               JOIN acct p ON p.account = tx.payer AND p.kind = '个人'),
    ins AS (SELECT payee AS account, count(DISTINCT payer) AS payers, sum(amount) AS inflow, median(amount) AS median_in,
                   min(ts) AS first_in FROM inflow GROUP BY 1),
    returns AS (SELECT o.payer AS account, count(DISTINCT o.payee) AS repaid, sum(o.amount) AS paid_back
                FROM tx o JOIN inflow i ON i.payee = o.payer AND i.payer = o.payee AND o.ts > i.ts GROUP BY 1)
    SELECT ins.*, c.name, c.uscc, coalesce(r.repaid, 0) AS repaid, coalesce(r.paid_back, 0) AS paid_back
    FROM ins JOIN acct c USING (account) LEFT JOIN returns r USING (account)
    """
    f = data.query(settings, sql, o="ownership", p="payment")
    if f.empty:
        return f
    complaints = data.query(settings, f"""
        SELECT {_norm('respondent')} AS name, count(*) AS complaints, min(ts) AS first_complaint FROM c
        WHERE respondent IS NOT NULL AND ts < TIMESTAMPTZ '{t1.isoformat()}' AND regexp_matches(narrative, '{PROMISE}') GROUP BY 1
    """, c="complaint")  # fmt: skip
    f["key"] = f.name.str.replace("有限责任公司", "有限公司")
    if complaints.empty:
        f["complaints"] = 0
    else:
        f = f.merge(complaints.rename(columns={"name": "key"}), on="key", how="left")
        f["complaints"] = f.complaints.fillna(0).astype(int)
    return f.drop(columns="key")


def score(settings: Settings, as_of: pd.Timestamp) -> pd.DataFrame:
    """Features with the model's score and flag, and the plain threshold baseline's flag."""
    f = features(settings, as_of)
    if f.empty:
        return f.assign(score=[], flagged=[], baseline=[])
    share = (f.repaid / f.payers).clip(0, 1)
    f["score"] = (f.payers / 30).clip(0, 1) + share + 0.5 * f.complaints.clip(0, 2)
    f["flagged"] = (f.payers >= MIN_PAYERS) & ((share >= 0.3) | (f.complaints >= 2))
    f["baseline"] = f.inflow >= 1_000_000  # plain threshold: large inflow from persons
    return f.sort_values("score", ascending=False).reset_index(drop=True)


def evidence(row) -> dict:
    return {"depositors": int(row.payers), "inflow": round(float(row.inflow), 2), "repaid_depositors": int(row.repaid),
            "paid_back": round(float(row.paid_back), 2), "complaints_naming_company": int(row.complaints),
            "median_deposit": round(float(row.median_in), 2)}  # fmt: skip


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    s = score(settings, as_of)
    return [{"subject_kind": "company", "subject": r.uscc or r.account, "label": r["name"], "score": float(r.score),
             "evidence": evidence(r)} for _, r in s[s.flagged].iterrows()]  # fmt: skip
