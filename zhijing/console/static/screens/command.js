/* 指挥调度 (市局指挥中心) and 勤务指挥 (派出所勤务指挥室): one screen, two tiers — the API scopes the
   duty room to its station's jurisdiction, as it does persons. Live incidents by priority, units
   moving, the heat of past calls, watch hits; the selected incident's card (narrative, category,
   plan, duplicates, recommended units by travel time beside straight line, 派警 / 上报 / 结案); the
   KPI strip (90th percentiles against their targets) and calls per hour. Everything follows the
   stream (/api/command/stream); a dropped connection resumes where it stopped. */
"use strict";
zj.addEN({ "cmd.title": "City command centre", "cmd.duty.title": "Station duty room",
  "cmd.duty.note": "Only this station's jurisdiction: its incidents and units (the same need-to-know as persons).",
  "cmd.map": "Incidents and units", "cmd.heat": "Heat of past calls", "cmd.open": "Open incidents", "cmd.leg.unit": "Units (green: available, orange: busy)",
  "cmd.leg.hit": "Watch hit", "cmd.perhour": "Calls per hour", "cmd.hits": "Watch hits", "cmd.intake": "Take a call",
  "cmd.in.narrative": "What the caller says", "cmd.in.address": "Address (optional)", "cmd.in.phone": "Caller's number (optional)", "cmd.in.submit": "Take",
  "cmd.none.city": "No open incidents in the city: new calls appear here as they arrive",
  "cmd.none.station": "No open incidents in this station's jurisdiction: new calls appear here as they arrive",
  "cmd.none.hits": "No watch hits: a new record of a watched person, plate or phone shows here",
  "cmd.none.recs": "No unit to recommend: every unit nearby is busy, off duty, or has not reported its position for minutes",
  "cmd.none.asg": "Not dispatched yet", "cmd.none.plan": "No contingency plan is linked to this type and grade",
  "cmd.none.kpi": "No response times yet: they appear once units have been dispatched and arrived",
  "cmd.none.hours": "No calls in the last 24 hours",
  "cmd.f.received": "Received", "cmd.f.phone": "Caller", "cmd.f.address": "Address", "cmd.f.located": "Located", "cmd.f.flag": "Needs a person",
  "cmd.f.category": "Category", "cmd.f.confidence": "Confidence", "cmd.f.station": "Jurisdiction", "cmd.f.tier": "Commanded by",
  "cmd.f.dups": "Duplicate calls", "cmd.f.parent": "Duplicate of", "cmd.plan": "Contingency plan", "cmd.recs": "Recommended units",
  "cmd.r.unit": "Unit", "cmd.r.kind": "Kind", "cmd.r.travel": "Travel (road)", "cmd.r.straight": "Straight line", "cmd.r.srank": "Straight-line rank",
  "cmd.r.status": "Status", "cmd.assign": "Dispatch", "cmd.asg": "Dispatch record", "cmd.a.unit": "Unit", "cmd.a.state": "State",
  "cmd.a.dispatched": "Dispatched", "cmd.a.en_route": "En route", "cmd.a.on_scene": "On scene", "cmd.a.cleared": "Cleared",
  "cmd.a.feedback": "Feedback", "cmd.escalate": "Escalate", "cmd.close": "Close", "cmd.assigned": "Dispatched: {u}",
  "cmd.conflict": "Another dispatcher took this unit first: choose another", "cmd.escalated": "Escalated", "cmd.closed": "Closed",
  "cmd.taken": "Call taken: {id}", "cmd.k.open": "Open", "cmd.k.waiting": "Awaiting dispatch", "cmd.k.units": "Units available",
  "cmd.k.call_processing": "Call processing", "cmd.k.turnout": "Turnout", "cmd.k.travel": "Travel", "cmd.k.total_response": "Total response",
  "cmd.k.target": "target", "cmd.k.n": "n", "cmd.hit.dispatch": "Dispatch to intercept", "cmd.photo": "Photo", "cmd.by": "by", "cmd.add": "Send also", "cmd.reassign": "Reassign", "cmd.cancel": "Withdraw",
  "cmd.cancelled": "Withdrawn: the unit is available again", "cmd.offroster": "not on the roster (never recommended)",
  "w.title": "Watchlist", "w.note": "A watch states its reason and expiry and takes effect once another officer with the approver role approves it; hits and actions are logged.",
  "w.kind": "Kind", "w.k.plate": "Plate", "w.k.person": "Person (person ID)", "w.k.phone": "Mobile", "w.value": "Watched", "w.reason": "Reason",
  "w.expires": "Expires", "w.approver": "Approver (username)", "w.submit": "Submit for approval", "w.state": "State", "w.who": "Placed / approved by",
  "w.approve": "Approve", "w.revoke": "Revoke", "w.none": "No watches: fill in the form above; it takes effect once approved",
  "w.approved": "Approved: the watch is active", "w.revoked": "Revoked", "w.placed": "Submitted, awaiting {a}'s approval" });
zj.pages.command = async () => {
  const me = await zj.chrome();
  if (!me) return;
  const { t, esc, api, cad } = zj;
  const tier = document.getElementById("cmd").dataset.tier;
  cad.dutyPurpose(me);
  const KPI = { call_processing: "接警处理", turnout: "出动准备", travel: "途中行驶", total_response: "总响应" };
  const list = (r, ...keys) => (Array.isArray(r) ? r : keys.map((k) => r?.[k]).find(Array.isArray) || []);
  const S = { incidents: new Map(), units: new Map(), incMarks: new Map(), unitMarks: new Map(), hitMarks: [], selected: null, detail: null };
  zj.command = S;  // for the browser tests

  let map = null, layers = null;  // the map draws when its reference layers arrive; the lists and the stream do not wait
  const mapped = zj.map.create("map").then((m) => {
    if (!m) return;
    map = m;
    layers = { heat: L.layerGroup().addTo(map), inc: L.layerGroup().addTo(map), units: L.layerGroup().addTo(map),
      hits: L.layerGroup().addTo(map), focus: L.layerGroup().addTo(map) };
    drawIncidents(); S.units.forEach(placeUnit); fit(); hits.forEach(hitMark);
    if (S.detail) focus(S.detail);
    return heat();
  });

  async function heat() {  // the city's past calls by cell: where trouble usually is
    if (!layers) return;
    const inc = await api("/api/geo/incidents", { quiet: true }).catch(() => null);
    if (!inc?.cells?.length) return;
    const peak = Math.max(1, ...inc.cells.map((c) => c[2]));
    inc.cells.forEach(([lon, lat, n]) => L.circleMarker([lat, lon], { radius: 4 + 9 * Math.sqrt(n / peak), stroke: false,
      fillColor: "#f03b20", fillOpacity: 0.06 + 0.22 * (n / peak), interactive: false }).addTo(layers.heat));
  }
  document.getElementById("heat-on").addEventListener("change", (ev) => {
    if (!map) return;
    if (ev.target.checked) layers.heat.addTo(map); else layers.heat.remove();
  });

  /* incidents: the side list and the map */
  const order = (a, b) => (a.state === "received" ? 0 : 1) - (b.state === "received" ? 0 : 1) || (a.priority || 3) - (b.priority || 3) ||
    String(b.received_at).localeCompare(String(a.received_at));
  function drawIncidents() {
    const items = [...S.incidents.values()].sort(order);
    document.getElementById("open-count").textContent = items.length;
    const box = document.getElementById("incidents");
    box.innerHTML = items.length ? items.map((i) => `<li data-id="${esc(i.id)}" class="inc${i.id === S.selected ? " sel" : ""}${i.state === "received" ? " waiting" : ""}">
      ${cad.badge(i.priority)} <b>${esc(i.category || "—")}</b> <span class="st">${esc(cad.state(i.state))}</span>
      <div class="addr">${esc(i.address || (i.lon != null ? `${(+i.lon).toFixed(4)}, ${(+i.lat).toFixed(4)}` : cad.located("none")))}</div>
      <div class="muted small">${esc(zj.time(i.received_at))} · ${esc(i.id)}${i.flag ? ` · <span class="bad">${esc(cad.flag(i.flag))}</span>` : ""}</div></li>`).join("")
      : `<li class="empty">${esc(tier === "station" ? t("cmd.none.station", "本所辖区当前没有未结警情，新警情到达时自动出现在这里")
        : t("cmd.none.city", "全市当前没有未结警情，新警情到达时自动出现在这里"))}</li>`;
    box.querySelectorAll("li[data-id]").forEach((li) => li.addEventListener("click", () => open(li.dataset.id)));
    if (!layers) return;
    for (const [id, mk] of S.incMarks) if (!S.incidents.has(id)) { mk.remove(); S.incMarks.delete(id); }
    for (const i of items) {
      if (i.lat == null || i.lon == null) continue;
      let mk = S.incMarks.get(i.id);
      const style = { radius: i.id === S.selected ? 11 : 8, color: i.id === S.selected ? "#111" : "#fff", weight: 2,
        fillColor: cad.color(i.priority), fillOpacity: 0.9 };
      if (!mk) {
        mk = L.circleMarker([i.lat, i.lon], style).addTo(layers.inc).on("click", () => open(i.id));
        S.incMarks.set(i.id, mk);
      } else mk.setLatLng([i.lat, i.lon]).setStyle(style);
      mk.bindTooltip(`${esc(i.category || "")} · ${esc(cad.state(i.state))}<br>${esc(i.address || "")}`);
    }
  }
  async function loadIncidents() {
    const r = await api("/api/command/incidents?open=1", { quiet: true }).catch((e) => { failed("#incidents", e); return null; });
    if (!r) return;
    S.incidents = new Map(list(r, "items", "incidents").map((i) => [i.id, i]));
    drawIncidents(); counts();
  }
  function failed(sel, e) {
    const msg = zj.missing(e) ? t("state.missing", "本服务器尚未提供该功能") : e.message;
    document.querySelector(sel).innerHTML = `<li class="empty">${esc(msg)}</li>`;
  }

  /* units */
  function placeUnit(u) {
    if (!layers || u.lat == null || u.lon == null) return;
    let mk = S.unitMarks.get(u.id);
    const busy = u.status !== "available" && u.status !== "off";
    const style = { radius: busy ? 7 : 5, color: busy ? "#111" : "#fff", weight: busy ? 2 : 1.5, fillColor: u.on_duty === false ? cad.unitColor("off") : cad.unitColor(u.status), fillOpacity: 1 };  // off the roster: grey
    if (!mk) { mk = L.circleMarker([u.lat, u.lon], style).addTo(layers.units); S.unitMarks.set(u.id, mk); } else mk.setLatLng([u.lat, u.lon]).setStyle(style);
    if (busy) mk.bringToFront();
    mk.bindTooltip(`${esc(cad.unitName(u))} · ${esc(cad.kind(u.kind))} · ${esc(cad.unitStatus(u.status))}` +
      (u.on_duty === false ? ` · ${esc(t("cmd.offroster", "未排班（不推荐）"))}` : u.crew?.length ? ` · ${esc(u.crew.join("、"))}` : ""));
  }
  async function loadUnits() {
    const r = await api("/api/command/units", { quiet: true }).catch(() => null);
    if (!r) return;
    S.units = new Map(list(r, "items", "units").map((u) => [u.id, u]));
    for (const [id, mk] of S.unitMarks) if (!S.units.has(id)) { mk.remove(); S.unitMarks.delete(id); }
    S.units.forEach(placeUnit); counts(); fit();
  }
  async function fit() {  // the duty room looks at its own jurisdiction (its station's outline; else where its units are)
    if (tier !== "station" || S.fitted || !map || !S.units.size) return;
    S.fitted = true;
    const codes = new Set([...S.units.values()].map((u) => u.station));
    const refs = await zj.map.reference();
    const own = (refs.find(([, , path]) => path.endsWith("stations"))?.[0]?.features || []).filter((f) => codes.has(f.properties?.code));
    const outline = own.length ? L.geoJSON({ type: "FeatureCollection", features: own }, { style: { color: "#c8102e", weight: 2.5, fill: false },
      interactive: false }).addTo(map) : null;
    const box = outline ? outline.getBounds()
      : L.latLngBounds([...S.unitMarks.values()].map((m) => m.getLatLng())).pad(0.6);
    if (box.isValid()) map.fitBounds(box, { maxZoom: 15, animate: false });
  }

  /* the KPI strip: live counts, then the response-time 90th percentiles against their targets */
  let kpi = null;
  function counts() {
    const inc = [...S.incidents.values()], units = [...S.units.values()];
    const cell = (k, zh, v, cls = "") => `<div class="kpi ${cls}" data-kpi="${esc(k)}"><span class="k" data-i18n="cmd.k.${esc(k)}">${esc(t(`cmd.k.${k}`, zh))}</span><b>${esc(v)}</b></div>`;
    const live = cell("open", "未结警情", inc.length) + cell("waiting", "待派警", inc.filter((i) => i.state === "received").length,
      inc.some((i) => i.state === "received" && i.priority === 1) ? "bad" : "") +
      cell("units", "空闲警力", `${units.filter((u) => u.status === "available" && u.on_duty !== false).length} / ${units.length}`);
    const metrics = kpiRows(kpi);
    const rt = metrics.length ? metrics.map((m) => {
      const over = m.target_s != null && m.p90 != null && m.p90 > m.target_s;
      return `<div class="kpi ${m.p90 == null ? "" : over ? "bad" : "ok"}" data-kpi="${esc(m.name)}" data-n="${esc(m.n ?? 0)}">
        <span class="k">${esc(zj.lang() === "en" ? t(`cmd.k.${m.name}`, m.name) : KPI[m.name] || m.label || m.name)} P90</span>
        <b>${esc(cad.mmss(m.p90))}</b><small>${esc(t("cmd.k.target", "目标"))} ${esc(cad.mmss(m.target_s))} · P50 ${esc(cad.mmss(m.p50))} · P95 ${esc(cad.mmss(m.p95))} · ${esc(t("cmd.k.n", "样本"))} ${esc(m.n ?? 0)}</small></div>`;
    }).join("") : `<div class="kpi empty">${esc(t("cmd.none.kpi", "暂无响应时间：派警并到场后在此显示"))}</div>`;
    document.getElementById("kpis").innerHTML = live + rt;
  }
  /** The headline metrics, whatever shape the KPI answer has: [{name, p50, p90, p95, target_s, n}]. */
  function kpiRows(k) {
    if (!k) return [];
    const rows = Array.isArray(k.rows) ? k.rows.filter((r) => (r.by || "all") === "all") : k.headline || k.overall || k.metrics || [];
    const out = Array.isArray(rows) ? rows : Object.entries(rows).map(([name, v]) => ({ name, ...v }));
    return out.map((m) => ({ ...m, name: m.name || m.metric, target_s: m.target_s ?? m.target ?? k.targets?.[m.name || m.metric] }))
      .filter((m) => m.name);
  }
  async function loadKpi() {
    const [k, all] = await Promise.all([api("/api/command/kpi", { quiet: true }).catch(() => null),
      api("/api/command/incidents?open=0", { quiet: true }).catch(() => null)]);
    kpi = k;
    counts(); perHour(list(all, "items", "incidents"));
  }
  /** Calls per hour in the deployment's zone (duplicates counted: each is a call). */
  function perHour(all) {
    const el = document.getElementById("per-hour");
    let rows = kpi?.per_hour;
    if (!Array.isArray(rows)) {
      const at = all.map((i) => [zj.chartTime(i.received_at), zj.time(i.received_at).slice(0, 13)]).filter(([x]) => typeof x === "number");
      const since = Math.max(...at.map(([x]) => x)) - 24 * 3600e3, by = {};  // the 24 hours up to the latest call (a replay keeps its calls' times)
      for (const [x, h] of at) if (x > since) by[h] = (by[h] || 0) + 1;
      rows = Object.entries(by).sort().map(([h, calls]) => ({ hour: `${h}:00`, calls }));
    }
    if (!rows.length) { echarts.getInstanceByDom(el)?.dispose(); el.innerHTML = `<p class="empty">${esc(t("cmd.none.hours", "最近 24 小时没有警情"))}</p>`; return; }
    const c = echarts.getInstanceByDom(el) || zj.chart(el);
    c?.setOption({ tooltip: { trigger: "axis" }, grid: { left: 40, right: 12, top: 16, bottom: 40 },
      xAxis: { type: "category", data: rows.map((r) => `${zj.time(r.hour).slice(5, 13)}${zj.lang() === "en" ? "h" : "时"}`) },
      yAxis: { type: "value", minInterval: 1 }, series: [{ type: "bar", data: rows.map((r) => r.calls ?? r.count ?? 0), itemStyle: { color: "#355f9c" } }] });
  }

  /* the selected incident's card */
  async function open(id, scroll = true) {
    S.selected = id;
    drawIncidents();
    const d = await api(`/api/command/incidents/${encodeURIComponent(id)}`).catch(() => null);
    if (!d || S.selected !== id) return;
    S.detail = d;
    card(d);
    focus(d);
    if (scroll) document.getElementById("incident").scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
  function focus(d) {  // the incident and the road-network choice joined on the map
    if (!layers) return;
    layers.focus.clearLayers();
    if (d.lat == null) return;
    const recs = list(d.recommendations || d.recommend);
    const top = recs[0] && S.units.get(recs[0].unit || recs[0].id);
    if (top?.lat != null) L.polyline([[top.lat, top.lon], [d.lat, d.lon]], { color: "#1a7f37", dashArray: "6 6", weight: 2 }).addTo(layers.focus);
    map.setView([d.lat, d.lon], Math.max(map.getZoom(), 13), { animate: false });
  }
  function plan(p) {
    if (!p) return `<p class="empty">${esc(t("cmd.none.plan", "该类型与等级没有关联的应急预案"))}</p>`;
    if (typeof p === "string") return `<p>${esc(p)}</p>`;
    const steps = list(p.steps || p.actions);
    return `<p><b>${esc(p.title || p.name || p.id)}</b>${p.grade ? ` <span class="badge">${esc(p.grade)}</span>` : ""}</p>` +
      (steps.length ? `<ol class="plan">${steps.map((s) => `<li>${esc(typeof s === "string" ? s : s.text || s.title || JSON.stringify(s))}</li>`).join("")}</ol>` : "");
  }
  function card(d) {
    const el = document.getElementById("incident");
    el.hidden = false;
    const recs = list(d.recommendations || d.recommend), asg = list(d.assignments);
    const working = (a) => ["dispatched", "en_route", "on_scene"].includes(a.state);
    const current = asg.find(working);  // 改派 replaces it: that unit is free again
    const dups = list(d.duplicates).map((x) => (typeof x === "string" ? x : x.id));
    const active = d.state !== "closed";
    const fact = (k, zh, v) => (v == null || v === "" ? "" : `<dt data-i18n="${k}">${esc(t(k, zh))}</dt><dd>${v}</dd>`);
    el.innerHTML = `<div class="row"><h2>${esc(d.id)} · ${esc(d.category || "—")}</h2>${cad.badge(d.priority)}
        <span class="badge">${esc(cad.state(d.state))}</span><span class="badge">${esc(cad.tier(d.tier))}</span></div>
      <p class="narrative">${esc(d.narrative || "")}</p>
      <dl class="facts">${fact("cmd.f.received", "接警时间", `${esc(zj.time(d.received_at))} ${zj.zoneTag()}`)}
        ${fact("cmd.f.phone", "报警电话", d.caller_phone ? esc(d.caller_phone) : "")}
        ${fact("cmd.f.address", "地址", esc(d.address || ""))}
        ${fact("cmd.f.located", "定位", esc(cad.located(d.located)) + (d.cell ? ` <span class="muted">H3 ${esc(d.cell)}</span>` : ""))}
        ${fact("cmd.f.flag", "需人工核查", d.flag ? `<span class="bad">${esc(cad.flag(d.flag))}</span>` : "")}
        ${fact("cmd.f.confidence", "分类置信度", d.confidence != null ? esc((+d.confidence).toFixed(2)) : "")}
        ${fact("cmd.f.station", "管辖", esc(d.station_name || d.station || ""))}
        ${fact("cmd.f.parent", "重复于", d.parent ? `<a href="#" data-open="${esc(d.parent)}">${esc(d.parent)}</a>` : "")}
        ${fact("cmd.f.dups", "合并来电", dups.length ? dups.map((x) => `<a href="#" data-open="${esc(x)}">${esc(x)}</a>`).join("、") : "")}</dl>
      <h3 data-i18n="cmd.plan">应急预案</h3>${plan(d.plan_detail || d.plan)}
      <h3 data-i18n="cmd.recs">推荐警力</h3><table id="recs" class="data"></table>
      <h3 data-i18n="cmd.asg">处警记录</h3><table id="asg" class="data"></table>
      <p class="actions">${active ? `<button type="button" id="escalate" class="secondary"${d.tier === "city" ? " disabled" : ""}>${esc(t("cmd.escalate", "上报"))}</button>
        <button type="button" id="close">${esc(t("cmd.close", "结案"))}</button>` : ""}</p>`;
    zj.table("#recs", [["cmd.r.unit", "单位", (r) => `<b>${esc(r.callsign || cad.unitName(S.units.get(r.unit)) || r.unit)}</b>`],
      ["cmd.r.kind", "类型", (r) => esc(cad.kind(r.kind || S.units.get(r.unit)?.kind))],
      ["cmd.r.travel", "路网行程", (r) => esc(cad.mmss(r.travel_s))], ["cmd.r.straight", "直线距离", (r) => esc(cad.metres(r.straight_m))],
      ["cmd.r.srank", "直线排名", (r) => esc(r.straight_rank ?? "—")],
      ["", "", (r) => !active ? "" : `<button type="button" data-assign="${esc(r.unit || r.id)}">${esc(t(current ? "cmd.add" : "cmd.assign", current ? "增派" : "派警"))}</button>` +
        (current ? ` <button type="button" class="secondary" data-assign="${esc(r.unit || r.id)}" data-replaces="${esc(current.id)}">${esc(t("cmd.reassign", "改派"))}</button>` : "")]],
    recs, { empty: t("cmd.none.recs", "没有可推荐的警力：附近警力均在执行任务、已下线，或已数分钟未上报位置") });
    const at = (k) => (a) => esc(a[k] ? zj.time(a[k]).slice(11) : "");
    zj.table("#asg", [["cmd.a.unit", "单位", (a) => esc(a.callsign || cad.unitName(S.units.get(a.unit)) || a.unit)],
      ["cmd.a.state", "状态", (a) => esc(cad.state(a.state))], ["cmd.a.dispatched", "派警", at("dispatched_at"), "time"],
      ["cmd.a.en_route", "出警", at("en_route_at"), "time"], ["cmd.a.on_scene", "到场", at("on_scene_at"), "time"],
      ["cmd.a.cleared", "处置完毕", at("cleared_at"), "time"],
      ["", "", (a) => (working(a) && active ? `<button type="button" class="secondary" data-cancel="${esc(a.id)}">${esc(t("cmd.cancel", "撤回"))}</button>` : "")],
      ["cmd.a.feedback", "反馈", (a) => esc(a.feedback || "") + (a.photo ? ` <button type="button" class="secondary" data-photo="${esc(a.id)}">${esc(t("cmd.photo", "照片"))}</button>` : "")]],
    asg, { empty: t("cmd.none.asg", "尚未派警") });
    el.querySelectorAll("[data-assign]").forEach((b) => b.addEventListener("click", () => assign(d.id, b.dataset.assign, b, b.dataset.replaces)));
    el.querySelectorAll("[data-cancel]").forEach((b) => b.addEventListener("click", () => withdraw(d.id, b)));
    el.querySelectorAll("[data-open]").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); open(a.dataset.open); }));
    el.querySelectorAll("[data-photo]").forEach((b) => b.addEventListener("click", () => photo(b)));
    el.querySelector("#escalate")?.addEventListener("click", () => act(d.id, "escalate", t("cmd.escalated", "已上报")));
    el.querySelector("#close")?.addEventListener("click", () => act(d.id, "close", t("cmd.closed", "已结案")));
  }
  /** The unit's feedback photo, fetched with the token (an <img src> cannot send it). */
  async function photo(button) {
    const res = await zj.request(`/api/command/assignments/${encodeURIComponent(button.dataset.photo)}/photo`).catch(() => null);
    if (!res) return;
    const img = Object.assign(document.createElement("img"), { className: "fb-photo", alt: t("cmd.photo", "照片") });
    img.src = URL.createObjectURL(await res.blob());
    button.replaceWith(img);
  }
  async function withdraw(id, button) {
    button.disabled = true;
    await zj.api(`/api/command/assignments/${encodeURIComponent(button.dataset.cancel)}/cancel`, { method: "POST" })
      .then(() => zj.toast(t("cmd.cancelled", "已撤回，该警力恢复空闲"), "ok")).catch(() => {});
    await Promise.all([open(id, false), loadUnits(), loadIncidents()]);
  }
  async function assign(id, unit, button, replaces) {
    button.disabled = true;
    try {
      await zj.api(`/api/command/incidents/${encodeURIComponent(id)}/assign`, { method: "POST", quiet: true,
        json: { unit, ...(replaces ? { replaces: +replaces } : {}) } });
      zj.toast(t("cmd.assigned", "已派警：{u}").replace("{u}", cad.unitName(S.units.get(unit)) || unit), "ok");
    } catch (e) {
      zj.toast(e.status === 409 ? t("cmd.conflict", "该警力已被其他调度员先行派出，请另选") : e.message);
    }
    await Promise.all([open(id, false), loadUnits(), loadIncidents()]);
  }
  async function act(id, what, done) {
    try {
      await zj.api(`/api/command/incidents/${encodeURIComponent(id)}/${what}`, { method: "POST" });
      zj.toast(done, "ok");
    } catch (e) { /* the reason is on screen */ }
    await Promise.all([open(id, false), loadIncidents()]);
  }

  /* watch hits: the record, its place on the map, one click to send the nearest unit */
  const hits = [];
  function addHit(h) {
    if (!h) return;
    hits.unshift(h); hits.splice(30);
    drawHits();
    hitMark(h);
  }
  function hitMark(h) {
    if (!layers || h.lat == null || h.lon == null) return;
    const mk = L.circleMarker([h.lat, h.lon], { radius: 10, color: "#7a3db8", weight: 3, dashArray: "3 3", fillOpacity: 0.15 })
      .bindTooltip(`${esc(h.watch_label || h.label || h.value || "")} · ${esc(h.place || "")}`).addTo(layers.hits);
    S.hitMarks.push(mk);
  }
  function drawHits() {
    const box = document.getElementById("hits");
    box.innerHTML = hits.length ? hits.map((h, i) => `<li class="hit-item"><b>${esc(h.watch_label || h.label || h.value || h.kind || "")}</b>
      <span class="muted">${esc(zj.dsName(h.dataset || h.type || ""))}</span>
      <div>${esc(zj.time(h.time || h.at))} ${zj.zoneTag()} · ${esc(h.place || "")}</div>
      ${h.detail ? `<div class="muted small">${esc(typeof h.detail === "string" ? h.detail : JSON.stringify(h.detail))}</div>` : ""}
      ${h.id != null && !h.incident ? `<button type="button" data-hit="${i}">${esc(t("cmd.hit.dispatch", "一键派警拦截"))}</button>` : ""}
      ${h.incident ? `<a href="#" data-open="${esc(h.incident)}">${esc(h.incident)}</a>` : ""}</li>`).join("")
      : `<li class="empty">${esc(t("cmd.none.hits", "暂无布控命中：布控对象（人员、车辆、手机）有新记录时在此提示"))}</li>`;
    box.querySelectorAll("[data-hit]").forEach((b) => b.addEventListener("click", async () => {
      const h = hits[+b.dataset.hit];
      b.disabled = true;
      const inc = await api(`/api/watch/hits/${encodeURIComponent(h.id)}/dispatch`, { method: "POST" }).catch(() => null);
      if (inc?.id || inc?.incident?.id) { h.incident = inc.id || inc.incident.id; drawHits(); await loadIncidents(); open(h.incident); }
    }));
    box.querySelectorAll("[data-open]").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); open(a.dataset.open); }));
  }
  async function loadHits() {
    const r = await api("/api/watch/hits?limit=30", { quiet: true }).catch(() => null);
    list(r, "items", "hits").reverse().forEach(addHit);
    drawHits();
  }

  /* 布控: place a watch (another officer approves it), the watches this officer sees */
  const WSTATE = { pending: "待审批", active: "布控中", revoked: "已撤控", expired: "已到期" };
  const WKIND = { plate: "车辆", person: "人员", phone: "手机" };
  const wform = document.getElementById("watch-form");
  const week = new Date(Date.now() + 7 * 86400e3).toISOString();
  wform.expires_at.value = zj.time(week).slice(0, 16).replace(" ", "T");  // the zone's wall time: the API reads it as local
  async function loadWatches() {
    const r = await api("/api/watch", { quiet: true }).catch((e) => e);
    if (r instanceof Error) {
      zj.table("#watches", [["w.value", "布控对象", "value"]], [], { empty: zj.missing(r) ? t("state.missing", "本服务器尚未提供该功能") : r.message });
      return;
    }
    const ws = list(r, "watches", "items");
    const en = zj.lang() === "en";
    zj.table("#watches", [["w.value", "布控对象", (w) => `${esc(en ? w.kind : WKIND[w.kind] || w.kind)} <b>${esc(w.label || w.value)}</b>`],
      ["w.reason", "事由", "reason"], ["w.state", "状态", (w) => esc(en ? w.state : WSTATE[w.state] || w.state)],
      ["w.who", "布控/审批", (w) => `${esc(w.placed_by)} / ${esc(w.approved_by || w.approver)}`],
      zj.timeCol("w.expires", "到期", (w) => w.expires_at),
      ["", "", (w) => (w.state === "pending" && w.approver === me.username ? `<button type="button" data-approve="${esc(w.id)}">${esc(t("w.approve", "批准"))}</button> ` : "") +
        (["pending", "active"].includes(w.state) ? `<button type="button" class="secondary" data-revoke="${esc(w.id)}">${esc(t("w.revoke", "撤控"))}</button>` : "")]],
    ws, { empty: t("w.none", "暂无布控：填写上表并由审批人批准后生效") });
    document.querySelectorAll("#watches [data-approve], #watches [data-revoke]").forEach((b) => b.addEventListener("click", async () => {
      const [what, id] = b.dataset.approve ? ["approve", b.dataset.approve] : ["revoke", b.dataset.revoke];
      const w = ws.find((x) => String(x.id) === id);
      const headers = what === "approve" && w?.purpose ? { "X-Purpose": w.purpose } : {};  // approved under the watch's own purpose
      if (await api(`/api/watch/${encodeURIComponent(id)}/${what}`, { method: "POST", headers }).catch(() => null)) {
        zj.toast(what === "approve" ? t("w.approved", "已批准，布控生效") : t("w.revoked", "已撤控"), "ok");
      }
      loadWatches();
    }));
  }
  wform.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(new FormData(wform));
    const w = await api("/api/watch", { method: "POST", json: body }).catch(() => null);
    if (!w) return;
    zj.toast(t("w.placed", "已提交，待 {a} 审批").replace("{a}", w.approver || body.approver), "ok");
    wform.value.value = ""; wform.reason.value = "";
    loadWatches();
  });

  /* the call-taker's form */
  document.getElementById("intake").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries([...new FormData(ev.target)].filter(([, v]) => String(v).trim()));
    const inc = await api("/api/command/incidents", { method: "POST", json: body }).catch(() => null);
    if (!inc) return;
    ev.target.reset();
    zj.toast(t("cmd.taken", "已受理：{id}").replace("{id}", inc.id), "ok");
    await loadIncidents(); open(inc.id);
  });

  /* live */
  const refresh = { incidents: cad.debounce(loadIncidents, 300), units: cad.debounce(loadUnits, 800), kpi: cad.debounce(loadKpi, 2000),
    selected: cad.debounce(() => S.selected && open(S.selected, false), 400) };
  function onEvent(ev) {
    const kind = ev.kind || "", body = ev.body || {};
    if (kind.startsWith("incident.")) { refresh.incidents(); if (ev.incident === S.selected || body.parent === S.selected) refresh.selected(); }
    else if (kind === "unit.moved") {
      const u = S.units.get(ev.unit);
      if (u && body.lon != null) { Object.assign(u, { lon: body.lon, lat: body.lat }, body.status ? { status: body.status } : {}); placeUnit(u); }
      else refresh.units();
    } else if (kind === "unit.status") {
      const u = S.units.get(ev.unit);
      if (u && body.status) { u.status = body.status; placeUnit(u); counts(); } else refresh.units();
      if (S.selected) refresh.selected();
    } else if (kind.startsWith("assignment.")) {
      refresh.incidents(); refresh.units(); refresh.kpi();
      if (ev.incident === S.selected) refresh.selected();
    } else if (kind === "watch.hit") addHit({ ...body, id: body.id ?? body.hit, incident: ev.incident || body.incident });
    else if (kind === "kpi") refresh.kpi();
  }
  let poller = null;
  cad.live("/api/command/stream", onEvent, (on, err) => {
    cad.light("live", on, err);
    if (on) { clearInterval(poller); poller = null; refresh.incidents(); refresh.units(); } // caught up after a gap
    else if (err && !poller) poller = setInterval(() => { loadIncidents(); loadUnits(); }, 5000);  // no stream here: poll
  });
  await Promise.all([loadUnits(), loadIncidents()]);
  await Promise.all([loadKpi(), loadHits(), loadWatches(), mapped]);
  const want = zj.qs("incident");
  if (want) open(want);
};
