/* 碰撞: space-time windows drawn on the map (circle, rectangle, polygon; Leaflet-Geoman, vendored),
   taken from a crime scene of the scene layer (GET /api/collision/scenes: the scene's place ± a
   span, with its nearest checkpoints) or from an address (GET /api/collision/places); the persons,
   phones and plates present in at least k of them with their evidence and how each record matched
   (POST /api/collision); saved under the case and re-run (/api/collision/saved). */
"use strict";
zj.addEN({ "coll.windows": "Space-time windows: draw them on the map, or click a scene, or find an address",
  "coll.draw.circle": "Circle", "coll.draw.rect": "Rectangle", "coll.draw.polygon": "Polygon", "coll.draw.edit": "Edit windows",
  "coll.span": "Around a scene (minutes)", "coll.radius": "Radius (m)", "coll.withcps": "With nearby checkpoints",
  "coll.scenes": "Scene layer", "coll.scene.case": "Like this case", "coll.scene.category": "Category", "coll.scene.all": "All", "coll.scene.from": "Scenes from", "coll.scene.to": "Scenes until",
  "coll.place.ph": "address / road / hotel / checkpoint / station", "coll.place.go": "Locate", "coll.more": "Other windows (H3 cell / checkpoint / address code)",
  "coll.kind": "Kind", "coll.h3": "H3 cell", "coll.checkpoint": "Checkpoint", "coll.address": "Address", "coll.value": "Value (cell / checkpoint codes / address)",
  "coll.add": "Add window", "coll.k": "Present in at least k windows", "coll.name": "Save as", "coll.run": "Collide", "coll.save": "Collide and save",
  "coll.saved": "Saved collisions", "coll.hits": "Hits", "coll.subject": "Subject", "coll.nwin": "Windows", "coll.records": "Records",
  "coll.window": "Window", "coll.rerun": "Re-run", "coll.none": "Add at least one window", "coll.remove": "Remove",
  "coll.scene.list": "Scenes in view", "coll.scene.use": "Use as window", "coll.scene.n": "scenes in view", "coll.scene.shown": "shown",
  "coll.scene.nopurpose": "Choose a case as the purpose to see its scenes", "coll.scene.none": "No scene in view: zoom out or choose another category",
  "coll.place.none": "No address, road or place of that name", "coll.added": "Window added", "coll.notime": "Give the window a start and an end",
  "coll.label": "Window", "coll.from": "From", "coll.to": "Until", "coll.where": "Place", "coll.cps": "Checkpoints",
  "coll.how.cp": "at checkpoint", "coll.how.area": "inside the window", "coll.how.via": "via vehicle", "coll.category": "Category",
  "coll.legend.scene": "scene", "coll.legend.case": "this case's scene", "coll.legend.window": "window", "coll.legend.cp": "checkpoint of a window",
  "coll.legend.hit": "evidence of the chosen hit", "coll.points": "points", "coll.pk.address": "Address", "coll.pk.road": "Road", "coll.pk.hotel": "Hotel", "coll.pk.checkpoint": "Checkpoint", "coll.pk.terminal": "Station / airport", "coll.circle": "Circle", "coll.polygon": "Polygon" });
zj.pages.collision = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc, $ = (id) => document.getElementById(id);
  const windows = [];  // {spec, layer, extra}
  if (window.L?.PM) L.PM.setOptIn(true);  // the reference layers and scenes are not editable
  const m = await zj.map.create("map");
  if (m && window.L?.PM && !m.pm) m.pm = new L.PM.Map(m);  // opted in: the map draws, its reference layers stay as they are
  const drawn = m ? L.featureGroup().addTo(m) : null, sceneLayer = m ? L.layerGroup().addTo(m) : null;
  let evidenceLayer = null;
  $("coll-legend").innerHTML = [["#b8860b", "coll.legend.scene", "现场"], ["#c8102e", "coll.legend.case", "本案现场"], ["#123f7a", "coll.legend.window", "窗口"],
    ["#2f7d32", "coll.legend.cp", "窗口的卡口"], ["#7a3db8", "coll.legend.hit", "所选命中的证据"]]
    .map(([c, k, zh]) => `<span class="dot" style="background:${c}"></span>${esc(t(k, zh))}`).join(" ");

  /* times: the form's datetime-local values are the city's wall time, sent as they are */
  const local = (d) => { const p = (n) => String(n).padStart(2, "0");
    return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`; };
  const wallAround = (iso, minutes) => {  // an ISO time with offset → the wall times ± minutes, in the offset's zone
    const off = /([+-])(\d\d):(\d\d)$/.exec(iso); const shift = off ? (off[1] === "-" ? -1 : 1) * (+off[2] * 60 + +off[3]) : 0;
    const wall = new Date(Date.parse(iso) + shift * 60000);
    return [local(new Date(wall - minutes * 60000)), local(new Date(+wall + minutes * 60000))];
  };
  const span = () => Math.max(5, +$("span").value || 60), radius = () => Math.min(3000, Math.max(10, +$("radius").value || 300));

  /* windows: each a spec the API takes, its layer on the map, kept in step when edited */
  function geometry(layer, shape) {
    if (shape === "Circle") { const c = layer.getLatLng(); return { kind: "circle", value: { lon: +c.lng.toFixed(6), lat: +c.lat.toFixed(6), radius_m: Math.round(layer.getRadius()) } }; }
    return { kind: "polygon", value: layer.getLatLngs()[0].map((p) => [+p.lng.toFixed(6), +p.lat.toFixed(6)]) };
  }
  function cpLayer(w) {
    if (!m || !w.spec.near_checkpoints?.length) return null;
    const g = L.layerGroup(), at = w.layer?.getLatLng?.() || w.layer?.getBounds?.().getCenter();
    (w.extra?.near_checkpoints || []).forEach((c) => {
      L.circleMarker([c.lat, c.lon], { radius: 6, color: "#2f7d32", fillOpacity: 0.9 }).bindTooltip(esc(`${c.name || c.code} · ${c.distance_m} m`)).addTo(g);
      if (at) L.polyline([at, [c.lat, c.lon]], { color: "#2f7d32", weight: 1, dashArray: "4 4" }).addTo(g);
    });
    return g.addTo(m);
  }
  function add(spec, layer, extra = {}) {
    const w = { spec: { label: spec.label || `${t("coll.label", "窗口")}${windows.length + 1}`, ...spec }, layer, extra };
    if (!w.spec.start || !w.spec.end) [w.spec.start, w.spec.end] = [$("start").value, $("end").value];
    if (!layer && m) {  // a window from a link, a scene or an address: drawn here
      const v = spec.value;
      if (spec.kind === "circle") w.layer = L.circle([v.lat, v.lon], { radius: v.radius_m || radius() });
      else if (spec.kind === "polygon") w.layer = L.polygon(v.map(([x, y]) => [y, x]));
    }
    if (w.layer) {
      w.layer.setStyle?.({ color: "#123f7a", weight: 2, fillOpacity: 0.12 });
      w.layer.options.pmIgnore = false;  // the windows, and only they, are editable (opt-in below)
      if (window.L?.PM) L.PM.reInitLayer(w.layer);
      drawn.addLayer(w.layer);
      w.layer.on("pm:edit pm:dragend", () => {
        Object.assign(w.spec, geometry(w.layer, w.spec.kind === "circle" ? "Circle" : "Polygon"));
        w.cps?.remove(); w.cps = cpLayer(w); render();
      });
    }
    w.cps = cpLayer(w);
    windows.push(w); render();
    return w;
  }
  function remove(i) {
    const [w] = windows.splice(i, 1);
    if (w.layer) drawn.removeLayer(w.layer);
    w.cps?.remove(); render();
  }
  function where(s) {
    if (s.kind === "circle") return `${t("coll.circle", "圆形")} ${s.value.radius_m} m`;
    if (s.kind === "polygon") return `${t("coll.polygon", "多边形")} · ${s.value.length} ${t("coll.points", "点")}`;
    return `${t("coll." + s.kind, s.kind)} ${Array.isArray(s.value) ? s.value.join(",") : s.value}`;
  }
  function render() {
    const input = (i, f) => `<input type="datetime-local" data-w="${i}" data-f="${f}" value="${esc((windows[i].spec[f] || "").slice(0, 16))}">`;
    zj.table("#windows", [["coll.label", "窗口", (w) => esc(w.spec.label)], ["coll.where", "地点", (w) => esc(where(w.spec))],
      ["coll.cps", "卡口", (w) => esc((w.spec.near_checkpoints || []).join(", "))],
      ["coll.from", "起", (w) => input(windows.indexOf(w), "start"), "time"], ["coll.to", "止", (w) => input(windows.indexOf(w), "end"), "time"],
      ["coll.remove", "删除", (w) => `<button type="button" class="secondary" data-rm="${windows.indexOf(w)}">${esc(t("coll.remove", "删除"))}</button>`]],
    windows, { empty: t("coll.none", "请至少添加一个窗口") });
    document.querySelectorAll("#windows [data-rm]").forEach((b) => b.addEventListener("click", () => remove(+b.dataset.rm)));
    document.querySelectorAll("#windows input[data-w]").forEach((el) => el.addEventListener("change", () => { windows[+el.dataset.w].spec[el.dataset.f] = el.value; }));
    $("k").max = Math.max(1, windows.length);
  }
  render();

  /* drawing (Leaflet-Geoman): circle, rectangle, polygon; edit mode moves and reshapes them */
  if (m?.pm) {
    m.pm.setLang(zj.lang() === "en" ? "en" : "zh");
    m.pm.setGlobalOptions({ pathOptions: { color: "#123f7a", weight: 2, fillOpacity: 0.12 }, continueDrawing: false });
    m.on("pm:create", (ev) => {
      drawn.removeLayer(ev.layer); m.removeLayer(ev.layer);
      add(geometry(ev.layer, ev.shape), ev.layer);
    });
    const tools = { "draw-circle": "Circle", "draw-rect": "Rectangle", "draw-polygon": "Polygon" };
    Object.entries(tools).forEach(([id, shape]) => $(id).addEventListener("click", () => m.pm.enableDraw(shape)));
    $("draw-edit").addEventListener("click", () => { m.pm.toggleGlobalEditMode({ layerGroup: drawn }); $("draw-edit").classList.toggle("on", m.pm.globalEditModeEnabled()); });
  } else document.getElementById("draw-tools").querySelectorAll("button").forEach((b) => { b.disabled = true; });

  /* a scene or a found place → a window: a circle around it ± the span, with its nearest checkpoints */
  function fromPoint(p, label, when) {
    const [start, end] = when ? wallAround(when, span()) : [$("start").value, $("end").value];
    if (when) { $("start").value = start; $("end").value = end; }
    const spec = { kind: "circle", value: { lon: p.lon, lat: p.lat, radius_m: radius() }, start, end, label };
    if ($("with-cps").checked && p.near_checkpoints?.length) spec.near_checkpoints = p.near_checkpoints.map((c) => c.code);
    add(spec, null, { near_checkpoints: p.near_checkpoints || [] });
    zj.toast(`${t("coll.added", "已添加窗口")}: ${label}`, "ok");
  }
  const sceneLabel = (s) => `${s.category || zj.mode(s.type)} ${s.id}`;
  const useScene = (s) => fromPoint(s, sceneLabel(s), s.ts);

  /* the scene layer: the incidents and cases in view (of this case's category by default) */
  let scenes = [], sceneTimer = null, caseScene = null;
  async function loadScenes() {
    if (!$("scenes-on").checked || !m) { sceneLayer?.clearLayers(); return; }
    if (!zj.purpose()) { $("scene-status").textContent = t("coll.scene.nopurpose", "请先在右上角选择案件作为用途以查看现场"); return; }
    const b = m.getBounds(), cat = $("scene-category").value;
    const p = new URLSearchParams({ bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(5)).join(","), limit: 500 });
    if (cat) p.set("category", cat); else if ($("scene-case").checked) p.set("of_case", "true");
    if ($("scene-from").value) p.set("start", `${$("scene-from").value}T00:00`);  // the city's wall time, whole days
    if ($("scene-to").value) p.set("end", `${$("scene-to").value}T23:59:59`);
    let out;
    try { out = await zj.api(`/api/collision/scenes?${p}`, { quiet: true }); } catch (e) { $("scene-status").textContent = e.message; return; }
    scenes = out.scenes; caseScene = out.case;
    const sel = $("scene-category"), keep = sel.value, counts = { ...out.categories };
    if (out.category && !(out.category in counts)) counts[out.category] = 0;  // the chosen one stays, with none in view
    sel.innerHTML = `<option value="">${esc(t("coll.scene.all", "全部"))}</option>` +
      Object.entries(counts).map(([c, n]) => `<option value="${esc(c)}">${esc(c || "—")} (${n})</option>`).join("");
    sel.value = keep || out.category || "";
    $("scene-status").textContent = out.total ? `${out.total} ${t("coll.scene.n", "个现场在视野内")}${out.total > scenes.length ? ` · ${scenes.length} ${t("coll.scene.shown", "已显示")}` : ""}`
      : t("coll.scene.none", "视野内没有现场：请缩小地图或换一个类别");
    sceneLayer.clearLayers();
    scenes.forEach((s) => {
      const own = caseScene && s.id === caseScene.id;
      const icon = L.divIcon({ className: "scene-marker" + (own ? " own" : ""), iconSize: [14, 14], html: `<span data-scene="${esc(s.id)}"></span>` });
      L.marker([s.lat, s.lon], { icon, title: sceneLabel(s), keyboard: false, zIndexOffset: own ? 1000 : 0 })
        .bindTooltip(esc(`${sceneLabel(s)} · ${zj.time(s.ts)} · ${s.place_name || ""}`)).on("click", () => useScene(s)).addTo(sceneLayer);
    });
    zj.table("#scenes", [zj.timeCol("col.time", "时间", (s) => s.ts), ["coll.category", "类别", (s) => esc(s.category || zj.mode(s.type))],
      ["coll.where", "地点", (s) => esc(s.place_name || "")], ["col.record_id", "编号", "id"],
      ["coll.scene.use", "设为窗口", (s) => `<button type="button" class="secondary" data-scene="${esc(s.id)}">${esc(t("coll.scene.use", "设为窗口"))}</button>`]],
    scenes.slice(0, 200), { empty: t("coll.scene.none", "视野内没有现场：请缩小地图或换一个类别") });
    document.querySelectorAll("#scenes button[data-scene]").forEach((btn) => btn.addEventListener("click", () => useScene(scenes.find((s) => s.id === btn.dataset.scene))));
  }
  const soon = () => { clearTimeout(sceneTimer); sceneTimer = setTimeout(loadScenes, 250); };
  m?.on("moveend", soon);
  ["scenes-on", "scene-case", "scene-category", "scene-from", "scene-to"].forEach((id) => $(id).addEventListener("change", soon));

  /* address lookup: centre on the place, propose a window there */
  const PLACE_KINDS = { address: "标准地址", road: "道路", hotel: "旅馆", checkpoint: "卡口", terminal: "车站机场" };
  $("place-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = $("place-q").value.trim(); if (!q) return;
    const out = await zj.api(`/api/collision/places?q=${encodeURIComponent(q)}`).catch(() => null);
    if (!out) return;
    const list = $("place-list");
    list.innerHTML = out.places.length ? out.places.map((p, i) => `<li><a href="#" data-place="${i}">${esc(t("coll.pk." + p.kind, PLACE_KINDS[p.kind] || p.kind))} · ${esc(p.label)}` +
      `${p.code && p.code !== p.label ? " · " + esc(p.code) : ""}</a></li>`).join("") : `<li class="muted">${esc(t("coll.place.none", "未找到该地址、道路或地点"))}</li>`;
    list.querySelectorAll("[data-place]").forEach((a) => a.addEventListener("click", (e) => {
      e.preventDefault();
      const p = out.places[+a.dataset.place];
      m?.setView([p.lat, p.lon], Math.max(m.getZoom(), 15));
      fromPoint(p, p.label.slice(0, 40));
      list.innerHTML = "";
    }));
  });

  /* the other kinds, typed (H3 cell, checkpoint group, standard address) */
  const form = $("window-form");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const spec = { kind: form.kind.value, value: form.value.value.trim() };
    if (spec.kind === "address") spec.radius_m = radius();
    add(spec, null);
  });

  /** Windows can also come in the URL (?windows=<json>), so a collision is a link. */
  try { JSON.parse(zj.qs("windows") || "[]").forEach((w) => add(w, null)); } catch (e) { /* ignore a bad link */ }
  if (zj.qs("k")) $("k").value = zj.qs("k");

  const how = (e) => [zj.mode(e.mode), zj.dsName(e.dataset),
    e.matched === "checkpoint" ? `${t("coll.how.cp", "卡口")} ${e.place_name || e.place_id || ""}` : t("coll.how.area", "位于窗口范围内"),
    e.via ? `${t("coll.how.via", "经车辆")} ${e.via}` : ""].filter(Boolean).join(" · ");
  function show(out) {
    if (!out) return;
    $("summary").textContent = `k = ${out.k} · ${out.total ?? out.hits.length}`;
    (out.windows || []).forEach((d, i) => {  // a typed window (cell, address) drawn as the server shaped it
      const w = windows[i];
      if (w && !w.layer && d.polygon && m) { w.layer = L.polygon(d.polygon.map(([x, y]) => [y, x]), { color: "#123f7a", weight: 2, fillOpacity: 0.12 }); drawn.addLayer(w.layer); }
    });
    const who = (h) => h.kind === "person" ? `<a href="/persons/${encodeURIComponent(h.subject)}">${esc((h.person?.name || "") + " " + h.subject)}</a>` : esc(`${zj.kindName(h.kind)} ${h.subject}`);
    zj.table("#hits", [["coll.subject", "对象", who], ["coll.nwin", "窗口数", "windows"], ["coll.records", "记录数", "records"],
      ["wb.mode", "方式", (h) => esc([...new Set((h.evidence || []).map(how))].slice(0, 2).join("；"))],
      ["wb.pin", "钉选", (h) => zj.pinButton(`${h.kind}:${h.subject}`)]],
    out.hits, { onClick: (h) => {
      $("evidence-card").hidden = false;
      $("evidence-title").textContent = `${t("comp.evidence", "证据")} · ${zj.kindName(h.kind)} ${h.subject}`;
      zj.table("#evidence", [zj.timeCol("col.time", "时间", (e) => e.ts), ["wb.mode", "方式", (e) => esc(how(e))],
        ["wb.place", "地点", (e) => esc(e.place_name || e.place_id || "")], ["col.dataset", "数据集", (e) => esc(zj.dsName(e.dataset))],
        ["col.record_id", "来源记录", "record_id"], ["coll.window", "窗口", (e) => esc(windows[+e.window]?.spec.label || +e.window + 1)]], h.evidence || []);
      evidenceLayer?.remove();
      evidenceLayer = zj.map.points(m, (h.evidence || []).map((e) => ({ lat: e.lat, lon: e.lon, color: "#7a3db8", label: esc(`${zj.time(e.ts)} ${how(e)}`) })));
    } });
    document.querySelectorAll("#hits [data-pin]").forEach((b) => b.addEventListener("click", () => {
      const h = out.hits.find((x) => `${x.kind}:${x.subject}` === b.dataset.pin);
      zj.pin("pin", `碰撞命中 ${b.dataset.pin}`, { windows: out.windows, hit: h });
    }));
  }
  let ran = false;
  zj.rerun(() => { saved(); loadScenes(); if (ran) collide(false); });
  async function collide(save) {
    ran = true;
    if (!windows.length) { zj.toast(t("coll.none", "请至少添加一个窗口")); return; }
    if (windows.some((w) => !w.spec.start || !w.spec.end)) { zj.toast(t("coll.notime", "请为每个窗口填写起止时间")); return; }
    const body = { windows: windows.map((w) => w.spec), k: Math.min(+$("k").value || windows.length, windows.length), save, name: $("save-name").value };
    show(await zj.analysis("#hits", "/api/collision", { method: "POST", json: body }));
    if (save) saved();
  }
  $("run").addEventListener("click", () => collide(false));
  $("save").addEventListener("click", () => collide(true));
  async function saved() {
    if (!zj.purpose()) return;
    const s = await zj.api("/api/collision/saved", { quiet: true }).catch(() => null);
    if (!s) return;
    zj.table("#saved", [["coll.name", "名称", "name"], zj.timeCol("col.time", "时间", (x) => x.last_run_at || x.created_at),
      ["coll.records", "命中", (x) => esc(x.last_hits ?? x.hits ?? "")],
      ["coll.rerun", "重新碰撞", (x) => `<button type="button" class="secondary" data-run="${esc(x.id)}">${esc(t("coll.rerun", "重新碰撞"))}</button>`]], s.items || []);
    document.querySelectorAll("#saved [data-run]").forEach((b) => b.addEventListener("click", async () => {
      const item = (s.items || []).find((x) => String(x.id) === b.dataset.run);
      while (windows.length) remove(0);  // its windows back on the map, to see and to edit
      (item?.spec?.windows || []).forEach((w) => add(w, null));
      if (item?.spec?.k) $("k").value = item.spec.k;
      if (m && windows.length && drawn.getBounds().isValid()) m.fitBounds(drawn.getBounds().pad(0.3), { maxZoom: 14 });
      show(await zj.analysis("#hits", `/api/collision/saved/${b.dataset.run}/run`, { method: "POST" }));
    }));
  }
  saved();
  loadScenes();
  zj.collision = { windows, add, useScene, scenes: () => scenes };  // for the browser tests
  if (windows.length && zj.qs("run")) collide(false);
};
