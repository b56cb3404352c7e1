/* 碰撞: space-time windows (a circle picked on the map, an H3 cell, a checkpoint, an address),
   the persons, phones and plates present in at least k of them with their evidence; saved
   under the case and re-run (POST /api/collision, /api/collision/saved of the workbench). */
"use strict";
zj.addEN({ "coll.windows": "Space-time windows (click the map to pick a circle)", "coll.kind": "Kind", "coll.circle": "Circle",
  "coll.h3": "H3 cell", "coll.checkpoint": "Checkpoint", "coll.address": "Address", "coll.value": "Value (cell / checkpoint / address; circle: map click)",
  "coll.radius": "Radius (m)", "coll.add": "Add window", "coll.k": "Present in at least k windows", "coll.name": "Save as",
  "coll.run": "Collide", "coll.save": "Collide and save", "coll.saved": "Saved collisions", "coll.hits": "Hits",
  "coll.subject": "Subject", "coll.nwin": "Windows", "coll.records": "Records", "coll.window": "Window", "coll.rerun": "Re-run",
  "coll.pick": "Click the map first", "coll.none": "Add at least one window", "coll.remove": "remove" });
zj.pages.collision = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc, form = document.getElementById("window-form");
  const windows = [];
  let picked = null, marker = null;
  const m = await zj.map.create("map");
  m?.on("click", (ev) => {
    picked = { lat: ev.latlng.lat, lon: ev.latlng.lng };
    marker?.remove();
    marker = L.circle([picked.lat, picked.lon], { radius: +form.radius.value || 500, color: "#c8102e" }).addTo(m);
    form.kind.value = "circle"; form.value.value = `${picked.lon.toFixed(5)}, ${picked.lat.toFixed(5)}`;
  });
  const local = (v) => v || "";  // local time (the city's), as the form gives it
  function render() {
    document.getElementById("windows").innerHTML = windows.map((w, i) => `<li>${esc(w.kind)} · ${esc(typeof w.value === "object" ? JSON.stringify(w.value) : w.value)}` +
      ` · ${esc(w.start.slice(0, 16))} – ${esc(w.end.slice(0, 16))} <a href="#" data-rm="${i}">${esc(t("coll.remove", "删除"))}</a></li>`).join("");
    document.querySelectorAll("#windows [data-rm]").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); windows.splice(+a.dataset.rm, 1); render(); }));
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const kind = form.kind.value, radius = +form.radius.value || 500;
    let value = form.value.value.trim();
    if (kind === "circle") {
      const [lon, lat] = value.split(",").map(Number);
      if (!Number.isFinite(lon) || !Number.isFinite(lat)) { zj.toast(t("coll.pick", "请先在地图上点击")); return; }
      value = { lon, lat, radius_m: radius };
    }
    const w = { kind, value, start: local(form.start.value), end: local(form.end.value) };
    if (kind === "address") w.radius_m = radius;
    windows.push(w); render();
  });
  /** Windows can also come in the URL (?windows=<json>), so a collision is a link. */
  try { JSON.parse(zj.qs("windows") || "[]").forEach((w) => windows.push(w)); render(); } catch (e) { /* ignore a bad link */ }
  if (zj.qs("k")) document.getElementById("k").value = zj.qs("k");
  function show(out) {
    if (!out) return;
    document.getElementById("summary").textContent = `k = ${out.k} · ${out.total ?? out.hits.length}`;
    const who = (h) => h.kind === "person" ? `<a href="/persons/${encodeURIComponent(h.subject)}">${esc((h.person?.name || "") + " " + h.subject)}</a>` : esc(`${h.kind}:${h.subject}`);
    zj.table("#hits", [["coll.subject", "对象", who], ["coll.nwin", "窗口数", "windows"], ["coll.records", "记录数", "records"],
      ["wb.pin", "钉选", (h) => zj.pinButton(`${h.kind}:${h.subject}`)]],
    out.hits, { onClick: (h) => {
      document.getElementById("evidence-card").hidden = false;
      document.getElementById("evidence-title").textContent = `${t("comp.evidence", "证据")} · ${h.kind}:${h.subject}`;
      zj.table("#evidence", zj.pointCols([["coll.window", "窗口", (e) => esc(+e.window + 1)]]), h.evidence || []);
    } });
    document.querySelectorAll("#hits [data-pin]").forEach((b) => b.addEventListener("click", () => {
      const h = out.hits.find((x) => `${x.kind}:${x.subject}` === b.dataset.pin);
      zj.pin("pin", `碰撞命中 ${b.dataset.pin}`, { windows: out.windows, hit: h });
    }));
  }
  let ran = false;
  zj.rerun(() => { saved(); if (ran) collide(false); });
  async function collide(save) {
    ran = true;
    if (!windows.length) { zj.toast(t("coll.none", "请至少添加一个窗口")); return; }
    const body = { windows, k: +document.getElementById("k").value || null, save, name: document.getElementById("save-name").value };
    show(await zj.analysis("#hits", "/api/collision", { method: "POST", json: body }));
    if (save) saved();
  }
  document.getElementById("run").addEventListener("click", () => collide(false));
  document.getElementById("save").addEventListener("click", () => collide(true));
  async function saved() {
    if (!zj.purpose()) return;
    const s = await zj.api("/api/collision/saved", { quiet: true }).catch(() => null);
    if (!s) return;
    zj.table("#saved", [["coll.name", "名称", "name"], zj.timeCol("col.time", "时间", (x) => x.last_run_at || x.created_at),
      ["coll.records", "命中", (x) => esc(x.last_hits ?? x.hits ?? "")],
      ["coll.rerun", "重新碰撞", (x) => `<button type="button" class="secondary" data-run="${esc(x.id)}">${esc(t("coll.rerun", "重新碰撞"))}</button>`]], s.items || []);
    document.querySelectorAll("#saved [data-run]").forEach((b) => b.addEventListener("click", async () =>
      show(await zj.analysis("#hits", `/api/collision/saved/${b.dataset.run}/run`, { method: "POST" }))));
  }
  saved();
  if (windows.length && zj.qs("run")) collide(false);
};
