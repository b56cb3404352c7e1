"""The model registry: every risk model with its version, what it reads (so each run can
name the data versions it saw), who gets its warnings, whether its subjects are persons,
and where its present is read (the newest records of its time-windowed data)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pandas as pd

from zhijing.config import Settings
from zhijing.derived.risk import data
from zhijing.localtime import zone


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    module: str
    reads: tuple[str, ...]  # model types, entities/<table>, places/<geography role> (data.files)
    person: bool  # warnings name a person (opened only under a purpose, audited)
    department: str  # who triages: 经侦 / 治安 / 交警 / 指挥中心
    clock: str | None = None  # the model type whose newest event is the model's present
    topics: tuple[str, ...] = ()  # the matters of the cases its person warnings open under (a purpose of their own kind)

    def load(self):
        return importlib.import_module(f"zhijing.derived.risk.{self.module}")

    @property
    def version(self) -> str:
        return self.load().VERSION

    def data_version(self, settings: Settings) -> dict[str, str | None]:
        return {source: data.version(settings, source) for source in self.reads}

    def present(self, settings: Settings) -> pd.Timestamp:
        """A run's default as-of (Beijing time): now, or the end of the newest day of the
        model's data when that is earlier — a lake whose feed ends months ago (a generated
        city, a stopped feed) is read as of its last day, not as an empty recent window."""
        now = pd.Timestamp.now(tz=zone()).tz_localize(None)
        newest = data.newest(settings, self.clock) if self.clock else None
        if newest is None:
            return now
        return min(now, newest.tz_convert(zone()).tz_localize(None).normalize() + pd.Timedelta(days=1))


MODELS = {m.name: m for m in (
    ModelSpec("fundraising", "非法集资预警", "fundraising", ("payment", "ownership", "complaint"), False, "经侦", "payment",
              ("fundraising",)),
    ModelSpec("pyramid", "传销预警", "pyramid", ("payment", "ownership", data.LINKS), True, "经侦", "payment", ("pyramid",)),
    ModelSpec("mules", "涉诈账户预警", "mules", ("payment", "incident", "ownership", data.LINKS), True, "刑侦", "payment",
              ("fraud",)),
    ModelSpec("aml", "洗钱形态识别", "aml", ("payment",), True, "经侦", "payment", ("money_laundering", "fraud")),
    ModelSpec("hotspots", "入室盗窃热点预测", "hotspots", ("offence", "places/district", "places/address"), False, "治安", "offence"),
    ModelSpec("blackspots", "道路事故黑点", "blackspots", ("accident", "places/address"), False, "交警"),
    ModelSpec("crowd", "人员聚集密度", "crowd", ("access", "pass"), False, "指挥中心"),
)}  # fmt: skip
