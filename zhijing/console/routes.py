"""Console pages (一个门户): shells that hold no data.

Every page is HTML + JS that asks the JSON API for data with the user's token and the
purpose they chose; the API is where policy, masking and audit apply. So the pages are
declared public, and the only way to personal data is the guarded API.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhijing.access import policy
from zhijing.access.guard import AccessContext, require, subject
from zhijing.access.purpose import open_purposes
from zhijing.config import get_settings
from zhijing.localtime import zone_info

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["zone"] = zone_info  # every page names the zone its times are shown in

PAGES = {
    "/": ("index.html", "总览"),
    "/login": ("login.html", "登录"),
    "/catalog": ("catalog.html", "资源目录"),
    "/sharing": ("sharing.html", "资源共享交换"),  # sharing contracts, usage, batch jobs, deliveries (zhijing/sharing)
    "/persons": ("persons.html", "一人一档"),
    "/review": ("review.html", "核查"),
    "/audit": ("audit.html", "审计监督"),
    "/search": ("search.html", "云搜索"),
    "/trajectory": ("trajectory.html", "轨迹"),
    "/companions": ("companions.html", "同行分析"),
    "/collision": ("collision.html", "碰撞分析"),
    "/compare": ("compare.html", "比对"),
    "/graph": ("graph.html", "关系研判"),
    "/cases": ("cases.html", "专案"),
    "/exports": ("exports.html", "导出申请"),
    "/risk": ("risk.html", "风险预警"),
    "/console/command": ("command.html", "指挥调度"),  # 市局指挥中心: the whole city
    "/console/duty": ("command.html", "勤务指挥"),  # 派出所勤务指挥室: the same screen, the API scopes it
    "/m": ("phone.html", "移动警务"),  # the frontline unit's phone
    "/console/gov-desk": ("govdesk.html", "为民服务受理"),  # a station's desk for the citizens' requests (zhijing/public)
    "/console/procedure": ("procedure.html", "执法办案"),  # case procedure: states, time limits, documents, approvals
    "/console/property": ("property.html", "涉案财物"),  # seized property: intake, label, custody chain, return / disposal
    "/console/supervision": ("supervision.html", "执法监督"),  # 法制 / 督察 inbox of flags with their evidence
    "/console/force": ("force.html", "警队建设"),  # rosters, on duty, workload, training
}
# what each entry of the console's menu needs (the permission of the API its screen calls, and
# whether that API takes person data under a purpose; a list: any of them): the menu shows only what would answer
NAV = {
    "/search": ("search:read", True), "/persons": ("person:search", True), "/trajectory": ("trajectory:read", True),
    "/companions": ("companions:read", True), "/collision": ("collision:combine", True), "/compare": ("compare:combine", True),
    "/graph": ("graph:read", True), "/cases": ("case:list", False), "/exports": [("person:export", True), ("person:approve", True), ("oversight:read", False)], "/catalog": ("catalog:read", False),
    "/review": ("person:judge", True), "/audit": ("audit:read", False), "/risk": ("risk:read", False),
    "/console/command": ("dispatch:command", True), "/console/duty": ("dispatch:write", True), "/m": ("dispatch:unit", True),
    "/console/gov-desk": ("gov:read", True), "/sharing": ("sharing:list", False),
    "/console/procedure": ("force:read", False),
}  # fmt: skip
DEEP_LINKS = {  # a screen opened on one subject: the shell only, the script reads the id from the path
    "/persons/{key}": ("persons.html", "一人一档", r"^PM[0-9A-Z]{4,40}$"),
    "/cases/{key}": ("cases.html", "专案", r"^case:[A-Za-z0-9_-]{1,60}$"),
    "/console/procedure/{key}": ("procedure.html", "执法办案", r"^[A-Z]{2}[0-9]{6,30}$"),
}


def _page(template: str, title: str):
    def page(request: Request, _ctx=Depends(require("public:page", person_data=False))) -> HTMLResponse:
        return templates.TemplateResponse(request, template, {"title": title})

    return page


def _deep_link(template: str, title: str, pattern: str):
    """A shell opened on one subject; a key that cannot be one is a page saying so (404)."""
    shape = re.compile(pattern)

    def page(request: Request, key: str, _ctx=Depends(require("public:page", person_data=False))) -> HTMLResponse:
        if not shape.match(key):
            return _not_found(request, f"“{key[:60]}”不是有效的编号")
        return templates.TemplateResponse(request, template, {"title": title})

    return page


def _not_found(request: Request, why: str = "") -> HTMLResponse:
    """A console page (with the menu) for an address that names no page."""
    return templates.TemplateResponse(request, "notfound.html", {"title": "未找到", "why": why}, status_code=404)


def _allowed(user, permission: str, person_data: bool, kinds: list[str]) -> bool:
    """Would ``permission`` be granted to ``user`` under any purpose they hold (or, for
    routes without person data, under none)?"""
    resource, _, action = permission.partition(":")
    contexts = ([policy.Context(True, k, True, assigned=True) for k in kinds] if person_data
                else [policy.Context(True, "", True)])  # fmt: skip
    return any(policy.allowed(subject(user), f"{resource}:api", action, c) for c in contexts)


def nav(ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict[str, Any]:
    """The menu entries the caller's permissions open (the console hides the others)."""
    kinds = sorted({p["kind"] for p in open_purposes(get_settings(), ctx.user.username)})
    opens = {path: entry if isinstance(entry, list) else [entry] for path, entry in NAV.items()}  # any one of them
    return {"allowed": sorted(path for path, alts in opens.items() if any(_allowed(ctx.user, p, person, kinds) for p, person in alts))}


MASTERS = {"persons_master": "人员主档", "vehicles_master": "车辆主档", "phones_master": "手机号主档", "companies_master": "单位主档"}
MASTERS_EN = {"persons_master": "Person masters", "vehicles_master": "Vehicle masters", "phones_master": "Phone masters",
              "companies_master": "Company masters"}  # fmt: skip
# a field the catalog gives no title is named by its data element (in English always: the declarations title in Chinese)
ELEMENTS = {"name": "姓名", "citizen_id": "公民身份号码", "phone": "手机号", "plate": "号牌号码", "address": "地址", "district": "区县",
            "sex": "性别", "birth_date": "出生日期", "master_id": "人员编号", "vin": "车辆识别代号", "number": "号码",
            "uscc": "统一社会信用代码", "company_id": "单位编号", "vehicle_id": "车辆编号", "phone_id": "手机号编号",
            "record_id": "记录编号", "account_no": "账号", "amount": "金额", "company_name": "单位名称", "lat": "纬度", "lon": "经度", "lonlat": "经纬度",
            "name_pinyin": "姓名拼音", "division_code": "行政区划代码", "duration_s": "时长（秒）", "datetime": "时间", "date": "日期",
            "place_code": "地点编码", "code": "编码", "category": "类别", "count": "数量", "text": "内容",
            "place_kind": "地点类型", "station": "所属派出所"}  # fmt: skip
ELEMENTS_EN = {"name": "Name", "citizen_id": "Citizen ID", "phone": "Phone", "plate": "Plate", "address": "Address", "district": "District",
               "sex": "Sex", "birth_date": "Born", "master_id": "Person ID", "vin": "VIN", "number": "Number", "uscc": "USCC",
               "company_id": "Company ID", "vehicle_id": "Vehicle ID", "phone_id": "Phone ID", "record_id": "Record ID", "account_no": "Account",
               "amount": "Amount", "company_name": "Company", "lat": "Latitude", "lon": "Longitude", "lonlat": "Coordinates",
               "name_pinyin": "Name (pinyin)", "division_code": "Division code", "duration_s": "Duration (s)", "datetime": "Time", "date": "Date",
               "place_code": "Place code", "code": "Code", "category": "Category", "count": "Count", "text": "Text",
               "place_kind": "Kind of place", "station": "Police station", "mentions": "Mentions", "brand": "Brand", "operator": "Operator",
               "checkpoint_reads": "Checkpoint reads"}  # fmt: skip


def labels(_ctx=Depends(require("catalog:read", person_data=False))) -> dict[str, Any]:
    """The catalog's Chinese names of datasets and their fields and the model's types, for the console's displays
    (search rows, a person's sources, timelines) in place of the codes the data carries."""
    from zhijing.config import get_settings
    from zhijing.model import types as model_types
    from zhijing.sources.spec import load_spec

    spec = load_spec()
    refs = {r.name: r for r in spec.reference or []}
    places = {f"place:{p.kind}": refs[p.dataset] for p in spec.places if p.dataset in refs}  # the search's places by kind
    datasets = {**MASTERS, **{d.name: d.title for d in spec.datasets}, **{n: r.title for n, r in refs.items()},
                **{k: r.title for k, r in places.items()}}  # fmt: skip
    datasets_en = {**MASTERS_EN, **{d.name: d.title_en for d in spec.datasets if d.title_en},
                   **{n: r.title_en for n, r in {**refs, **places}.items() if r.title_en}}  # fmt: skip
    fields = {d.name: {f.name: t for f in d.fields if (t := f.title or ELEMENTS.get(f.element))} for d in spec.datasets}
    fields_en = {d.name: {f.name: ELEMENTS_EN[f.element] for f in d.fields if f.element in ELEMENTS_EN} for d in spec.datasets}
    common, common_en = dict(ELEMENTS), dict(ELEMENTS_EN)
    for named in fields.values():  # a field code known in any dataset reads the same elsewhere
        for code, title in named.items():
            common.setdefault(code, title)
            common.setdefault(code.lower(), title)
    for named in fields_en.values():
        for code, title in named.items():
            common_en.setdefault(code, title)
    model = model_types.load(get_settings())
    kinds = {**model.entities, **model.events}
    types = {n: e.label for n, e in kinds.items()}
    types_en = {n: e.label_en for n, e in kinds.items() if e.label_en}
    words_en = {e.label: e.label_en for e in kinds.values() if e.label_en}  # a label the API sends in Chinese, in English
    words_en |= {e.companion.label: e.companion.label_en for e in model.events.values() if e.companion and e.companion.label_en}
    return {"datasets": datasets, "fields": fields, "common": common, "types": types, "datasets_en": datasets_en, "fields_en": fields_en,
            "common_en": common_en, "types_en": types_en, "words_en": words_en}  # fmt: skip


async def _html_not_found(request: Request, exc: StarletteHTTPException) -> Response:
    """Unknown console addresses answer a page in Chinese with the menu; the API keeps JSON."""
    path = request.url.path
    if exc.status_code == 404 and not path.startswith(("/api/", "/static/")) and request.method == "GET":
        return _not_found(request)
    return await http_exception_handler(request, exc)


def favicon(_ctx=Depends(require("public:page", person_data=False))) -> FileResponse:
    return FileResponse(HERE / "static" / "favicon.ico", media_type="image/x-icon")


def register(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False, name="console:favicon")
    app.add_api_route("/api/console/labels", labels, methods=["GET"], include_in_schema=False, name="console:labels")
    app.add_api_route("/api/console/nav", nav, methods=["GET"], include_in_schema=False, name="console:nav")
    app.add_exception_handler(StarletteHTTPException, _html_not_found)
    for path, (template, title) in PAGES.items():
        app.add_api_route(path, _page(template, title), methods=["GET"], response_class=HTMLResponse,
                          include_in_schema=False, name=f"console:{template}")
    for path, (template, title, pattern) in DEEP_LINKS.items():
        app.add_api_route(path, _deep_link(template, title, pattern), methods=["GET"], response_class=HTMLResponse,
                          include_in_schema=False, name=f"console:{path}")
