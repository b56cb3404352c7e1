/* 关系研判: the relationship graph (Cytoscape.js, vendored) from GET /api/graph/expand; a click
   on a node expands it, a click on an edge lists its evidence records. */
"use strict";
zj.addEN({ "graph.subject": "Subject (citizen ID / mobile / plate / person ID, or P: T: A: V: C: ids)", "graph.hops": "Hops",
  "graph.types": "Edge types (comma separated, optional)", "graph.hint": "Click a node to expand it; click an edge for its evidence.",
  "graph.nodes": "nodes", "graph.edges": "edges", "graph.nolib": "Cytoscape is not installed (make setup): edges as a table" });
zj.pages.graph = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc;
  const TYPES = { household: "同户", co_lodging: "同住", co_travel: "同行", co_netbar: "同上网", co_case: "同案", call: "通话", transfer: "转账",
    holds: "持有", uses: "使用", owns: "车主", drives: "驾驶", company_role: "任职" };
  const COLORS = { person: "#c8102e", phone: "#2f7d32", account: "#8a5a00", vehicle: "#123f7a", company: "#6a1b9a" };
  const en = zj.lang() === "en", typeName = (x) => (en ? x : TYPES[x] || x);
  const box = document.getElementById("graph");
  const cy = window.cytoscape ? cytoscape({ container: box, wheelSensitivity: 0.3, style: [
    // labels only where they can be read: hidden when zoomed out (many nodes fitted into a small box)
    { selector: "node", style: { label: "data(label)", "font-size": 10, "min-zoomed-font-size": 9, "text-wrap": "ellipsis",
      "text-max-width": 80, "background-color": "data(color)", width: 18, height: 18 } },
    { selector: "node.seed", style: { "border-width": 3, "border-color": "#000" } },
    { selector: "edge", style: { label: "data(label)", "font-size": 8, "min-zoomed-font-size": 10, width: "mapData(weight, 1, 10, 1, 5)", "curve-style": "bezier",
      "line-color": "#9aa7b8", "target-arrow-shape": "triangle", "target-arrow-color": "#9aa7b8" } }] }) : null;
  if (!cy) box.innerHTML = `<p class="muted">${esc(t("graph.nolib", "未安装 Cytoscape（make setup）：以表格列出关系"))}</p><table id="edges" class="data"></table>`;
  const edges = new Map();
  let opts = {};
  function merge(out, seed) {
    const add = [];
    out.nodes.forEach((n) => { if (!cy?.getElementById(n.id).length) add.push({ group: "nodes", data: { id: n.id, label: n.label || n.id, kind: n.kind, color: COLORS[n.kind] || "#555" } }); });
    out.edges.forEach((e) => {
      const id = e.edge_id || `${e.source}|${e.target}|${e.type}`;
      if (edges.has(id)) return;
      edges.set(id, e);
      add.push({ group: "edges", data: { id, source: e.source, target: e.target, label: typeName(e.type), weight: e.weight || 1 } });
    });
    if (cy) {
      cy.add(add); cy.getElementById(seed).addClass("seed");
      cy.layout({ name: "cose", animate: false, nodeRepulsion: 8000 }).run();
    } else {
      zj.table("#edges", [["graph.a", "起", "source"], ["graph.b", "止", "target"], ["graph.type", "关系", (e) => esc(typeName(e.type))]], [...edges.values()]);
    }
    document.getElementById("summary").textContent = `${cy ? cy.nodes().length : out.nodes.length} ${t("graph.nodes", "个节点")} · ${edges.size} ${t("graph.edges", "条关系")}`;
  }
  async function expand(subject) {
    const p = new URLSearchParams({ subject, hops: opts.hops || 1 }); if (opts.types) p.set("types", opts.types);
    try { const out = await zj.api(`/api/graph/expand?${p}`, { quiet: true }); merge(out, out.subject || subject); } catch (e) {
      const msg = zj.missing(e) ? t("state.missing", "本服务器尚未提供该分析") : e.message;
      document.getElementById("summary").textContent = msg; zj.toast(msg);
    }
  }
  cy?.on("tap", "node", (ev) => { if (!/#\d+$/.test(ev.target.id()) && !ev.target.id().includes("hidden")) expand(ev.target.id()); });
  let shown = null;
  cy?.on("tap", "edge", (ev) => {
    shown = edges.get(ev.target.id());
    document.getElementById("evidence-card").hidden = false;
    document.getElementById("evidence-title").textContent = `${shown.source} — ${typeName(shown.type)} — ${shown.target}`;
    zj.table("#evidence", [zj.timeCol("col.time", "时间", (r) => r.time ?? r.ts), ["col.dataset", "数据集", (r) => esc(zj.dsName(r.dataset))],
      ["col.record_id", "来源记录", "record_id"]], shown.evidence || []);
  });
  document.getElementById("pin-edge").addEventListener("click", () => shown &&
    zj.pin("pin", `${shown.source} ${typeName(shown.type)} ${shown.target}`, { edge: shown }));
  zj.subjectForm("graph-form", ({ subject, hops, types }) => {
    opts = { hops, types }; cy?.elements().remove(); edges.clear(); expand(subject.trim());
  });
  zj.graph = cy;  // for tests and the report
};
