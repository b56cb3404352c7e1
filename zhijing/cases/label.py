"""The printable label of a seized item (涉案财物标签): a QR code and the item's facts, as PNG or PDF.

The QR code holds ``ZJSW|<number>|<item id>|<case id>|<first 16 hex of the intake entry's hash>``:
a scan names the item and the entry that registered it, so a label printed for one item
cannot be passed off on another. Chinese text needs a CJK font (Debian's fonts-wqy-microhei
or Noto CJK, installed by ``make setup``); without one the label prints its ASCII fields only.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from zhijing.localtime import shown

FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # fmt: skip
WIDTH, HEIGHT, DPI = 900, 420, 300  # 76 × 36 mm at 300 dpi


def payload(item: dict, intake_hash: str) -> str:
    return f"ZJSW|{item['number']}|{item['id']}|{item['case_id']}|{intake_hash[:16]}"


@lru_cache(maxsize=4)
def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """A CJK font when the machine has one (then True), else Pillow's default."""
    for path in FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size), True
    return ImageFont.load_default(size), False


def image(item: dict, intake_hash: str) -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(payload(item, intake_hash))
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB").resize((360, 360), Image.NEAREST)
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    img.paste(code, (24, 30))
    draw = ImageDraw.Draw(img)
    big, cjk = _font(40)
    small, _ = _font(26)
    lines = [(item["number"], big), (f"案件 Case: {item['case_id']}", small), (f"{item.get('category_zh', '')} · {item['quantity']}", small),
             (item["description"][:22], small), (f"扣押 Seized: {(shown(item['seized_at']) or '')[:16].replace('T', ' ')}", small),
             (f"扣押人 By: {item['seized_by']}", small)]  # fmt: skip
    y = 34
    for text, font in lines:
        if not cjk:
            text = text.encode("ascii", "ignore").decode().strip(" ·:") or "-"
        draw.text((410, y), text, fill="black", font=font)
        y += 60 if font is big else 44
    draw.rectangle((4, 4, WIDTH - 5, HEIGHT - 5), outline="black", width=3)
    draw.text((410, HEIGHT - 50), "涉案财物 · 智警" if cjk else "zhijing seized property", fill="black", font=small)
    return img


def render(item: dict, intake_hash: str, fmt: str) -> bytes:
    """The label as ``png`` or ``pdf`` bytes."""
    buf = io.BytesIO()
    img = image(item, intake_hash)
    if fmt == "pdf":
        img.save(buf, "PDF", resolution=DPI, title=f"涉案财物标签 {item['number']}")
    else:
        img.save(buf, "PNG", dpi=(DPI, DPI))
    return buf.getvalue()
