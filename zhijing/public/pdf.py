"""A certificate as a PDF (fpdf2): its fields in Chinese with English, a QR code of its
signed payload, and the payload with the complete fields embedded (``certificate.json``), so
``zhijing certificate verify`` checks both the QR and what the paper says against one signature."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
import zxingcpp
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from zhijing.errors import NotReady, ZhijingError

EMBEDDED = "certificate.json"
FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
         "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # fmt: skip
# what each certificate says, and the label of each field it shows (Chinese / English)
TITLES = {"no_record": ("无犯罪记录证明", "Certificate of No Criminal Record"),
          "hukou": ("户籍证明", "Certificate of Household Registration")}  # fmt: skip
LABELS = {"no": ("证明编号", "No."), "name": ("姓名", "Name"), "id": ("公民身份号码", "Citizen ID"), "sex": ("性别", "Sex"),
          "birth": ("出生日期", "Date of birth"), "address": ("户籍地址", "Registered address"), "household": ("户号", "Household no."),
          "relation": ("与户主关系", "Relation to head"), "issued": ("出具日期", "Issued"), "until": ("有效期至", "Valid until"),
          "by": ("出具单位", "Issued by")}  # fmt: skip


@lru_cache(maxsize=1)
def chinese_font() -> str:
    """A font with Chinese glyphs: a known file, else the first that fontconfig lists."""
    for path in FONTS:
        if Path(path).exists():
            return path
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False).stdout.split()
        if found:
            return found[0].rstrip(":")
    raise NotReady("no Chinese font on this machine: install fonts-wqy-microhei")


def qr_image(payload: str) -> Image.Image:
    """The payload as a QR code (error correction M: a printed, folded page still scans)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=4)
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    # grey, not 1-bit: readers (pypdf) mis-stride the rows of a 1-bit image whose width is not a multiple of 8
    return code.make_image(fill_color="black", back_color="white").get_image().convert("L")


def render(fields: dict, payload: str, statement: tuple[str, str]) -> bytes:
    """The certificate's PDF: ``fields`` (complete), its ``payload``, its ``statement`` (zh, en)."""
    pdf = FPDF(format="A4")
    pdf.set_title(TITLES[fields["kind"]][0])
    pdf.set_creator("zhijing")
    pdf.add_page()
    pdf.add_font("cjk", fname=chinese_font())
    zh, en = TITLES[fields["kind"]]
    pdf.set_font("cjk", size=22)
    pdf.cell(0, 14, zh, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, en, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("cjk", size=12)
    pdf.multi_cell(0, 8, statement[0], align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(0, 5, statement[1], align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for key, (label_zh, label_en) in LABELS.items():
        if fields.get(key):
            pdf.set_font("cjk", size=11)
            pdf.cell(55, 9, f"{label_zh} {label_en}", border=1)
            pdf.cell(0, 9, str(fields[key]), border=1, new_x="LMARGIN", new_y="NEXT")
    y = pdf.get_y() + 8
    pdf.image(qr_image(payload), x=140, y=y, w=55)
    pdf.set_xy(15, y + 4)
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(120, 5, "扫描二维码可离线核验本证明：签名由出具平台的公钥验证，任何字段被改动即核验失败。\n"
                   "Scan the QR code to verify this certificate offline: the platform's public key checks its signature; "
                   "any altered field fails.\n核验 Verify: zhijing certificate verify <文件 file>, or the offline page "
                   "/gov/verify.html", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.embed_file(basename=EMBEDDED, bytes=json.dumps({"payload": payload, "fields": fields}, ensure_ascii=False).encode(),
                   desc="signed certificate payload and fields")  # fmt: skip
    return bytes(pdf.output())


@dataclass
class Read:
    embedded: dict | None  # {"payload", "fields"} as embedded, or None
    qr: list[str]  # the payloads of the QR codes found on the pages


def read(data: bytes) -> Read:
    """What a certificate PDF carries: its embedded payload and fields, and its QR codes decoded."""
    try:
        reader = PdfReader(io.BytesIO(data))
        attached = reader.attachments.get(EMBEDDED) or []
        embedded = json.loads(attached[0]) if attached else None
        images = [img.image for page in reader.pages for img in page.images]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ZhijingError(f"not a readable PDF: {type(exc).__name__}") from None
    found = [text for img in images if img is not None for text in _qr_codes(img)]
    return Read(embedded if isinstance(embedded, dict) else None, found)


def decode_image(data: bytes) -> list[str]:
    """The QR payloads in a photo or scan of a certificate (PNG, JPEG)."""
    try:
        img = Image.open(io.BytesIO(data))
    except OSError:
        return []
    return _qr_codes(img)


def _qr_codes(img: Image.Image) -> list[str]:
    """The QR codes in an image: QR only (a scan for every format reads 1-D barcodes into a
    QR code's modules now and then), text as encoded (bytes mode, no charset guessing)."""
    return [r.text for r in zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]
