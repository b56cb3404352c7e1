/* 比对: two subjects' trajectories side by side, and where and when they coincided
   (GET /api/compare of the workbench); the map fits where the points are dense. */
"use strict";
zj.addEN({ "cmp.a": "Subject A", "cmp.b": "Subject B", "cmp.dt": "Δt (seconds)", "cmp.radius": "Distance (m)",
  "cmp.map": "Both trajectories", "cmp.timeline": "Timeline", "cmp.coincidences": "Coincidences", "cmp.how": "How", "cmp.dts": "Δt (s)",
  "cmp.at": "A: place / record", "cmp.bt": "B: place / record" });
zj.pages.compare = async () => {
  await zj.chrome();
  const esc = zj.esc;
  const mapped = zj.map.create("map", { lazy: true });  // the map and the analysis load side by side
  const layers = [];
  zj.subjectForm("compare-form", async ({ a, b, dt, radius }) => {
    const [out, m] = await Promise.all([
      zj.analysis("#coincidences", `/api/compare?${new URLSearchParams({ a, b, dt: dt || 3600, radius: radius || 300 })}`), mapped]);
    if (!out) return;
    document.getElementById("summary").textContent = `${out.a.subject || a} · ${out.b.subject || b} · ${out.coincidences.length}`;
    const side = (s) => `${esc(zj.time(s.ts))} ${esc(s.place_name || s.place_id || "")}<br><span class="muted">${esc(zj.dsName(s.dataset))}：${esc(s.record_id)}</span>`;
    zj.table("#coincidences", [["cmp.how", "方式", (c) => esc(zj.relName(c.how))], ["cmp.dts", "时间差（秒）", "dt_s"], ["cmp.at", "A 地点 / 记录", (c) => side(c.a)],
      ["cmp.bt", "B 地点 / 记录", (c) => side(c.b)]], out.coincidences);
    layers.splice(0).forEach((l) => l.remove());
    [["a", "#c8102e"], ["b", "#123f7a"]].forEach(([k, color]) => layers.push(zj.map.points(m, out[k].points.map((p) =>
      ({ lat: p.lat, lon: p.lon, color, label: `${k.toUpperCase()} ${zj.time(p.ts)} ${p.place_name || ""}` })), { line: true, color, fit: false })));
    await zj.map.focus(m, [...out.a.points, ...out.b.points]);  // where both are dense; far points listed in the corner
    zj.chart("timeline")?.setOption({ tooltip: {}, legend: {}, xAxis: zj.timeAxis("timeline"), yAxis: { type: "category", data: ["A", "B"] },
      dataZoom: [{ type: "inside" }, { type: "slider" }],
      series: [["A", out.a], ["B", out.b]].map(([n, s]) => ({ name: n, type: "scatter", symbolSize: 9, data: s.points.map((p) => [zj.chartTime(p.ts), n]) })) });
  });
};
