/* 轨迹: every dated place of a person, plate or phone — on the map, on the timeline and as a
   table of source records (GET /api/trajectory of the workbench). */
"use strict";
zj.addEN({ "traj.map": "Trajectory map", "traj.timeline": "Timeline", "traj.points": "Points (source records)",
  "traj.total": "points" });
zj.pages.trajectory = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc;
  const m = await zj.map.create("map");
  let layer = null;
  zj.subjectForm("subject-form", async ({ subject, start, end }) => {
    const p = new URLSearchParams({ subject, limit: 1000 }); if (start) p.set("start", start); if (end) p.set("end", end);
    const out = await zj.analysis("#points", `/api/trajectory?${p}`);
    if (!out) return;
    const pts = out.points || [];
    document.getElementById("summary").textContent = `${out.subject || subject} · ${out.total ?? pts.length} ${t("traj.total", "个轨迹点")}`;
    zj.table("#points", zj.pointCols([["wb.pin", "钉选", (x) => zj.pinButton(pts.indexOf(x))]]), pts);
    document.querySelectorAll("#points [data-pin]").forEach((b) => b.addEventListener("click", () => {
      const x = pts[+b.dataset.pin];
      zj.pin("pin", `${subject} ${zj.time(x.ts)} ${x.place_name || ""}`, { subject, point: x });
    }));
    if (layer) layer.remove();
    layer = zj.map.points(m, pts.map((x) => ({ lat: x.lat, lon: x.lon, label: `${zj.time(x.ts)} ${x.place_name || ""}` })), { line: true });
    const modes = [...new Set(pts.map((x) => x.mode))];
    zj.chart("timeline")?.setOption({ tooltip: { formatter: (q) => esc(q.data.label) }, grid: { left: 80 }, xAxis: zj.timeAxis("timeline"),
      yAxis: { type: "category", data: modes.map(zj.mode) }, dataZoom: [{ type: "inside" }, { type: "slider" }],
      series: [{ type: "scatter", symbolSize: 9, data: pts.map((x) => ({ value: [zj.chartTime(x.ts), zj.mode(x.mode)], label: `${zj.time(x.ts)} ${x.place_name || ""} ${zj.dsName(x.dataset)}` })) }] });
  });
};
