/* 智警 console, shared helpers: pages are shells; all data comes from the guarded JSON API with
   the user's token and the purpose they chose (X-Purpose), so policy, masking and audit apply.
   Each screen is its own module (static/screens/NAME.js) registering zj.pages.NAME; page.js starts it. */
"use strict";
const zj = (() => {
  const EN = {
    "nav.overview": "Overview", "nav.catalog": "Catalog", "nav.persons": "Person file", "nav.audit": "Audit & oversight", "nav.review": "Review",
    "nav.search": "Search", "nav.trajectory": "Trajectory", "nav.companions": "Companions", "nav.collision": "Collision",
    "nav.compare": "Compare", "nav.graph": "Relations", "nav.cases": "Cases", "nav.menu": "Menu", "nav.exports": "Exports",
    "purpose.label": "Purpose", "logout": "Log out", "purpose.none": "— choose a purpose —",
    "login.notice": "Every query of personal data names its purpose and is written to a tamper-evident audit trail.",
    "login.user": "User", "login.password": "Password", "login.totp": "One-time code (if enabled)", "login.submit": "Log in",
    "login.failed": "Login failed",
    "state.loading": "Loading…", "state.empty": "Nothing found", "state.error": "Could not load",
    "state.scope": "Nothing found within your purpose and jurisdiction",
    "state.missing": "This analysis is not installed on this server yet",
    "toast.ok": "Done", "wb.mode": "How", "wb.pin": "Pin", "wb.place": "Place", "col.time": "Time", "col.dataset": "Dataset",
    "col.record_id": "Source record", "wb.subject": "Subject (person:ID / plate:plate / phone:number)", "wb.run": "Run",
    "search.start": "From", "search.end": "Until", "pin.nocase": "Choose a case as the purpose first (top right)", "pin.done": "Added to case",
    "nav.risk": "Risk alerts", "nav.command": "Command", "nav.duty": "Station duty room", "nav.phone": "Mobile", "persons.search": "Search", "notfound.title": "Page not found",
    "notfound.hint": "The address is wrong or the page does not exist; use the menu above.", "notfound.home": "Back to the overview",
    "nav.searchbox": "Search name / ID / phone / plate / case / address", "nav.group.analysis": "Analysis", "nav.group.command": "Command",
    "nav.group.governance": "Governance", "nav.group.oversight": "Oversight", "lang.switch": "中文",
  };
  EN["wb.subject"] = "Subject (citizen ID / mobile / plate / person ID)";
  // the API's refusal reasons (English, stable) as the Chinese interface shows them
  const REASONS = [
    [/^a purpose is required/, "须先在右上角选择用途（案件、工单、指令或应急）"],
    [/^purpose must be case:/, "用途格式应为 case:、ticket:、order: 或 emergency:"],
    [/^unknown purpose/, "未知的用途"],
    [/^the purpose is closed/, "该用途已关闭（案件已结）"],
    [/^the purpose has expired/, "该用途已过期"],
    [/^you are not assigned to this purpose/, "您未被指派到该用途"],
    [/^the purpose must be this case/, "用途须为当前案件"],
    [/^this person is outside your jurisdiction/, "该人员不在您的辖区内，且不在用途所列对象中"],
    [/^this person is not named by the purpose/, "该人员不在所选用途所列对象中，也不在该用途开放的范围内"],
    [/^not permitted/, "无此操作权限"],
    [/^login required/, "请先登录"],
    [/^wrong user or password/, "用户名或密码错误"],
    [/^too many failed logins/, "登录失败次数过多，请稍后再试"],
    [/^too many refused requests/, "被拒请求过多，请稍后再试"],
    [/^one-time code required/, "需要动态口令"],
    [/^wrong one-time code/, "动态口令错误"],
    [/must log in with a second factor/, "该账号须使用双因素登录，请联系管理员开通"],
    [/^no such case/, "无此案件"],
    [/^no such saved collision/, "该用途下没有这个已保存的碰撞"],
    [/not (built|ready)|build .* first|has not run/i, "该分析的数据尚未生成，请稍后再试"],
    [/^Not Found$/, "未找到"],
    [/^subject must be person:/, "对象应为公民身份号码、手机号、车牌号或人员编号（PM…），也可写 person:、plate:、phone: 前缀"],
    [/^no person holds this citizen ID/, "未找到持有该公民身份号码的人员"],
    [/^this subject has no relations/, "该对象在关系图中没有任何关联关系"],
    [/^subject not in the relationship graph/, "关系图中没有该对象（可输入身份证号、手机号、车牌或人员编号）"],
    [/^at most (\d+) ids in one subject/, (m) => `一个对象至多 ${m[1]} 个编号`],
    [/^unknown edge type/, "未知的关系类型"],
    [/^(end must be after start|the time window ends before it starts)/, "结束时间须晚于开始时间"],
    [/^type something to search for/, "请输入查询内容"],
    [/^state the reason for the export \(at least (\d+) characters\)/, (m) => `请填写导出理由（至少 ${m[1]} 个字）`],
    [/must be an ISO time/, "时间格式应为 2025-03-01T08:00"],
  ];
  const FIELD = { q: "查询内容", subject: "对象", a: "对象 A", b: "对象 B", limit: "条数", windows: "时空窗口", title: "标题",
    dt: "时间差（秒）", radius: "距离（米）", hops: "跳数", offset: "起始位置", k: "窗口数", reason: "导出理由" };
  let lang = localStorage.getItem("zj.lang") || "zh";
  const zh = {};
  function t(key, fallback) { return lang === "en" ? (EN[key] || fallback || key) : (zh[key] || fallback || key); }
  /** Screens add their English strings (the Chinese ones live in the templates or the calls). */
  function addEN(dict) { Object.assign(EN, dict); }
  function applyI18n() {
    document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      const k = el.dataset.i18n; if (!(k in zh)) zh[k] = el.textContent; el.textContent = t(k, zh[k]);
    });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      const k = el.dataset.i18nPlaceholder; if (!(k in zh)) zh[k] = el.placeholder; el.placeholder = t(k, zh[k]);
    });
    document.querySelectorAll("[data-zone]").forEach((el) => { el.textContent = zoneLabel(); el.title = zoneNote(); });
    const b = document.getElementById("lang"); if (b) b.textContent = lang === "en" ? "中文" : "EN";
  }

  /* Times: the API gives every time as ISO text with its offset; the console shows each in the
     deployment's zone (the page says which: <html data-zone-name …>), whatever the browser's
     zone, and never cuts the text (a UTC time cut would read 8 hours early). */
  const ZONE = document.documentElement.dataset.zoneName || "Asia/Shanghai";
  const zoneLabel = () => (lang === "en" ? document.documentElement.dataset.zoneLabelEn : document.documentElement.dataset.zoneLabel) || ZONE;
  const zoneNote = () => (lang === "en" ? `All times are ${zoneLabel()}` : `所有时间均为${zoneLabel()}`);
  const zoneTag = () => `<small class="zone" data-zone title="${esc(zoneNote())}">${esc(zoneLabel())}</small>`;
  const PARTS = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const ISO_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
  /** The wall time in the deployment's zone of an instant: {y, mo, d, h, mi, s} as strings. */
  function wall(date) {
    const p = Object.fromEntries(PARTS.formatToParts(date).map((x) => [x.type, x.value]));
    return { y: p.year, mo: p.month, d: p.day, h: p.hour, mi: p.minute, s: p.second };
  }
  /** The instant an API time names (null for text that is no time with an offset). */
  function instant(v) {
    const m = ISO_TIME.exec(String(v ?? "").trim());
    if (!m || !m[5]) return null;
    const d = new Date(String(v).trim().replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2").replace(/([+-]\d{2})$/, "$1:00"));
    return isNaN(d) ? null : d;
  }
  /** An API time as the deployment's wall time, "2025-03-04 03:00:00"; text that names no instant as written. */
  function time(v) {
    const d = instant(v);
    if (!d) return String(v ?? "").replace(/^(\d{4}-\d{2}-\d{2})T/, "$1 ");
    const w = wall(d);
    return `${w.y}-${w.mo}-${w.d} ${w.h}:${w.mi}:${w.s}`;
  }
  /** The calendar day of an API time in the deployment's zone (a date stays the date it is). */
  const day = (v) => (instant(v) ? time(v).slice(0, 10) : String(v ?? "").slice(0, 10));
  /** A value of a record as shown: a time in the deployment's zone, anything else as it is. */
  const value = (v) => (typeof v === "string" && instant(v) ? time(v) : v);
  /** An API time as a chart's x value: the zone's wall time as if it were UTC, for charts made
      with useUTC (chart() below), so axis labels read the deployment's time in any browser. */
  function chartTime(v) {
    const d = instant(v);
    if (!d) return v;
    const w = wall(d);
    return Date.UTC(+w.y, +w.mo - 1, +w.d, +w.h, +w.mi, +w.s);
  }

  /** One line a person can read from an error body: a refusal reason or FastAPI's 422 list. */
  function reason(body, status) {
    const d = body && body.detail;
    if (Array.isArray(d)) {  // validation: [{loc, msg, type, ctx}]
      return d.map((e) => {
        const field = (e.loc || []).slice(-1)[0];
        if (lang === "en") return `${field}: ${e.msg}`;
        const name = FIELD[field] || field;
        if (e.type === "string_too_short") return `${name}至少 ${e.ctx?.min_length ?? ""} 个字符`;
        if (e.type === "string_too_long") return `${name}至多 ${e.ctx?.max_length ?? ""} 个字符`;
        if (e.type === "missing") return `缺少${name}`;
        if (e.type === "less_than_equal") return `${name}不能大于 ${e.ctx?.le ?? ""}`;
        if (e.type === "greater_than_equal") return `${name}不能小于 ${e.ctx?.ge ?? ""}`;
        if (e.type === "less_than") return `${name}须小于 ${e.ctx?.lt ?? ""}`;
        if (e.type === "greater_than") return `${name}须大于 ${e.ctx?.gt ?? ""}`;
        if (/^(int|float)_(parsing|type)/.test(e.type || "")) return `${name}须为数字`;
        return `${name}无效：${e.msg}`;
      }).join("；");
    }
    const text = typeof d === "string" ? d : (d && d.message) || "";
    if (!text) return lang === "en" ? `request failed (${status})` : `请求失败（${status}）`;
    if (lang === "en") return text;
    const hit = REASONS.find(([re]) => re.test(text));
    return !hit ? text : typeof hit[1] === "function" ? hit[1](text.match(hit[0])) : hit[1];
  }

  const purpose = () => zjSession.purpose();  // session.js: the tab's purpose, the session's tokens
  let toastTimer = null;
  function toast(msg, kind = "error") {
    const el = document.getElementById("toast"); if (!el) return;
    el.textContent = msg; el.className = kind; el.hidden = false;
    clearTimeout(toastTimer); toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
  }
  async function api(path, opts = {}) {  // JSON with the token and purpose; refusals shown, then thrown
    const res = await request(path, opts);
    return res.headers.get("content-type")?.includes("json") ? res.json() : res.text();
  }
  async function request(path, opts = {}) {
    const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; opts = { ...opts, body: JSON.stringify(opts.json) }; }
    const tok = await zjSession.token();
    if (tok) headers.Authorization = "Bearer " + tok;
    if (purpose() && !headers["X-Purpose"]) headers["X-Purpose"] = purpose();
    let res = await fetch(path, Object.assign({}, opts, { headers }));
    if (res.status === 401 && tok) {  // expired meanwhile (a sleeping laptop): renewed once, else the session is over
      const again = await zjSession.renew(tok);
      if (again) { headers.Authorization = "Bearer " + again; res = await fetch(path, Object.assign({}, opts, { headers })); }
      if (res.status === 401) { toLogin(); throw Object.assign(new Error("401"), { status: 401, shown: true }); }
    }
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      const msg = reason(body, res.status);
      if (!opts.quiet) toast(msg);
      throw Object.assign(new Error(msg), { shown: !opts.quiet, status: res.status, detail: typeof body.detail === "string" ? body.detail : "" });
    }
    return res;
  }
  function toLogin() {
    zjSession.clear();
    const here = location.pathname + location.search;
    location.href = "/login?next=" + encodeURIComponent(here);
  }
  /** Is a route served here (another branch's analysis may not be merged yet)? */
  async function served(path) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + await zjSession.token() } }).catch(() => null);
    return !!res && res.status !== 404 && res.status !== 405;
  }
  async function download(path, filename) {
    const res = await request(path);
    const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(await res.blob()), download: filename });
    a.click(); URL.revokeObjectURL(a.href);
  }
  // a refusal the API explained is already on screen (toast); only unexpected failures stay errors
  window.addEventListener("unhandledrejection", (ev) => { if (ev.reason && (ev.reason.shown || ev.reason.status)) ev.preventDefault(); });
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  /** An ECharts instance in the interface's language (months, axis labels). */
  const chart = (id) => {
    const el = typeof id === "string" ? document.getElementById(id) : id;
    if (!window.echarts || !el) return null;
    echarts.getInstanceByDom(el)?.dispose();
    const c = echarts.init(el, null, { locale: lang === "en" ? "EN" : "ZH" });
    c.setOption({ useUTC: true });  // time values come as chartTime(): the deployment's wall time
    return c;
  };

  /** A table with headers: cols are [i18n key, 中文 label, field name or (item) => html]. */
  function table(target, cols, items, opts = {}) {
    const el = typeof target === "string" ? document.querySelector(target) : target;
    const head = `<thead><tr>${cols.map(([k, label, , kind]) =>
      `<th><span data-i18n="${esc(k)}">${esc(t(k, label))}</span>${kind === "time" ? " " + zoneTag() : ""}</th>`).join("")}</tr></thead>`;
    if (!items.length) {
      el.innerHTML = `${head}<tbody><tr class="empty"><td colspan="${cols.length}">${esc(opts.empty || t("state.empty", "未查到结果"))}</td></tr></tbody>`;
      return el;
    }
    el.innerHTML = head + "<tbody>" + items.map((it, i) => `<tr data-i="${i}" class="${opts.onClick ? "click" : ""}">` +
      cols.map(([, , c]) => `<td>${typeof c === "function" ? c(it) : esc(it[c])}</td>`).join("") + "</tr>").join("") + "</tbody>";
    if (opts.onClick) el.querySelectorAll("tbody tr").forEach((tr) => tr.addEventListener("click", (ev) => {
      if (!ev.target.closest("a, button, input")) opts.onClick(items[+tr.dataset.i], tr);
    }));
    return el;
  }
  /** A table column of times (its header names the zone): [i18n key, 中文 label, item => the API time]. */
  const timeCol = (key, label, get) => [key, label, (it) => esc(time(get(it))), "time"];
  /** Rows only, into an existing <tbody> (the older screens' helper; new screens use table()). */
  function rows(tbody, items, cols, onClick) {
    const el = typeof tbody === "string" ? document.querySelector(tbody) : tbody;
    el.innerHTML = items.map((it, i) => `<tr data-i="${i}" class="${onClick ? "click" : ""}">` +
      cols.map((c) => `<td>${typeof c === "function" ? c(it) : esc(it[c])}</td>`).join("") + "</tr>").join("");
    if (onClick) el.querySelectorAll("tr").forEach((tr) => tr.addEventListener("click", () => onClick(items[+tr.dataset.i])));
  }
  /** Shows a loading line in a table or box while ``promise`` runs; an error leaves its reason there. */
  async function loading(target, promise) {
    const el = typeof target === "string" ? document.querySelector(target) : target;
    const tag = el.tagName === "TABLE" ? "tbody" : "div";
    el.innerHTML = tag === "tbody" ? `<tbody><tr class="loading"><td>${esc(t("state.loading", "加载中…"))}</td></tr></tbody>`
      : `<div class="loading">${esc(t("state.loading", "加载中…"))}</div>`;
    try { return await promise; } catch (e) {
      el.innerHTML = `<${tag} class="failed"><${tag === "tbody" ? "tr><td" : "p"}>${esc(e.message)}</${tag === "tbody" ? "td></tr" : "p"}></${tag}>`;
      throw e;
    }
  }
  const kept = {};
  /** What the officer may do under the tab's purpose ({name: bool}, GET /api/me/capabilities: the
      policy's own answer), so a screen shows only the links and buttons that would answer. */
  async function may() {
    const p = purpose();
    if (!kept[p]) kept[p] = api("/api/me/capabilities", { quiet: true }).catch(() => null);
    const c = await kept[p];
    return c ? c.may : {};
  }
  /** Keeps something in the case the purpose names (专案): a subject, a pinned result, a note. */
  async function pin(kind, title, payload) {
    if (!purpose().startsWith("case:")) { toast(t("pin.nocase", "请先在右上角选择一个案件作为用途")); return null; }
    const out = await api(`/api/cases/${encodeURIComponent(purpose())}/items`, { method: "POST", json: { kind, title: String(title).slice(0, 256), payload } });
    toast(`${t("pin.done", "已加入专案")} ${purpose()}`, "ok");
    return out;
  }
  /** The workbench screens' common parts: point/evidence columns, and a clear word when the
      analysis is not served here (its branch not merged, or its data not built). */
  const mode = (m) => (lang === "en" ? en(LABELS.types_en, m) || m || "" : (LABELS.types || {})[m] || m || "");  // the model's types (types.yaml)
  const pinButton = (i) => `<button type="button" class="secondary" data-pin="${esc(i)}">${esc(t("wb.pin", "钉选"))}</button>`;
  const pointCols = (extra = []) => [
    timeCol("col.time", "时间", (p) => p.ts), ["wb.mode", "方式", (p) => esc(p.mode ? mode(p.mode) : p.kind || "")],
    ["wb.place", "地点", (p) => esc(p.place_name || p.place_id || "")], ["col.dataset", "数据集", (p) => esc(dsName(p.dataset))],
    ["col.record_id", "来源记录", "record_id"], ...extra];
  /** A 404 of a route this server does not serve (not a refusal naming a subject). */
  const missing = (e) => e.status === 404 && (!e.detail || e.detail === "Not Found");
  async function analysis(target, path, opts = {}) {
    try { return await loading(target, api(path, { ...opts, quiet: true })); } catch (e) {
      const el = document.querySelector(target);
      const msg = missing(e) ? t("state.missing", "本服务器尚未提供该分析") : e.message;
      el.innerHTML = `<tbody><tr class="empty"><td>${esc(msg)}</td></tr></tbody>`;
      toast(msg); return null;
    }
  }
  /** A subject form: fills from ?subject=…, runs on submit and keeps the URL shareable. */
  function subjectForm(id, run) {
    const form = document.getElementById(id);
    const go = () => {
      const fd = Object.fromEntries(new FormData(form));
      history.replaceState(null, "", `${location.pathname}?${new URLSearchParams(Object.entries(fd).filter(([, v]) => v))}`);
      run(fd);
    };
    form.addEventListener("submit", (ev) => { ev.preventDefault(); go(); });
    rerun(() => { if (form.elements[0].value) go(); });
    const params = new URLSearchParams(location.search);
    [...form.elements].forEach((el) => { if (el.name && params.get(el.name)) el.value = params.get(el.name); });
    if (form.elements[0].value) go();
  }
  const qs = (name) => new URLSearchParams(location.search).get(name) || "";

  /** The current screen's request, run again when the officer chooses another purpose. */
  let again = null;
  function rerun(fn) { again = fn; }

  /** The catalog's Chinese names of datasets and fields (loaded once a session by chrome()). */
  let LABELS = { datasets: {}, fields: {}, common: {}, types: {} };
  async function loadLabels() {
    const kept = sessionStorage.getItem("zj.labels");
    if (kept) { try { LABELS = JSON.parse(kept); return; } catch (e) { /* fetch again */ } }
    const got = await api("/api/console/labels", { quiet: true }).catch(() => null);
    if (got) { LABELS = got; sessionStorage.setItem("zj.labels", JSON.stringify(got)); }
  }
  /* Data labels in both languages: datasets by their catalog titles (the declarations' title / title_en), fields by
     their titles or, in English, by their data element; kinds of entity and relation by the tables below. */
  const en = (map, code) => (map || {})[code];
  const dsName = (code) => (lang === "en" ? en(LABELS.datasets_en, code) || code || "" : LABELS.datasets[code] || code || "");
  const fieldName = (ds, f) => (lang === "en" ? en(LABELS.fields_en?.[ds], f) || en(LABELS.common_en, f) || f
    : (LABELS.fields[ds] || {})[f] || LABELS.common[f] || LABELS.common[String(f).toLowerCase()] || f);
  const KIND_NAMES = { person: ["人员", "Person"], phone: ["手机", "Phone"], vehicle: ["车辆", "Vehicle"], plate: ["车辆", "Vehicle"],
    account: ["账户", "Account"], company: ["单位", "Company"], household: ["户", "Household"], case: ["案件", "Case"],
    incident: ["警情", "Incident"], place: ["地点", "Place"], record: ["记录", "Record"] };
  const REL_NAMES = { household: ["同户", "Same household"], co_lodging: ["同住", "Co-lodging"], co_travel: ["同行", "Co-travel"],
    co_netbar: ["同上网", "Same internet café"], co_case: ["同案", "Same case"], call: ["通话", "Call"], transfer: ["转账", "Transfer"],
    holds: ["持有", "Holds"], uses: ["使用", "Uses"], owns: ["车主", "Owns"], drives: ["驾驶", "Drives"], company_role: ["任职", "Company role"],
    same_place: ["同地点", "Same place"], nearby: ["邻近", "Nearby"], same_stay: ["同住", "Co-lodging"] };
  /** A label the API sends in Chinese (a companion's 同住, a model type's 警情) in the interface's language. */
  const label = (zh) => (lang === "en" ? en(LABELS.words_en, zh) || zh || "" : zh || "");
  const pick = (table, k) => (table[k] ? table[k][lang === "en" ? 1 : 0] : k || "");
  const kindName = (k) => pick(KIND_NAMES, k);
  const relName = (k) => pick(REL_NAMES, k);
  /** A record's uid (dataset|record id) in words: the dataset's title and the record's number, never the raw code. */
  const recordTitle = (uid) => {
    const [ds, ...rest] = String(uid || "").split("|");
    return rest.length ? `${dsName(ds)} ${rest.join("|")}` : dsName(ds);
  };
  /** A search group's title: a person's name, a place's name, a record's dataset title and number. */
  const groupTitle = (g) => {
    const f = (g.hits && g.hits[0] && g.hits[0].fields) || {};
    if (g.kind === "person") return (g.entity && g.entity.name) || g.id;
    if (g.kind === "place") return f.name || g.id;
    if (["incident", "case", "record"].includes(g.kind)) return recordTitle(g.id);
    return g.id;
  };
  /** A time axis that stays legible on a phone: fewer, shorter, non-overlapping labels. */
  function timeAxis(el) {
    const box = typeof el === "string" ? document.getElementById(el) : el;
    const narrow = (box?.clientWidth || window.innerWidth) < 600;
    return { type: "time", splitNumber: narrow ? 3 : 6,
      axisLabel: { hideOverlap: true, rotate: narrow ? 30 : 0, fontSize: narrow ? 10 : 12,
        formatter: narrow ? (v) => { const d = new Date(v); return `${String(d.getUTCFullYear()).slice(2)}/${d.getUTCMonth() + 1}`; } : undefined } };
  }

  async function chrome() {
    applyI18n();
    document.getElementById("lang")?.addEventListener("click", () => {
      lang = lang === "en" ? "zh" : "en"; localStorage.setItem("zj.lang", lang); location.reload();
    });
    /* The header's one search box (no name: a screen's own field q stays the only one): Enter opens 云搜索 on it. */
    document.getElementById("header-search")?.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = document.getElementById("header-q").value.trim();
      if (q) location.href = `/search?${new URLSearchParams({ q })}`;
    });
    const menu = document.getElementById("menu");
    const groups = [...document.querySelectorAll("header.top nav details.navgroup")];
    menu?.addEventListener("click", () => {  // a phone: the menu opens with every group unfolded
      const open = document.querySelector("header.top").classList.toggle("open");
      groups.forEach((d) => { d.open = open; });
    });
    groups.forEach((d) => d.addEventListener("toggle", () => {  // one group open at a time (on a wide screen)
      if (d.open && !document.querySelector("header.top.open")) groups.forEach((o) => { if (o !== d) o.open = false; });
    }));
    document.addEventListener("click", (ev) => {
      if (!ev.target.closest("header.top nav") && !document.querySelector("header.top.open")) groups.forEach((d) => { d.open = false; });
    });
    if (location.pathname === "/login") return null;
    if (!zjSession.signedIn()) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return null; }
    document.getElementById("logout")?.addEventListener("click", async () => {  // ends the session: every tab leaves
      const body = new URLSearchParams({ refresh_token: localStorage.getItem("zj.refresh") || "" });
      const tok = localStorage.getItem("zj.token");
      await fetch("/api/auth/logout", { method: "POST", body, headers: tok ? { Authorization: "Bearer " + tok } : {} }).catch(() => null);
      zjSession.clear(); location.href = "/login";
    });
    const me = await api("/api/me");
    const who = document.getElementById("who");
    who.textContent = `${me.name || me.username} · ${me.unit_name || me.unit || ""}`;
    who.title = `${me.username} · ${me.unit || ""} · ${me.department || ""}`;
    document.querySelectorAll("nav [data-role]").forEach((a) => { a.hidden = !(me.roles || []).includes(a.dataset.role); });
    const sel = document.getElementById("purpose");
    const purposes = me.purposes || [];
    sel.innerHTML = `<option value="">${esc(t("purpose.none", "— 选择用途 —"))}</option>` +
      purposes.map((p) => `<option value="${esc(p.value)}">${esc(p.label)}</option>`).join("");
    sel.value = purpose();
    if (purpose() && !purposes.some((p) => p.value === purpose())) {  // a link's purpose this officer does not hold
      sel.insertAdjacentHTML("beforeend", `<option value="${esc(purpose())}">${esc(purpose())}</option>`);
    }
    sel.addEventListener("change", () => {  // the screen's request again, under the purpose now chosen
      zjSession.choose(sel.value);
      const el = document.getElementById("toast"); if (el) el.hidden = true;
      if (again) again();
    });
    const nav = await api("/api/console/nav", { quiet: true }).catch(() => null);
    if (nav && Array.isArray(nav.allowed)) {  // the menu shows what the user's permissions open
      const open = new Set(nav.allowed);
      document.querySelectorAll("header.top nav a").forEach((a) => {
        const path = a.getAttribute("href"); if (path !== "/" && !open.has(path)) a.hidden = true;
      });
    }
    groups.forEach((d) => { d.hidden = ![...d.querySelectorAll("a")].some((a) => !a.hidden); });  // a group with nothing open is not shown
    await loadLabels();
    return me;
  }

  const pages = {
    async notfound() { await chrome(); },
    login() {
      applyI18n();
      document.getElementById("lang")?.addEventListener("click", () => {
        lang = lang === "en" ? "zh" : "en"; localStorage.setItem("zj.lang", lang); applyI18n();
      });
      document.getElementById("login-form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const form = new URLSearchParams(new FormData(ev.target)); form.set("grant_type", "password");
        const res = await fetch("/api/auth/token", { method: "POST", body: form });
        const body = await res.json().catch(() => ({}));
        if (!res.ok) { document.getElementById("login-error").textContent = reason(body, res.status) || t("login.failed", "登录失败"); return; }
        const next = qs("next") || "/";  // only a path of this site
        zjSession.clear(); zjSession.store(body); location.href = /^\/(?![\/\\])/.test(next) ? next : "/";
      });
    },
  };
  return { api, request, served, may, download, pages, t, addEN, applyI18n, reason, chrome, table, rows, loading, chart, esc, toast,
           purpose, pin, time, day, value, chartTime, timeCol, zoneTag, qs, lang: () => lang, pointCols, analysis, subjectForm, mode, pinButton,
           rerun, dsName, fieldName, kindName, relName, label, recordTitle, groupTitle, timeAxis, missing };
})();
