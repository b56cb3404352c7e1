/* 轨迹: every dated place of a person, plate or phone — on the map, on the timeline and as a
   table of source records (GET /api/trajectory of the workbench). The map fits where the
   points are dense (the city; a departure from far away is listed in its corner), and a
   time slider with playback walks the points in time order. */
"use strict";
zj.addEN({ "traj.map": "Trajectory map", "traj.timeline": "Timeline", "traj.points": "Points (source records)",
  "traj.total": "points", "traj.play": "Play", "traj.pause": "Pause", "traj.slider": "Time", "traj.speed": "Speed",
  "traj.offmap": "off the map" });
zj.trajectory = (() => {
  const t = zj.t, esc = zj.esc;
  const STEP_MS = 700;  // one point every 0.7 s at 1×
  let state = null;  // { m, pts, far, now, path, timer, chart }

  function show(i) {
    const s = state;
    if (!s || !s.pts.length) return;
    i = Math.max(0, Math.min(s.pts.length - 1, i));
    s.i = i;
    const p = s.pts[i];
    document.getElementById("traj-slider").value = String(i);
    const off = s.far.has(p);
    document.getElementById("traj-now").textContent =
      `${i + 1} / ${s.pts.length} · ${zj.time(p.ts)} ${p.place_name || ""}${off ? ` (${t("traj.offmap", "地图外")})` : ""}`;
    if (s.m && s.now && p.lat != null && p.lon != null) {
      s.path.setLatLngs(s.pts.slice(0, i + 1).filter((q) => q.lat != null && !s.far.has(q)).map((q) => [q.lat, q.lon]));
      s.now.setLatLng([p.lat, p.lon]).setStyle({ opacity: off ? 0 : 1, fillOpacity: off ? 0 : 0.9 });
      if (!off && !s.m.getBounds().contains([p.lat, p.lon])) s.m.panTo([p.lat, p.lon], { animate: false });
    }
    document.querySelectorAll("#points tbody tr.now").forEach((tr) => tr.classList.remove("now"));
    document.querySelector(`#points tbody tr[data-i="${i}"]`)?.classList.add("now");
    s.chart?.setOption({ series: [{ markLine: { silent: true, symbol: "none", label: { show: false }, lineStyle: { color: "#c8102e" },
      data: [{ xAxis: zj.chartTime(p.ts) }] } }] });
  }
  function play(on) {
    const s = state, btn = document.getElementById("traj-play");
    clearInterval(s?.timer);
    if (s) s.timer = null;
    btn.textContent = on ? `❚❚ ${t("traj.pause", "暂停")}` : `▶ ${t("traj.play", "播放")}`;
    btn.dataset.playing = on ? "1" : "";
    if (!on || !s) return;
    if (s.i >= s.pts.length - 1) show(0);
    s.timer = setInterval(() => {
      if (s.i >= s.pts.length - 1) { play(false); return; }
      show(s.i + 1);
    }, STEP_MS / (+document.getElementById("traj-speed").value || 1));
  }

  /** A new trajectory: the slider and playback over its points (the map joins in onMap). */
  function draw(pts) {
    for (const l of [state?.layer, state?.now, state?.path]) l?.remove();
    play(false);
    state = { pts, i: 0, far: new Set() };
    document.getElementById("traj-playback").hidden = !pts.length;
    document.getElementById("traj-slider").max = String(Math.max(0, pts.length - 1));
    return state;
  }
  /** The points on the map: fitted where they are dense, the far ones listed, the path so far. */
  async function onMap(s, m) {
    if (!m || state !== s) return;
    const { far } = await zj.map.focus(m, s.pts);
    s.far = new Set(far);
    s.layer = zj.map.points(m, s.pts.map((x) => ({ lat: x.lat, lon: x.lon, radius: 4, color: "#e0808f",
      label: `${zj.time(x.ts)} ${x.place_name || ""}` })), { fit: false });
    s.path = L.polyline([], { color: "#c8102e", weight: 3 }).addTo(m);
    s.now = L.circleMarker([0, 0], { radius: 9, color: "#7a0019", fillColor: "#c8102e", fillOpacity: 0.9 }).addTo(m);
    s.m = m;
  }

  async function page() {
    await zj.chrome();
    const mapped = zj.map.create("map", { lazy: true });  // the map and the analysis load side by side
    document.getElementById("traj-slider").addEventListener("input", (ev) => { play(false); show(+ev.target.value); });
    document.getElementById("traj-play").addEventListener("click", (ev) => play(!ev.currentTarget.dataset.playing));
    document.getElementById("traj-speed").addEventListener("change", () => { if (state?.timer) play(true); });
    zj.subjectForm("subject-form", async ({ subject, start, end }) => {
      const p = new URLSearchParams({ subject, limit: 1000 }); if (start) p.set("start", start); if (end) p.set("end", end);
      const out = await zj.analysis("#points", `/api/trajectory?${p}`);
      if (!out) return;
      const pts = out.points || [];
      document.getElementById("summary").textContent = `${out.subject || subject} · ${out.total ?? pts.length} ${t("traj.total", "个轨迹点")}`;
      zj.table("#points", zj.pointCols([["wb.pin", "钉选", (x) => zj.pinButton(pts.indexOf(x))]]), pts,
        { onClick: (x) => { play(false); show(pts.indexOf(x)); } });
      document.querySelectorAll("#points [data-pin]").forEach((b) => b.addEventListener("click", () => {
        const x = pts[+b.dataset.pin];
        zj.pin("pin", `${subject} ${zj.time(x.ts)} ${x.place_name || ""}`, { subject, point: x });
      }));
      const s = draw(pts);
      const modes = [...new Set(pts.map((x) => x.mode))];
      s.chart = zj.chart("timeline");
      s.chart?.setOption({ tooltip: { formatter: (q) => esc(q.data.label) }, grid: { left: 80 }, xAxis: zj.timeAxis("timeline"),
        yAxis: { type: "category", data: modes.map(zj.mode) }, dataZoom: [{ type: "inside" }, { type: "slider" }],
        series: [{ type: "scatter", symbolSize: 9, data: pts.map((x, i) => ({ value: [zj.chartTime(x.ts), zj.mode(x.mode)], i,
          label: `${zj.time(x.ts)} ${x.place_name || ""} ${zj.dsName(x.dataset)}` })) }] });
      s.chart?.on("click", (q) => { if (q.data?.i != null) { play(false); show(q.data.i); } });
      show(0);
      await onMap(s, await mapped);  // the table and timeline first, the map as soon as it is there
      if (state === s) show(s.i);
    });
  }
  return { page, show, play, state: () => state };
})();
zj.pages.trajectory = zj.trajectory.page;
