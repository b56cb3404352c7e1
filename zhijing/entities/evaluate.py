"""Scoring a resolution against the planted truth: pairwise precision / recall / F1 (the
pairs of mentions put together) and cluster-level counts."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int
    clusters: int
    true_persons: int
    exact_clusters: float  # share of true persons whose mentions form exactly one cluster

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _pairs(counts: pd.Series) -> int:
    return int((counts * (counts - 1) // 2).sum())


def score(links: pd.DataFrame, truth: pd.DataFrame, only: pd.Series | None = None) -> Scores:
    """``links``: mention_id, master_id; ``truth``: dataset, record_id, role, person_id;
    ``only``: restrict to these mention ids (e.g. the identifiable ones)."""
    t = truth.assign(mention_id=truth.dataset + "|" + truth.record_id.astype(str) + "|" + truth.role)
    df = links.merge(t[["mention_id", "person_id"]], on="mention_id", how="inner")
    if only is not None:
        df = df[df.mention_id.isin(set(only))]
    tp = _pairs(df.groupby(["master_id", "person_id"]).size())
    pred = _pairs(df.groupby("master_id").size())
    true = _pairs(df.groupby("person_id").size())
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    per_person = df.groupby("person_id").master_id.nunique()
    per_master = df.groupby("master_id").person_id.nunique()
    exact = df.groupby("person_id").master_id.first()
    ok = (per_person == 1) & (per_master.reindex(exact.values).to_numpy() == 1)
    return Scores(p, r, f1, true, pred, int(df.master_id.nunique()), int(df.person_id.nunique()), float(ok.mean()))


def read_truth(city_dir) -> pd.DataFrame:
    return pd.read_parquet(city_dir / "truth" / "record_persons.parquet")


def identifiable(mentions: pd.DataFrame) -> pd.Series:
    """Mentions carrying an identifier (a citizen ID, valid or not, or a phone): a name
    alone never identifies a person, so name-only records are held apart by design."""
    has = mentions.citizen_id.notna() | mentions.id_raw.notna() | mentions.phone.notna()
    return mentions.mention_id[has]
