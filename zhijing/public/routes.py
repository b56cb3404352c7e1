"""The citizens' site and API (``/gov``, ``/api/gov``), and the station's desk in the police
console (``/api/gov-desk``).

The citizens' routes are declared public (no police login): identity is the verification
service and a one-time code, after which a session header (``X-Gov-Session``) names the
citizen, and every answer is about them alone, audited under the public-service purpose.
They are rate-limited per client address. The desk's routes are police routes like any
other: the guard, the station's standing purpose (``ticket:GOV-<station>``), the audit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field

from zhijing.access.client import client_address
from zhijing.access.guard import AccessContext, require
from zhijing.access.masking import mask_value
from zhijing.config import get_settings
from zhijing.public import page, service, signing, store
from zhijing.public.page import STATIC

HERE = STATIC.parent
templates = Jinja2Templates(directory=HERE / "templates")
STATIC_FILES = {"gov.css": "text/css", "gov.js": "text/javascript", "verify.js": "text/javascript",
                "vendor/nacl-fast.min.js": "text/javascript", "vendor/jsQR.js": "text/javascript"}  # fmt: skip
RowId = Annotated[int, Path(ge=1, lt=2**62, description="a request number")]
CertificateNo = Annotated[str, Path(pattern=r"^[A-Z]{2}\d{14}$", description="证明编号")]
PUBLIC = require("public:gov", person_data=False)
DESK_ROWS = 200  # a station's desk list: the newest requests of a status


def rate_limited(request: Request, _ctx=Depends(PUBLIC)) -> str | None:
    """The client's address, once its requests are within ``public.rate`` (else 429)."""
    settings = get_settings()
    client = client_address(request, settings)
    rate = settings.public.rate
    memo = getattr(request.app.state, "gov_limiter", None)
    if memo is None or memo[0] != rate:
        memo = request.app.state.gov_limiter = (rate, parse(rate), MovingWindowRateLimiter(MemoryStorage()))
    if not memo[2].hit(memo[1], "gov", client or "-"):
        raise HTTPException(429, "too many requests: try again in a minute", headers={"Retry-After": "60"})
    return client


def citizen(x_gov_session: str | None = Header(default=None)) -> dict:
    """The citizen the session header names."""
    return store.citizen(get_settings(), x_gov_session)


class Identity(BaseModel):
    name: str = Field(..., min_length=1, max_length=32, description="姓名")
    citizen_id: str = Field(..., min_length=15, max_length=18, description="公民身份号码")
    phone: str = Field(..., min_length=11, max_length=11, pattern=r"^1\d{10}$", description="登记的手机号")


class Code(BaseModel):
    challenge: str = Field(..., min_length=8, max_length=64)
    code: str = Field(..., min_length=6, max_length=6, pattern=r"^\d{6}$")


class CertificateRequest(BaseModel):
    kind: Literal["no_record", "hukou"]


class Vehicle(BaseModel):
    plate: str = Field(..., min_length=6, max_length=10, description="号牌号码")
    engine: str = Field(..., min_length=6, max_length=6, description="发动机号后六位 (the VIN's last six stand in, docs/public-services.md)")


class Report(BaseModel):
    kind: Literal["lost", "found"]
    station: str = Field(..., min_length=12, max_length=12, pattern=r"^\d{12}$", description="受理派出所")
    item: str = Field(..., min_length=1, max_length=100, description="物品")
    place: str = Field(..., min_length=1, max_length=200, description="地点")
    when: str = Field(..., min_length=1, max_length=40, description="时间")
    description: str = Field("", max_length=1000, description="描述")
    phone: str = Field(..., pattern=r"^1\d{10}$", description="联系电话")


api = APIRouter(prefix="/api/gov", tags=["public services (为民服务)"])


@api.post("/identity")
def identify(body: Identity, client: str | None = Depends(rate_limited)) -> dict:
    """Name, citizen ID and registered phone, checked by the verification service; a one-time
    code goes to the phone (simulated: shown in the answer while ``public.simulate_sms``)."""
    challenge, code = service.identify(get_settings(), body.name, body.citizen_id, body.phone, client)
    return {"challenge": challenge, "sent_to": mask_value(body.phone, "phone"), **({"simulated_code": code} if code else {})}


@api.post("/identity/confirm")
def confirm(body: Code, client: str | None = Depends(rate_limited)) -> dict:
    token, who = store.confirm(get_settings(), body.challenge, body.code)
    return {"session": token, "name": who["name"], "citizen_id": mask_value(who["citizen_id"], "citizen_id"),
            "minutes": get_settings().public.session_minutes}  # fmt: skip


@api.post("/logout")
def logout(_client: str | None = Depends(rate_limited), x_gov_session: str | None = Header(default=None)) -> dict:
    """End the citizen's session (a shared phone or a library's computer)."""
    store.end_session(get_settings(), x_gov_session)
    return {"ended": True}


@api.post("/certificates")
def request_certificate(body: CertificateRequest, client: str | None = Depends(rate_limited), who: dict = Depends(citizen)) -> dict:
    """无犯罪记录证明 or 户籍证明 for the citizen: issued at once, or under review by their station."""
    return service.request_certificate(get_settings(), who, body.kind, client)


@api.get("/certificates/{no}.pdf", response_class=Response)
def certificate_pdf(no: CertificateNo, client: str | None = Depends(rate_limited), who: dict = Depends(citizen)) -> Response:
    data = service.pdf_of(get_settings(), who, no, client)
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{no}.pdf"'})


@api.get("/requests")
def own_requests(client: str | None = Depends(rate_limited), who: dict = Depends(citizen)) -> dict:
    return {"requests": service.own(get_settings(), who, client)}


@api.post("/traffic")
def traffic(body: Vehicle, client: str | None = Depends(rate_limited)) -> dict:
    """交通违法查询: a vehicle's speeding and accidents, for its plate and engine number."""
    return service.traffic(get_settings(), body.plate, body.engine, client)


@api.get("/stations")
def stations(_client: str | None = Depends(rate_limited)) -> dict:
    return {"stations": service.stations(get_settings())}


@api.post("/lost-found")
def report(body: Report, client: str | None = Depends(rate_limited), who: dict = Depends(citizen)) -> dict:
    """失物招领: a lost or found item reported to a station (visible at its desk in the police console)."""
    detail = body.model_dump(exclude={"kind", "station"})
    return {"id": service.report(get_settings(), who, body.kind, body.station, detail, client), "status": "received"}


desk = APIRouter(prefix="/api/gov-desk", tags=["public services (为民服务)"])


class Decision(BaseModel):
    decision: Literal["issue", "refuse", "close"]
    note: str | None = Field(None, max_length=500, description="内部意见 (never shown to the citizen)")


@desk.get("/requests")
def desk_requests(status: Literal["review", "received", "issued", "refused", "closed"] | None = None,
                  ctx: AccessContext = Depends(require("gov:read"))) -> dict:  # fmt: skip
    """The citizens' requests at the station the purpose names (``X-Purpose: ticket:GOV-<station>``), newest first."""
    station = service.desk_station(ctx.purpose)
    rows = service.desk(get_settings(), station, status, DESK_ROWS)
    ctx.audit("consult", [r["master_id"] for r in rows], query=f"gov desk {station} {status or ''}")
    return {"station": station, "requests": [ctx.mask(r, {"citizen_id": "sensitive", "name": "internal"},
                                                      {"citizen_id": "citizen_id", "name": "name"}) for r in rows]}  # fmt: skip


@desk.post("/requests/{request_id}/decision")
def desk_decide(request_id: RowId, body: Decision, ctx: AccessContext = Depends(require("gov:decide"))) -> dict:
    """Issue or refuse a certificate under review, close a report (the station's officers)."""
    station = service.desk_station(ctx.purpose)
    out = service.decide(get_settings(), station, request_id, body.decision, ctx.user.username, body.note)
    ctx.audit("alter", [store.request(get_settings(), request_id)["master_id"]], query=f"gov decision {request_id} {body.decision}")
    return out


def public_key(_ctx=Depends(PUBLIC)) -> dict:
    """The certificate keys anyone verifies with (Ed25519, hex): the current one, and the
    retired ones whose certificates are still about."""
    key, settings = signing.published_key(get_settings()), get_settings()
    return {"algorithm": "ed25519", "public_key": key, "key_id": signing.key_id(key), "payload": "ZJC1.<body>.<signature>",
            "retired": [{"public_key": k, "key_id": signing.key_id(k)} for k in signing.retired_keys(settings)]}  # fmt: skip


def home(request: Request, _ctx=Depends(PUBLIC)) -> HTMLResponse:
    return templates.TemplateResponse(request, "gov.html", {"simulated": get_settings().public.simulate_sms})


def verify_html(offline: bool = False, _ctx=Depends(PUBLIC)) -> HTMLResponse:
    """The verify page; ``?offline=1`` downloads the self-contained file that works with no server."""
    html = page.verify_page(signing.trusted_keys(get_settings()), inline=offline)
    headers = {"Content-Disposition": 'attachment; filename="zhijing-verify.html"'} if offline else None
    return HTMLResponse(html, headers=headers)


def static(name: str, _ctx=Depends(PUBLIC)) -> FileResponse:
    if name not in STATIC_FILES or not (STATIC / name).exists():
        raise HTTPException(404, "no such file")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name])


def register(app: FastAPI) -> None:
    app.include_router(api)
    app.include_router(desk)
    app.add_api_route("/.well-known/zhijing-certificate-key.json", public_key, methods=["GET"], name="gov:key")
    app.add_api_route("/gov", home, methods=["GET"], response_class=HTMLResponse, include_in_schema=False, name="gov:home")
    app.add_api_route("/gov/verify.html", verify_html, methods=["GET"], response_class=HTMLResponse, include_in_schema=False,
                      name="gov:verify")  # fmt: skip
    app.add_api_route("/gov/static/{name:path}", static, methods=["GET"], include_in_schema=False, name="gov:static")
