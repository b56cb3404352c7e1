"""The offline verify page: one self-contained HTML file (TweetNaCl and jsQR inlined, the
platform's public keys filled in: the current one and the retired ones) that checks a certificate's QR payload with no server —
served at ``/gov/verify.html`` and written by ``zhijing certificate page``."""

from __future__ import annotations

from pathlib import Path

import jinja2

from zhijing.errors import NotReady
from zhijing.public.pdf import LABELS
from zhijing.public.signing import key_id

HERE = Path(__file__).parent
STATIC = HERE / "static"
SCRIPTS = {"nacl": "vendor/nacl-fast.min.js", "jsqr": "vendor/jsQR.js", "verify_js": "verify.js"}  # vendor: Makefile TWEETNACL, JSQR
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)


def verify_page(public_keys: list[str], inline: bool = True) -> str:
    """The page; ``inline``: one self-contained file (to save and open with no server), else
    the served page, whose scripts are files (the console's CSP allows no inline script)."""
    scripts = {}
    for name, file in SCRIPTS.items() if inline else ():
        try:
            scripts[name] = (STATIC / file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotReady(f"{file} is missing: run `make setup` (it fetches the verify page's scripts)") from None
    labels = {**LABELS, "kind": ("证明类型", "Certificate"), "text": ("证明内容", "Statement"), "d": ("字段摘要", "Fields digest"),
              "k": ("公钥标识", "Key id")}  # fmt: skip
    return _env.get_template("verify.html").render(public_keys=public_keys, key_ids=[key_id(k) for k in public_keys], labels=labels,
                                                   inline=inline, **scripts)  # fmt: skip
