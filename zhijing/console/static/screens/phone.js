/* 移动警务: the frontline unit's phone (390 px). Receive the incident dispatched to this unit,
   出警 (accept), 到场 (arrive), feed back with a note and a photo, 处置完毕 (clear).
   Built for a flaky connection: every action is first written to a queue on the phone
   (IndexedDB, photos as blobs), then sent in order with retries (backoff 1 s doubling to 60 s,
   jittered; at once when the phone comes back online). Each action carries an id made here
   (Idempotency-Key), so a repeat after a lost answer changes nothing on the server. The screen
   moves on at once; what is still waiting to be sent is listed. */
"use strict";
zj.addEN({ "m.done": "Handled today", "m.none": "No incident is dispatched to you: a new one shows here (the phone vibrates)",
  "m.none.history": "Nothing handled yet today", "m.nounit": "This login is not a unit's phone: ask the duty room to link it to a unit",
  "m.new": "New incident", "m.accept": "Accept (出警)", "m.arrive": "Arrived (到场)", "m.feedback": "Send feedback",
  "m.clear": "Feedback and clear", "m.note": "What was found, what was done", "m.photo": "Photo", "m.queued": "Waiting to send ({n})",
  "m.queue.note": "Kept on this phone and sent when the connection returns", "m.sent": "Sent", "m.dropped": "Not accepted: {r}",
  "m.dispatched": "Dispatched", "m.address": "Address", "m.caller": "Caller", "m.plan": "Plan", "m.status": "Status",
  "m.offline": "Offline: actions are kept and sent later", "m.step.accept": "Accept", "m.step.arrive": "Arrive", "m.step.feedback": "Feedback",
  "m.step.clear": "Clear", "m.ended": "Ended", "m.needclear": "Write a note before clearing" });
zj.pages.phone = async () => {
  const me = await zj.chrome();
  if (!me) return;
  const { t, esc, cad } = zj;
  cad.dutyPurpose(me);
  const RANK = { dispatched: 0, en_route: 1, on_scene: 2, cleared: 3 };
  const AFTER = { accept: "en_route", arrive: "on_scene", clear: "cleared" };
  const STEP = { accept: "出警", arrive: "到场", feedback: "反馈", clear: "处置完毕" };
  const list = (r, ...keys) => (Array.isArray(r) ? r : keys.map((k) => r?.[k]).find(Array.isArray) || []);
  let mine = null, queued = [], shownJob = null, drawnSig = "";

  /* the queue: IndexedDB (a store of actions, in order); in memory if the browser refuses it */
  const queue = (() => {
    const memory = [];
    let db = null;
    const opened = new Promise((resolve) => {
      try {
        const req = indexedDB.open("zj-phone", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("actions", { keyPath: "seq", autoIncrement: true });
        req.onsuccess = () => { db = req.result; resolve(); };
        req.onerror = () => resolve();
      } catch (e) { resolve(); }
    });
    async function run(mode, fn) {
      await opened;
      if (!db) return fn(null);
      return new Promise((resolve, reject) => {
        const tx = db.transaction("actions", mode);
        const req = fn(tx.objectStore("actions"));
        tx.oncomplete = () => resolve(req?.result);
        tx.onerror = () => reject(tx.error);
      });
    }
    return {
      add: (a) => run("readwrite", (s) => (s ? s.add(a) : memory.push({ ...a, seq: Date.now() + Math.random() }))),
      all: () => run("readonly", (s) => (s ? s.getAll() : null)).then((r) => r || memory.slice()),
      put: (a) => run("readwrite", (s) => (s ? s.put(a) : Object.assign(memory.find((m) => m.seq === a.seq) || {}, a))),
      del: (seq) => run("readwrite", (s) => (s ? s.delete(seq) : memory.splice(memory.findIndex((m) => m.seq === seq), 1))),
    };
  })();
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

  /** A photo as a data URL small enough for a weak signal and the API's limit (≤ 1280 px JPEG, under ~1 MB). */
  async function shrink(file) {
    const read = (blob) => new Promise((resolve, reject) => {
      const r = new FileReader(); r.onload = () => resolve(r.result); r.onerror = () => reject(r.error); r.readAsDataURL(blob);
    });
    try {
      const img = await createImageBitmap(file);
      for (const [side, q] of [[1280, 0.8], [960, 0.7], [640, 0.6]]) {
        const k = Math.min(1, side / Math.max(img.width, img.height));
        const c = Object.assign(document.createElement("canvas"), { width: Math.round(img.width * k), height: Math.round(img.height * k) });
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        const url = c.toDataURL("image/jpeg", q);
        if (url.length < 1_000_000) return url;
      }
    } catch (e) { /* not an image the browser reads: sent as it is if small enough */ }
    return file.size < 700_000 ? read(file) : null;
  }

  async function enqueue(assignment, step, extra = {}) {
    await queue.add({ action_id: uuid(), assignment, step, at: new Date().toISOString(), tries: 0, ...extra });
    await refreshQueue();
    draw();
    flush();
  }

  /* sending: in order, one at a time; a network failure or a server error waits and tries again */
  let flushing = false, backoff = 1000, timer = null;
  async function send(a) {
    const path = `/api/command/assignments/${encodeURIComponent(a.assignment)}/${a.step}`;
    const opts = { method: "POST", headers: { "Idempotency-Key": a.action_id },
      json: { action_id: a.action_id, ...(a.note ? { note: a.note } : {}), ...(a.photo ? { photo: a.photo } : {}) } };
    try {
      await zj.request(path, { ...opts, quiet: true, signal: AbortSignal.timeout ? AbortSignal.timeout(20000) : undefined });
      return "sent";
    } catch (e) {
      if (!e.status || e.status >= 500 || e.status === 429 || e.status === 408) return "retry";
      return e;  // refused (the incident was reassigned, another step came first): kept off the queue, said why
    }
  }
  async function flush() {
    if (flushing) return;
    flushing = true; clearTimeout(timer);
    try {
      for (;;) {
        const [a] = await queue.all();
        if (!a) { backoff = 1000; break; }
        const r = await send(a);
        if (r === "retry") {
          a.tries += 1; await queue.put(a);
          timer = setTimeout(flush, backoff * (0.75 + Math.random() / 2));
          backoff = Math.min(backoff * 2, 60000);
          break;
        }
        await queue.del(a.seq);
        backoff = 1000;
        if (r !== "sent") zj.toast(t("m.dropped", "未被接受：{r}").replace("{r}", `${zj.lang() === "en" ? a.step : STEP[a.step]} · ${r.message}`));
      }
    } finally {
      flushing = false;
      await refreshQueue();
      draw();
      if (!queued.length) load();
    }
  }
  async function refreshQueue() { queued = await queue.all(); }

  /* what the phone shows: the server's state moved on by what is still queued here */
  const reached = {};  // assignment -> the furthest step seen: an answer that left before a step was sent never moves the screen back
  function local(a) {
    let state = a.state;
    const further = (s) => s && (RANK[s] ?? -1) > (RANK[state] ?? -1);
    for (const q of queued) if (q.assignment === a.id && further(AFTER[q.step])) state = AFTER[q.step];
    if (RANK[a.state] !== undefined && further(reached[a.id])) state = reached[a.id];
    if (RANK[state] !== undefined) reached[a.id] = state;
    return { ...a, state, feedback: a.feedback || queued.filter((q) => q.assignment === a.id && q.note).map((q) => q.note).pop() };
  }
  const incidentOf = (a) => (a.incident && typeof a.incident === "object" ? a.incident : a.detail || { id: a.incident });
  const active = (a) => !["cleared", "cancelled", "reassigned", "closed"].includes(a.state);
  /** The job on screen: an active assignment, or one cleared that still owes its feedback. */
  const current = (a) => active(a) || (a.state === "cleared" && !a.feedback_at && !a.feedback);

  /* what this phone handled today (the API answers the current job; the rest is kept here) */
  const JOBS = `zj.m.jobs.${me.username}`;
  const today = () => zj.day(new Date().toISOString());
  let jobs = {};
  try { jobs = JSON.parse(localStorage.getItem(JOBS) || "{}"); } catch (e) { jobs = {}; }
  function remember(a) {
    const inc = incidentOf(a);
    jobs[a.id] = { id: a.id, state: a.state, dispatched_at: a.dispatched_at, cleared_at: a.cleared_at, feedback: a.feedback,
      feedback_at: a.feedback_at, incident: { id: inc.id, category: inc.category, priority: inc.priority, address: inc.address } };
    for (const [k, j] of Object.entries(jobs)) if (zj.day(j.dispatched_at) !== today()) delete jobs[k];
    localStorage.setItem(JOBS, JSON.stringify(jobs));
  }

  function drawUnit() {
    const u = mine?.unit;
    const box = document.getElementById("unit");
    if (!u) { box.innerHTML = `<p class="empty">${esc(t("m.nounit", "该账号未关联警力单位：请联系勤务指挥室绑定"))}</p>`; return; }
    box.innerHTML = `<div class="row"><b class="callsign">${esc(cad.unitName(u))}</b><span class="badge">${esc(cad.kind(u.kind))}</span>
      <span class="ustatus" style="background:${cad.unitColor(u.status)}">${esc(cad.unitStatus(u.status))}</span></div>
      ${navigator.onLine ? "" : `<p class="bad small">${esc(t("m.offline", "离线：操作已保存在本机，联网后自动发送"))}</p>`}`;
  }
  let miniMap = null, miniLayer = null;
  async function mini(inc) {
    const box = document.getElementById("job-map");
    if (!box || !window.L || inc.lat == null) return;
    if (!miniMap || miniMap.getContainer() !== box) { miniMap = await zj.map.create(box); miniLayer = miniMap && L.layerGroup().addTo(miniMap); }
    if (!miniMap) return;
    miniLayer.clearLayers();
    const pts = [[inc.lat, inc.lon]];
    L.circleMarker([inc.lat, inc.lon], { radius: 9, color: "#fff", weight: 2, fillColor: cad.color(inc.priority), fillOpacity: 0.9 }).addTo(miniLayer);
    const u = mine?.unit;
    if (u?.lat != null) { pts.push([u.lat, u.lon]); L.circleMarker([u.lat, u.lon], { radius: 6, color: "#fff", weight: 2, fillColor: "#123f7a", fillOpacity: 1 }).addTo(miniLayer); }
    miniMap.fitBounds(L.latLngBounds(pts).pad(0.4), { maxZoom: 16, animate: false });
  }
  function drawJob() {
    const box = document.getElementById("job");
    const all = list(mine, "assignments").map(local);
    const a = all.find(current);
    if (!a) { shownJob = null; drawnSig = ""; box.innerHTML = `<p class="empty">${esc(t("m.none", "暂无指派给您的警情：新警情到达时在此显示并振动提示"))}</p>`; return; }
    const inc = incidentOf(a);
    const sig = `${a.id}:${a.state}:${inc.narrative || ""}`;
    if (sig === drawnSig) return;  // the same job at the same step: keep what the officer is typing
    drawnSig = sig;
    const fresh = shownJob !== a.id;
    if (fresh && a.state === "dispatched" && navigator.vibrate) navigator.vibrate([200, 100, 200]);
    shownJob = a.id;
    const step = a.state === "dispatched" ? `<button type="button" class="big-btn" data-step="accept">${esc(t("m.accept", "出警"))}</button>`
      : a.state === "en_route" ? `<button type="button" class="big-btn" data-step="arrive">${esc(t("m.arrive", "到场"))}</button>`
      : `<form id="fb" class="fb"><label><span data-i18n="m.note">现场情况与处置结果</span><textarea name="note" rows="3" maxlength="2000"></textarea></label>
          <label class="photo"><span data-i18n="m.photo">现场照片</span><input type="file" name="photo" accept="image/*" capture="environment"></label>
          <img id="preview" alt="" hidden>
          <div class="row"><button type="submit" class="secondary" data-then="">${esc(t("m.feedback", "提交反馈"))}</button>
          <button type="submit" class="big-btn" data-then="clear">${esc(t("m.clear", "反馈并处置完毕"))}</button></div></form>`;
    box.innerHTML = `${a.state === "dispatched" ? `<p class="new-job">${esc(t("m.new", "新警情"))}</p>` : ""}
      <div class="row"><h2>${esc(inc.category || "—")}</h2>${cad.badge(inc.priority)}<span class="badge" data-state="${esc(a.state)}">${esc(cad.state(a.state))}</span></div>
      <p class="narrative">${esc(inc.narrative || "")}</p>
      <dl class="facts"><dt>${esc(t("m.address", "地址"))}</dt><dd>${esc(inc.address || "")}</dd>
        <dt>${esc(t("m.dispatched", "派警时间"))}</dt><dd>${esc(zj.time(a.dispatched_at))} ${zj.zoneTag()}</dd>
        ${inc.caller_phone ? `<dt>${esc(t("m.caller", "报警电话"))}</dt><dd>${esc(inc.caller_phone)}</dd>` : ""}
        ${inc.plan_detail || inc.plan ? `<dt>${esc(t("m.plan", "预案"))}</dt><dd>${esc(inc.plan_detail?.title || inc.plan)}</dd>` : ""}
        <dt class="muted">${esc(inc.id || "")}</dt><dd></dd></dl>
      <div id="job-map" class="job-map"></div>
      <div class="steps">${step}</div>`;
    box.querySelectorAll("[data-step]").forEach((b) => b.addEventListener("click", () => { b.disabled = true; enqueue(a.id, b.dataset.step); }));
    const fb = box.querySelector("#fb");
    if (fb) {
      let then = "";
      fb.querySelectorAll("[data-then]").forEach((b) => b.addEventListener("click", () => { then = b.dataset.then; }));
      fb.photo.addEventListener("change", () => {
        const f = fb.photo.files[0], img = box.querySelector("#preview");
        if (img.src) URL.revokeObjectURL(img.src);
        img.hidden = !f; if (f) img.src = URL.createObjectURL(f);
      });
      fb.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const note = fb.note.value.trim(), file = fb.photo.files[0];
        if (!note && !file) { zj.toast(t("m.needclear", "请先填写现场情况")); return; }
        fb.querySelectorAll("button").forEach((b) => { b.disabled = true; });
        await enqueue(a.id, "feedback", { note, ...(file ? { photo: await shrink(file) } : {}) });
        if (then === "clear") await enqueue(a.id, "clear");
      });
    }
    mini(inc);
  }
  function drawHistory() {
    const now = list(mine, "assignments").map(local).find(current);
    const done = Object.values(jobs).map(local).filter((a) => a.id !== now?.id).sort((x, y) => String(y.dispatched_at).localeCompare(String(x.dispatched_at)));
    document.getElementById("history").innerHTML = done.length ? done.map((a) => {
      const inc = incidentOf(a);
      return `<li><b>${esc(inc.category || "")}</b> ${esc(active(a) ? t("m.ended", "已结束") : cad.state(a.state))} · ${esc(zj.time(a.cleared_at || a.dispatched_at).slice(11, 16))}
        <div class="muted small">${esc(inc.address || "")} · ${esc(a.feedback || "")}</div></li>`;
    }).join("") : `<li class="empty">${esc(t("m.none.history", "今日尚无处置记录"))}</li>`;
  }
  function drawQueue() {
    const box = document.getElementById("queue");
    box.hidden = !queued.length;
    box.innerHTML = queued.length ? `<h2>${esc(t("m.queued", "待发送（{n}）").replace("{n}", queued.length))}</h2>
      <p class="muted small">${esc(t("m.queue.note", "已保存在本机，网络恢复后自动发送"))}</p>
      <ol>${queued.map((q) => `<li>${esc(zj.lang() === "en" ? t(`m.step.${q.step}`, q.step) : STEP[q.step])}${q.photo ? " 📷" : ""} · ${esc(zj.time(q.at).slice(11))}${q.tries ? ` · ↻${q.tries}` : ""}</li>`).join("")}</ol>` : "";
  }
  function draw() { drawQueue(); if (mine) { drawUnit(); drawJob(); drawHistory(); } }

  async function load() {
    const r = await zj.api("/api/command/me", { quiet: true }).catch((e) => (e.status ? { error: e } : null));
    if (!r) return;  // offline: keep what is shown
    if (r.error) { document.getElementById("unit").innerHTML = `<p class="empty">${esc(zj.missing(r.error) ? t("state.missing", "本服务器尚未提供该功能") : r.error.message)}</p>`; return; }
    mine = { unit: r.unit, assignments: r.assignment ? [{ ...r.assignment, detail: r.incident || { id: r.assignment.incident } }] : [] };
    mine.assignments.forEach(remember);
    draw();
  }
  const reload = cad.debounce(load, 300);
  window.addEventListener("online", () => { backoff = 1000; flush(); load(); });
  window.addEventListener("offline", drawUnit);
  cad.live("/api/command/stream", (ev) => {
    const k = ev.kind || "";
    if (k.startsWith("assignment.") || k === "unit.status" || (k.startsWith("incident.") && shownJob)) reload();
  }, (on, err) => cad.light("live", on, err));
  setInterval(() => { if (!queued.length) load(); }, 20000);  // a missed push still arrives
  /* where the unit is: the phone's own fix, reported at most every 30 s, only when it lies in the city
     (a synthetic city's demo phone is elsewhere: the simulator places its car) */
  async function locate() {
    if (!navigator.geolocation || !window.L) return;
    const refs = await zj.map.reference();
    const city = refs.find(([, , path]) => path.endsWith("stations"));
    if (!city?.[0]?.features?.length) return;
    const bounds = L.geoJSON(city[0]).getBounds();
    let sent = 0;
    navigator.geolocation.watchPosition((pos) => {
      const { longitude: lon, latitude: lat } = pos.coords;
      if (!bounds.contains([lat, lon]) || Date.now() - sent < 30000 || !navigator.onLine) return;
      sent = Date.now();
      zj.api("/api/command/me/position", { method: "POST", json: { lon, lat }, quiet: true }).catch(() => {});
    }, () => {}, { enableHighAccuracy: true, maximumAge: 15000 });
  }
  zj.phone = { flush, queue };  // for the browser tests
  await refreshQueue();
  await load();
  flush();
  if (mine?.unit) locate();
};
