/* 资源目录: datasets, one dataset's fields, lineage and quality history. */
"use strict";
zj.addEN({ "catalog.name": "Dataset", "catalog.owner": "Owner", "catalog.grade": "Grade", "catalog.rows": "Rows",
  "catalog.quarantined": "Quarantined", "catalog.quality": "Quality", "catalog.freshness": "Updated",
  "catalog.field": "Field", "catalog.element": "Data element", "catalog.note": "Note",
  "catalog.profile": "Profile of the file as declared", "catalog.shapes": "Value shapes", "catalog.valid": "Valid",
  "catalog.sharing": "Sharing contracts" });
zj.pages.catalog = async () => {
  await zj.chrome();
  const esc = zj.esc, quality = (d) => (typeof d.quality === "number" ? d.quality : d.quality?.score ?? d.quality_score ?? null);
  const cat = await zj.loading("#catalog", zj.api("/api/catalog"));
  const shared = (await zj.api("/api/sharing/catalog", { quiet: true }).catch(() => ({ datasets: {} }))).datasets;  // contracts exposing each
  zj.table("#catalog", [
    ["catalog.name", "数据集", (d) => `<b>${esc(zj.lang() === "en" ? zj.dsName(d.name) : d.title)}</b><br><span class="muted">${esc(d.name)}</span>`],
    ["catalog.owner", "归属部门", "owner"],
    ["catalog.grade", "分级", (d) => `<span class="badge ${esc(d.grade)}">${esc(d.grade)}</span> <span class="badge">${esc(d.pi || "")}</span>`],
    ["catalog.rows", "记录数", (d) => esc((d.row_count ?? d.rows ?? "").toLocaleString())],
    ["catalog.quarantined", "隔离", (d) => esc(d.quarantined ?? "")],
    ["catalog.quality", "质量", (d) => (quality(d) == null ? "" : `${(quality(d) * 100).toFixed(1)}%`)],
    zj.timeCol("catalog.freshness", "更新时间", (d) => d.freshness || d.updated_at),
    ["catalog.sharing", "共享协议", (d) => (shared[d.name] || []).map((c) =>
      `<a href="/sharing" class="badge" data-contract="${esc(c.id)}" title="${esc(c.fields.join(", "))}">${esc(c.department)} · ${esc(c.title)}</a>`).join(" ")],
  ], cat.datasets || cat, { onClick: async (d) => {
    const detail = await zj.api(`/api/catalog/${encodeURIComponent(d.name)}`);
    document.getElementById("dataset-detail").hidden = false;
    document.getElementById("dataset-title").textContent = `${detail.title || d.title} (${d.name})`;
    zj.table("#schema", [["catalog.field", "字段", "name"], ["catalog.element", "数据元", "element"], ["catalog.grade", "分级", "grade"],
      ["catalog.note", "说明", "note"]], detail.fields || detail.schema || []);
    const prof = detail.profile;  // a source brought in with `zhijing sources add`: its file's profile
    document.getElementById("profile").hidden = !prof;
    if (prof) {
      const endings = Object.entries(prof.line_endings || {}).filter(([, n]) => n).map(([k, n]) => `${k.toUpperCase()} ${n}`).join(", ");
      document.getElementById("profile-summary").textContent = `${prof.file} · ${(prof.rows ?? 0).toLocaleString()} · ` +
        `${prof.encoding}${prof.bom ? " BOM" : ""} · ${endings} · ${JSON.stringify(prof.delimiter)} · ${detail.declared_in || ""}`;
      zj.table("#profile-columns", [["catalog.field", "字段", "name"], ["catalog.element", "数据元", "element"],
        ["catalog.shapes", "值形态", (c) => esc((c.shapes || []).map(([s, x]) => `${s} ${(x * 100).toFixed(0)}%`).join("  "))],
        ["catalog.valid", "合规率", (c) => (c.valid == null ? "" : `${(c.valid * 100).toFixed(1)}%`)],
        ["catalog.note", "说明", (c) => esc(c.format || c.note || "")]], prof.columns || []);
    }
    const lineage = detail.lineage || {};
    const label = (s) => (typeof s === "object" && s ? `${s.zone || ""}/${s.dataset || s.name || ""}` : String(s));
    const inputs = (lineage.inputs || []).map(label), target = `clean/${d.name}`;
    const job = lineage.job ? `${lineage.job} (${lineage.engine || ""})` : "job";
    zj.chart("lineage")?.setOption({ title: { text: "血缘 lineage", textStyle: { fontSize: 12 } }, series: [{ type: "graph", layout: "force",
      force: { repulsion: 300, edgeLength: 120 }, label: { show: true }, symbolSize: 14, edgeSymbol: ["none", "arrow"],
      data: [...new Set([...inputs, job, target])].map((n) => ({ name: n })),
      links: [...inputs.map((s) => ({ source: s, target: job })), { source: job, target }] }] });
    const qh = await zj.api(`/api/catalog/${encodeURIComponent(d.name)}/quality`, { quiet: true }).catch(() => null);
    if (!qh) return;
    const hist = qh.history || qh, dims = ["completeness", "validity", "uniqueness", "timeliness", "consistency"];
    zj.chart("quality-history")?.setOption({ tooltip: { trigger: "axis" }, legend: {}, xAxis: { type: "category",
      data: hist.map((h) => zj.time(h.measured_at || h.at)) }, yAxis: { max: 1 }, series: dims.map((k) => ({ name: k, type: "line", data: hist.map((h) => h[k]) })) });
  } });
};
