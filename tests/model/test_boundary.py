"""No analysis names a dataset or a column header (DESIGN §10): code under derived/, cases/,
serving/ and entities/ reads the model's types and the geography roles, so a bureau's own
datasets, under its own names and headers, reach every analysis."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from zhijing.sources.spec import Element, packaged_spec

ROOT = Path(__file__).resolve().parents[2] / "zhijing"
LAYERS = ("derived", "cases", "serving", "entities")
ELEMENTS = set(Element.__args__)
# modules still being ported to the model: each must fail this test until it is (strict xfail),
# and then leave this list
PENDING: set[str] = {"cases/procedure/demo.py"}  # reads the generated city's org/units.csv for its demo year


# headers that are also the platform's own column names (the ground truth's person_id)
GENERIC = {"person_id"}


def _forbidden() -> tuple[set[str], set[str]]:
    spec = packaged_spec()
    names = {d.name for d in spec.datasets} | {r.name for r in spec.reference}
    headers = {f.name for d in spec.datasets for f in d.fields if f.name not in ELEMENTS
               and (not f.name.isascii() or "_" in f.name or any(c.isupper() for c in f.name))}  # fmt: skip
    return names, headers - GENERIC


def _strings(path: Path) -> list[str]:
    """Every string constant of the module except docstrings (prose may name an example)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}  # fmt: skip
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def _named(path: Path) -> list[str]:
    names, headers = _forbidden()
    found = set()
    for text in _strings(path):
        found |= {n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", text)}
        found |= {h for h in headers if re.search(rf"(?<![\w]){re.escape(h)}(?![\w])", text)}
    return sorted(found)


MODULES = sorted(str(p.relative_to(ROOT)) for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("module", [pytest.param(m, marks=pytest.mark.xfail(strict=True, reason="not yet on the model"))
                                    if m in PENDING else m for m in MODULES])  # fmt: skip
def test_no_dataset_or_header_is_named(module):
    assert _named(ROOT / module) == [], f"{module} names datasets or headers; read the model (zhijing.model) instead"


def test_the_pending_list_only_names_modules_that_exist():
    assert not PENDING - set(MODULES)
