/* 关系研判: the relationship graph explorer (Cytoscape.js, vendored). A subject opens with its
   neighbours (GET /api/graph/expand, at most N per node: the rest is one "+N more" node); a click
   on a node adds its neighbours, a click on "more" the next page; a click on an edge lists its
   evidence. Edge types are labelled checkboxes (GET /api/graph/types), with a legend of node kinds
   and edge types; find-path (GET /api/graph/path) highlights the chain and lists its steps with
   their evidence; the picture exports as a PNG watermarked with the officer, purpose and time. */
"use strict";
zj.addEN({ "graph.subject": "Subject (citizen ID / mobile / plate / person ID, or P: T: A: V: C: ids)", "graph.hops": "Hops",
  "graph.cap": "Neighbours per node", "graph.hint": "Click a node to add its neighbours; click \"more\" for the next ones; click an edge for its evidence.",
  "graph.nodes": "nodes", "graph.edges": "edges", "graph.nolib": "Cytoscape is not installed (make setup): edges as a table",
  "graph.path.a": "Path from", "graph.path.b": "Path to", "graph.path.go": "Find path", "graph.path": "Path", "graph.fit": "Fit",
  "graph.clear": "Clear", "graph.png": "Export image (watermarked)", "graph.more": "more", "graph.types": "Relation types",
  "graph.path.none": "No chain of the chosen relation types joins them", "graph.path.hops": "hops", "graph.path.need": "Give both ends of the path",
  "graph.records": "records", "graph.evidence": "evidence", "graph.kinds": "Nodes", "graph.hidden": "outside your need to know",
  "graph.of": "of all:", "graph.a": "From", "graph.b": "To", "graph.type": "Relation", "graph.degree": "relations", "graph.community": "group" });
zj.pages.graph = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc, en = zj.lang() === "en", $ = (id) => document.getElementById(id);
  const KINDS = { person: ["#c8102e", "ellipse"], phone: ["#2f7d32", "round-rectangle"], account: ["#8a5a00", "diamond"],
    vehicle: ["#123f7a", "triangle"], company: ["#6a1b9a", "hexagon"] };
  const EDGE_COLORS = { household: "#c8102e", co_lodging: "#e67e22", co_travel: "#16a085", co_case: "#8e44ad", co_netbar: "#7f8c8d",
    call: "#2f7d32", transfer: "#8a5a00", holds: "#b08d57", owns: "#123f7a", drives: "#2c6fbb", uses: "#6aa84f", company_role: "#6a1b9a" };
  let types = { edges: [], nodes: [] };
  /** The edge types and node kinds (labels, direction, counts): the filters and the legend; again once a purpose is chosen. */
  async function loadTypes() {
    try { types = await zj.api("/api/graph/types", { quiet: true }); } catch (e) { return; /* no purpose yet: labels from the codes */ }
    $("graph-types").innerHTML = shownTypes().map((e) => `<label class="check"><input type="checkbox" name="type" value="${esc(e.type)}" checked> ` +
      `<span class="bar" style="background:${EDGE_COLORS[e.type] || "#9aa7b8"}"></span>${esc(typeLabel(e.type))}${e.count ? ` <small class="muted">${e.count}</small>` : ""}</label>`).join("");
    document.querySelectorAll("#graph-types input").forEach((x) => x.addEventListener("change", filter));
    legend();
  }
  const typeLabel = (code) => { const x = types.edges.find((e) => e.type === code); return x ? (en ? x.label_en : x.label) : zj.relName(code); };
  const kindLabel = (k) => { const x = types.nodes.find((n) => n.kind === k); return x ? (en ? x.label_en : x.label) : zj.kindName(k); };

  /* legend and labelled type filters */
  function legend() {
    $("graph-legend").innerHTML = `<b>${esc(t("graph.kinds", "节点"))}</b> ` +
      Object.entries(KINDS).map(([k, [c]]) => `<span class="dot" style="background:${c}"></span>${esc(kindLabel(k))}`).join(" ") +
      ` <b>${esc(t("graph.types", "关系类型"))}</b> ` + shownTypes().map((e) => `<span class="bar" style="background:${EDGE_COLORS[e.type] || "#9aa7b8"}"></span>${esc(typeLabel(e.type))}`).join(" ");
  }
  const shownTypes = () => (types.edges.some((e) => e.count) ? types.edges.filter((e) => e.count) : types.edges);
  const chosen = () => { const all = [...document.querySelectorAll("#graph-types input")]; const on = all.filter((x) => x.checked).map((x) => x.value);
    return on.length === all.length ? "" : on.join(","); };
  await loadTypes();
  legend();

  const box = $("graph");
  const cy = window.cytoscape ? cytoscape({ container: box, wheelSensitivity: 0.3, style: [
    // labels only where they can be read: hidden when zoomed out
    { selector: "node", style: { label: "data(label)", "font-size": 10, "min-zoomed-font-size": 8, "text-wrap": "ellipsis", "text-max-width": 90,
      "background-color": "data(color)", shape: "data(shape)", width: 20, height: 20, "text-valign": "bottom", "text-margin-y": 2 } },
    { selector: "node.seed", style: { "border-width": 3, "border-color": "#000", width: 26, height: 26 } },
    { selector: "node.more", style: { "background-color": "#fff", "border-width": 1, "border-color": "#9aa7b8", "border-style": "dashed", shape: "round-rectangle",
      width: 130, height: 30, label: "data(label)", "text-valign": "center", "text-wrap": "wrap", "text-max-width": 124,
      "font-size": 9, color: "#555", "text-margin-y": 0 } },
    { selector: "node.hidden", style: { "background-color": "#bbb" } },
    { selector: "edge", style: { "line-color": "data(color)", width: "mapData(weight, 1, 10, 1.2, 5)", "curve-style": "bezier", opacity: 0.85,
      "target-arrow-shape": "data(arrow)", "target-arrow-color": "data(color)", label: "data(label)", "font-size": 8, "min-zoomed-font-size": 11, color: "#555" } },
    { selector: "edge.more", style: { "line-style": "dashed", "line-color": "#ccc", "target-arrow-shape": "none", label: "" } },
    { selector: "edge.off", style: { display: "none" } },
    { selector: ".path", style: { "border-width": 4, "border-color": "#ffb000", "line-color": "#ffb000", "target-arrow-color": "#ffb000", width: 6, opacity: 1, "z-index": 10 } },
    { selector: ".faded", style: { opacity: 0.25 } }] }) : null;
  if (!cy) box.innerHTML = `<p class="muted">${esc(t("graph.nolib", "未安装 Cytoscape（make setup）：以表格列出关系"))}</p><table id="edges" class="data"></table>`;
  const edges = new Map();  // edge id -> the API's edge (with evidence)
  const fetched = new Map();  // node id -> how many of its neighbours were asked for
  let opts = { limit: 12 }, seed = null, answers = 0;

  /** Answer-local ids (a person outside need to know, a masked key) are namespaced per answer: not a handle, never merged. */
  const local = (id, n) => (/hidden-|#\d+$/.test(id) ? `${n}/${id}` : id);
  function merge(out, anchor) {
    const n = ++answers, add = [], at = anchor && cy?.getElementById(anchor);
    const near = at?.length ? at.position() : null;
    out.nodes.forEach((x, i) => {
      const id = local(x.id, n);
      if (cy?.getElementById(id).length) return;
      const [color, shape] = KINDS[x.kind] || ["#555", "ellipse"];
      const pos = near ? { x: near.x + 90 * Math.cos(i), y: near.y + 90 * Math.sin(i) } : undefined;
      add.push({ group: "nodes", data: { id, label: x.label || x.key || x.id, kind: x.kind, color, shape, info: x }, position: pos,
        classes: x.label === "无权查看" || /hidden-/.test(x.id) ? "hidden" : "" });
    });
    out.edges.forEach((e) => {
      const id = e.id || e.edge_id || `${e.source}|${e.target}|${e.type}`;
      if (edges.has(id)) return;
      edges.set(id, e);
      const directed = types.edges.find((x) => x.type === e.type)?.directed;
      add.push({ group: "edges", data: { id, source: local(e.source, n), target: local(e.target, n), label: typeLabel(e.type), type: e.type,
        weight: e.weight || 1, color: EDGE_COLORS[e.type] || "#9aa7b8", arrow: directed ? "triangle" : "none" } });
    });
    if (!cy) {
      zj.table("#edges", [["graph.a", "起", "source"], ["graph.b", "止", "target"], ["graph.type", "关系", (e) => esc(typeLabel(e.type))]], [...edges.values()]);
      return;
    }
    cy.add(add);
    out.nodes.filter((x) => x.cut && x.edges_total).forEach((x) => {  // a node cut at the cap had its first ``limit`` neighbours taken
      const id = local(x.id, n);
      if (!fetched.has(id)) fetched.set(id, +opts.limit);
      more(id, x.edges_total, x.edges_by_type);
    });
    filter();
    cy.layout({ name: "cose", animate: false, randomize: false, nodeRepulsion: 9000, idealEdgeLength: 70, fit: answers <= 1 }).run();
    summary();
  }
  /** The "+N more" node of a node whose neighbours were cut at the cap. */
  function more(id, total, byType) {
    const kept = cy.getElementById(`more:${id}`);
    byType ||= kept.data("byType");
    kept.remove();
    const left = total - (fetched.get(id) || 0);
    if (left <= 0) return;
    const of = Object.entries(byType || {}).sort((p, q) => q[1] - p[1]).map(([k, v]) => `${typeLabel(k)} ${v}`).join(" · ");
    const label = `+${left} ${t("graph.more", "更多")}${of ? `\n${t("graph.of", "共")} ${of}` : ""}`;
    cy.add([{ group: "nodes", data: { id: `more:${id}`, of: id, total, byType, label, color: "#fff", shape: "round-rectangle" }, classes: "more" },
      { group: "edges", data: { id: `more-e:${id}`, source: id, target: `more:${id}`, color: "#ccc", arrow: "none", weight: 1 }, classes: "more" }]);
  }
  function filter() {
    const on = new Set([...document.querySelectorAll("#graph-types input:checked")].map((x) => x.value));
    cy?.edges().forEach((e) => { if (!e.hasClass("more")) e.toggleClass("off", !on.has(e.data("type"))); });
  }
  function summary() {
    $("summary").textContent = `${cy ? cy.nodes(":not(.more)").length : 0} ${t("graph.nodes", "个节点")} · ${edges.size} ${t("graph.edges", "条关系")}`;
  }
  async function expand(subject, anchor) {
    const offset = fetched.get(anchor || subject) || 0;
    const p = new URLSearchParams({ subject, hops: anchor ? 1 : opts.hops || 1, limit: opts.limit, offset });
    if (chosen()) p.set("types", chosen());
    try {
      const out = await zj.api(`/api/graph/expand?${p}`, { quiet: true });
      fetched.set(anchor || out.subject || subject, offset + +opts.limit);
      merge(out, anchor || null);
      if (!anchor) { seed = out.subject || subject; cy?.getElementById(seed).addClass("seed"); if (!$("path-a").value) $("path-a").value = seed; }
    } catch (e) {
      const msg = zj.missing(e) ? t("state.missing", "本服务器尚未提供该分析") : e.message;
      $("summary").textContent = msg; zj.toast(msg);
    }
  }
  cy?.on("tap", "node", (ev) => {
    const n = ev.target;
    if (n.hasClass("more")) { expand(n.data("of"), n.data("of")); return; }
    const x = n.data("info") || {};
    $("node-info").textContent = [kindLabel(x.kind), x.label, x.key, x.degree != null ? `${x.degree} ${t("graph.degree", "条关系")}` : "",
      x.community != null ? `${t("graph.community", "群组")} ${x.community}` : "", n.hasClass("hidden") ? t("graph.hidden", "不在您的知悉范围内") : ""].filter(Boolean).join(" · ");
    $("path-b").value = $("path-a").value && $("path-a").value !== n.id() ? n.id() : $("path-b").value;
    if (!n.hasClass("hidden") && !/\//.test(n.id())) expand(n.id(), n.id());
  });
  let shown = null;
  const evidenceCols = [zj.timeCol("col.time", "时间", (r) => r.time ?? r.ts), ["col.dataset", "数据集", (r) => esc(zj.dsName(r.dataset))],
    ["col.record_id", "来源记录", "record_id"]];
  cy?.on("tap", "edge", (ev) => {
    shown = edges.get(ev.target.id()); if (!shown) return;
    $("evidence-card").hidden = false;
    $("evidence-title").textContent = `${shown.source} — ${typeLabel(shown.type)} — ${shown.target}`;
    zj.table("#evidence", evidenceCols, shown.evidence || []);
  });
  $("pin-edge").addEventListener("click", () => shown && zj.pin("pin", `${shown.source} ${typeLabel(shown.type)} ${shown.target}`, { edge: shown }));

  /* find-path: the chain, highlighted, and its steps with their evidence */
  $("path-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const a = $("path-a").value.trim(), b = $("path-b").value.trim();
    if (!a || !b) { zj.toast(t("graph.path.need", "请填写路径的起点和终点")); return; }
    const p = new URLSearchParams({ a, b }); if (chosen()) p.set("types", chosen());
    const out = await zj.api(`/api/graph/path?${p}`).catch(() => null);
    if (!out) return;
    $("path-card").hidden = false;
    cy?.elements().removeClass("path faded");
    if (!out.found) { $("path-summary").textContent = t("graph.path.none", "在所选关系类型内，两者之间没有关系链"); $("path-list").innerHTML = ""; return; }
    const n = answers + 1;
    merge(out, null);
    const ids = out.nodes.map((x) => local(x.id, n)), byId = Object.fromEntries(out.nodes.map((x) => [x.id, x]));
    if (cy) {
      const on = cy.collection();
      ids.forEach((id) => { on.merge(cy.getElementById(id)); });
      out.edges.forEach((e) => on.merge(cy.getElementById(e.id)));
      on.addClass("path"); cy.elements().not(on).addClass("faded");
      cy.fit(on, 60);
    }
    const name = (id) => { const x = byId[id] || {}; return `${kindLabel(x.kind)} ${x.label || x.key || id}`; };
    $("path-summary").textContent = `${out.hops} ${t("graph.path.hops", "跳")}: ${name(out.nodes[0].id)} → ${name(out.nodes[out.nodes.length - 1].id)}`;
    $("path-list").innerHTML = out.nodes.slice(0, -1).map((x, i) => {
      const y = out.nodes[i + 1], e = out.edges.find((k) => (k.source === x.id && k.target === y.id) || (k.source === y.id && k.target === x.id)) || {};
      const ev = (e.evidence || []).slice(0, 3).map((r) => `${esc(zj.dsName(r.dataset))} ${esc(r.record_id)} ${esc(zj.time(r.time))}`).join("；");
      return `<li data-edge="${esc(e.id || "")}"><b>${esc(name(x.id))}</b> —${esc(typeLabel(e.type))} ×${esc(e.weight || 1)}→ <b>${esc(name(y.id))}</b>` +
        `<br><small class="muted">${esc(t("graph.evidence", "证据"))}: ${ev || "—"}</small></li>`;
    }).join("");
  });

  /* the picture as a PNG, watermarked (who, purpose, when) as every export is */
  $("graph-png").addEventListener("click", async () => {
    if (!cy || !cy.nodes().length) return;
    const img = new Image();
    img.src = cy.png({ full: true, scale: 2, bg: "#ffffff", maxWidth: 4000, maxHeight: 4000 });
    await img.decode();
    const c = Object.assign(document.createElement("canvas"), { width: img.width, height: img.height + 40 });
    const g = c.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height); g.drawImage(img, 0, 0);
    const mark = `${$("who")?.title || ""} · ${zj.purpose()} · ${zj.time(new Date().toISOString())}`;
    g.fillStyle = "#555"; g.font = "20px sans-serif"; g.fillText(`智警 关系研判 · ${mark}`, 12, img.height + 28);
    g.save(); g.globalAlpha = 0.08; g.rotate(-Math.PI / 8); g.font = "28px sans-serif";
    for (let y = 0; y < c.height * 1.5; y += 160) for (let x = -c.width; x < c.width * 1.5; x += 520) g.fillText(mark, x, y);
    g.restore();
    c.toBlob((blob) => {
      const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: `graph-${(seed || "graph").replace(/[^\w-]/g, "_")}.png` });
      a.click(); setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }, "image/png");
  });
  $("graph-fit").addEventListener("click", () => cy?.fit(undefined, 30));
  $("graph-clear").addEventListener("click", () => { cy?.elements().remove(); edges.clear(); fetched.clear(); seed = null; summary(); });

  zj.subjectForm("graph-form", async ({ subject, hops, limit }) => {
    if (!types.edges.length) await loadTypes();  // the purpose was chosen after the page opened
    opts = { hops: Math.min(2, +hops || 1), limit: Math.min(100, Math.max(3, +limit || 12)) };
    cy?.elements().remove(); edges.clear(); fetched.clear(); answers = 0; $("path-a").value = ""; expand(subject.trim(), null);
  });
  zj.graph = cy;  // for tests and the report
};
