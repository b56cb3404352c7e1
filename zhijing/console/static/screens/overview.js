/* 总览: the city map (jurisdictions, incident cells) and the data-resource charts. */
"use strict";
zj.addEN({ "overview.map": "Jurisdictions and incidents", "overview.months": "110 incidents per month",
  "overview.categories": "110 incidents by category", "overview.datasets": "Datasets (rows)", "overview.quality": "Data quality" });
zj.quality = (d) => (typeof d.quality === "number" ? d.quality : d.quality?.score ?? d.quality_score ?? null);
zj.pages.overview = async () => {
  await zj.chrome();
  const cat = await zj.api("/api/catalog");
  const items = cat.datasets || cat;
  const names = items.map((d) => (zj.lang() === "en" ? zj.dsName(d.name) : d.title || d.name));
  zj.chart("dataset-chart")?.setOption({ tooltip: {}, grid: { left: 140 }, xAxis: { type: "log" },
    yAxis: { type: "category", axisLabel: { interval: 0 }, data: names },
    series: [{ type: "bar", data: items.map((d) => d.row_count || d.rows || 0) }] });
  zj.chart("quality-chart")?.setOption({ tooltip: {}, grid: { left: 140 }, xAxis: { max: 1 },
    yAxis: { type: "category", axisLabel: { interval: 0 }, data: names },
    series: [{ type: "bar", data: items.map((d) => zj.quality(d) ?? 0) }] });
  const inc = await zj.api("/api/geo/incidents", { quiet: true }).catch(() => null);
  const m = await zj.map.create("map");
  if (m && inc) {
    const peak = Math.max(1, ...inc.cells.map((c) => c[2]));
    zj.map.points(m, inc.cells.map(([lon, lat, n]) => ({ lon, lat, label: `${n}`,
      radius: 3 + 6 * n / peak, color: n / peak > 0.5 ? "#7f0000" : n / peak > 0.2 ? "#d7301f" : "#f5a25d" })));
  }
  if (!inc) return;
  const months = Object.keys(inc.months);
  const en = zj.lang() === "en";
  const monthLabel = (k) => { const [y, mo] = k.split("-"); return en ? new Date(+y, +mo - 1).toLocaleString("en", { month: "short", year: "numeric" }) : `${y}年${+mo}月`; };
  zj.chart("incident-months")?.setOption({ tooltip: { trigger: "axis" }, xAxis: { type: "category", data: months.map(monthLabel) },
    yAxis: { type: "value" }, series: [{ type: "line", smooth: true, areaStyle: {}, data: months.map((k) => inc.months[k]) }] });
  zj.chart("incident-categories")?.setOption({ tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["40%", "70%"],
    data: Object.entries(inc.categories).map(([name, value]) => ({ name, value })) }] });
};
