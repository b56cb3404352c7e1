"""Which kind of call (警情类别) and how urgent (1 act now .. 3 routine), from the narrative.

Two readers trained on the same generated corpus (sources/generate/calls.py). The baseline:
character n-gram TF-IDF and a logistic regression (what CAD systems report 0.96–0.98 weighted
F1 with on clean English narratives). The model reads noisy calls as a call-taker does:
full-width forms and traditional characters folded, and beside the character n-grams the
toneless pinyin of every character, so a homophone typo (被投了 for 被偷了) or a word typed in
pinyin (bei tou le) reads as the word meant; a linear SVM, calibrated (Platt, 3 folds) so its
confidence is a probability (``PlattSVM``). jieba's words were tried beside them: +0.002 weighted F1 for a
second of loading, so they are not used. Both readers are scored on calls of another seed
written from phrasings held out of training (``evaluate``).

A trained pair is cached under ``home/models/dispatch`` (joblib) and loaded by whoever needs it
(the intake object, the replay consumer): never a module global.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from zhijing.sources.generate import calls

VERSION = "1"  # bump when the features change: a cached reader of another version is retrained
TRAIN_CALLS, TRAIN_SEED = 1500, 110
EVAL_CALLS, EVAL_SEED = 1500, 911
_HAN = re.compile(r"[\u4e00-\u9fff]")
_TOKEN = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+")
_SPACE = re.compile(r"\s+")


@cache
def _t2s():
    """Traditional → simplified (OpenCC's table; a converter, no state)."""
    from opencc import OpenCC

    return OpenCC("t2s")


@cache
def _sound(char: str) -> str:
    """The toneless pinyin of one character (pypinyin's reading; memoised: a pure function)."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(char)[0]


def simplified(text: str) -> str:
    """``text`` with traditional characters as simplified ones."""
    return _t2s().convert(text) if _HAN.search(text) else text


def normalise(text: str | None) -> str:
    """The form the model reads: NFKC (full-width letters and digits → ASCII), traditional →
    simplified, lower case, runs of space as one."""
    return _SPACE.sub(" ", simplified(unicodedata.normalize("NFKC", text or "")).lower()).strip()


def sounds(text: str | None) -> list[str]:
    """Toneless pinyin syllables of the normalised text, Latin words kept as they are: a
    homophone typo and a word typed in pinyin give the syllables of the word meant."""
    return [_sound(t) if len(t) == 1 and _HAN.match(t) else t for t in _TOKEN.findall(normalise(text))]


def sound_features(text: str | None) -> list[str]:
    """Syllables and syllable pairs and triples."""
    s = sounds(text)
    return s + [" ".join(s[i : i + 2]) for i in range(len(s) - 1)] + [" ".join(s[i : i + 3]) for i in range(len(s) - 2)]


def baseline_features() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)


def model_features() -> FeatureUnion:
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=normalise)),
        ("sounds", TfidfVectorizer(analyzer=sound_features, sublinear_tf=True)),
    ])  # fmt: skip


def _logistic() -> LogisticRegression:
    return LogisticRegression(C=3.0, max_iter=2000, class_weight="balanced")


class PlattSVM:
    """A linear SVM whose scores become probabilities through a multinomial logistic regression
    fitted on out-of-fold scores (Platt scaling, 3 folds): the confidence a call-taker can read,
    at the cost of one SVM and one small regression per call (scikit-learn's
    CalibratedClassifierCV answers the same with three SVMs and a calibrator per class, 5× slower)."""

    def __init__(self, c: float = 0.5, folds: int = 3):
        self.c, self.folds = c, folds

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.c, class_weight="balanced", random_state=0)  # liblinear shuffles: the same corpus, the same model

    def fit(self, x, y) -> PlattSVM:
        scores = cross_val_predict(self._svm(), x, y, cv=self.folds, method="decision_function")
        self.platt = LogisticRegression(max_iter=1000).fit(scores, y)
        self.svm = self._svm().fit(x, y)
        self.classes_ = self.platt.classes_
        return self

    def predict_proba(self, x) -> np.ndarray:
        return self.platt.predict_proba(self.svm.decision_function(x))

    def predict(self, x) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(1)]


@dataclass
class Reader:
    """Features read once, two heads: the category and the priority."""

    name: str
    features: object
    category: object
    priority: object

    def fit(self, texts: list[str], cats: list[str], prios: list[int]) -> Reader:
        with threadpool_limits(1):  # BLAS threads on a shared machine only wait for each other
            x = self.features.fit_transform(texts)
            self.category.fit(x, cats)
            self.priority.fit(x, prios)
        return self

    def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(category, priority, confidence: the category's probability) per text."""
        x = self.features.transform([t or "" for t in texts])
        proba = self.category.predict_proba(x)
        return self.category.classes_[proba.argmax(1)], self.priority.predict(x), proba.max(1)


def baseline() -> Reader:
    return Reader("baseline", baseline_features(), _logistic(), _logistic())


def model() -> Reader:
    return Reader("model", model_features(), PlattSVM(), _logistic())


def training_corpus(n: int = TRAIN_CALLS, seed: int = TRAIN_SEED) -> pd.DataFrame:
    return calls.corpus(n, seed, split="train")


def heldout_corpus(n: int = EVAL_CALLS, seed: int = EVAL_SEED) -> pd.DataFrame:
    """Calls of another seed, written only from the phrasings held out of training."""
    return calls.corpus(n, seed, split="heldout")


@dataclass
class Trained:
    baseline: Reader
    model: Reader
    key: str
    meta: dict = field(default_factory=dict)


def _key(n: int, seed: int) -> str:
    """What a cached pair was made from: the corpus (templates, generator, seed, size), this
    module and scikit-learn's version (a pickle of another version may not load)."""
    h = hashlib.sha256(f"{VERSION}|{n}|{seed}|{sklearn.__version__}".encode())
    for source in (calls.DATA, Path(calls.__file__), Path(__file__)):
        h.update(source.read_bytes())
    return h.hexdigest()[:16]


def cache_path(settings, n: int = TRAIN_CALLS, seed: int = TRAIN_SEED) -> Path:
    return settings.home / "models" / "dispatch" / f"calls-{_key(n, seed)}.joblib"


def train(settings, n: int = TRAIN_CALLS, seed: int = TRAIN_SEED, force: bool = False) -> Trained:
    """Both readers, trained on ``n`` generated calls of ``seed`` and cached under home (a cache
    of the same corpus and feature version is loaded, not retrained)."""
    path = cache_path(settings, n, seed)
    if path.exists() and not force:
        return joblib.load(path)
    df = training_corpus(n, seed)
    texts, cats, prios = df.narrative.tolist(), df.category.tolist(), df.priority.tolist()
    trained = Trained(baseline().fit(texts, cats, prios), model().fit(texts, cats, prios), _key(n, seed),
                      {"calls": n, "seed": seed, "version": VERSION})  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two web workers training at once: each renames its own
    joblib.dump(trained, tmp)
    tmp.replace(path)
    return trained


def scores(reader: Reader, df: pd.DataFrame) -> dict:
    """Per-class and weighted F1 of the category, accuracy of the priority."""
    cats, prios, _ = reader.predict(df.narrative.tolist())
    labels = sorted(df.category.unique())
    per = f1_score(df.category, cats, labels=labels, average=None, zero_division=0)
    return {
        "weighted_f1": float(f1_score(df.category, cats, average="weighted", zero_division=0)),
        "per_class": {c: round(float(v), 3) for c, v in zip(labels, per, strict=True)},
        "priority_accuracy": float(accuracy_score(df.priority, prios)),
        "urgent_recall": float(((prios == 1) & (df.priority == 1)).sum() / max(1, (df.priority == 1).sum())),
        "calls": len(df),
    }


NOISE_KINDS = ("typo", "pinyin", "english", "traditional", "fullwidth", "abuse", "filler", "cut", "no_place")


def by_noise(trained: Trained, df: pd.DataFrame) -> dict[str, dict]:
    """Category accuracy of each reader on the clean calls and on the calls with each kind of
    noise (calls, baseline, model): where reading as a call-taker does pays."""
    texts = df.narrative.tolist()
    right = {r.name: r.predict(texts)[0] == df.category.to_numpy() for r in (trained.baseline, trained.model)}
    out = {}
    for kind in ("clean", *NOISE_KINDS):
        mask = (df.noise == "").to_numpy() if kind == "clean" else df.noise.str.contains(kind).to_numpy()
        if mask.any():
            out[kind] = {"calls": int(mask.sum()), **{n: round(float(r[mask].mean()), 3) for n, r in right.items()}}
    return out


def evaluate(trained: Trained, df: pd.DataFrame | None = None) -> dict[str, dict]:
    """Both readers scored on held-out calls (default: ``heldout_corpus()``)."""
    df = heldout_corpus() if df is None else df
    return {r.name: scores(r, df) for r in (trained.baseline, trained.model)}
