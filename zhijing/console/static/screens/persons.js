/* 一人一档: search by name, ID, phone or plate; one person's file at /persons/{id}, with its
   timeline, relations, records and the way on to the analyses of the workbench. */
"use strict";
zj.addEN({ "persons.placeholder": "name / citizen ID / mobile / plate", "persons.search": "Search",
  "persons.notice": "The search is audited under the chosen purpose.", "persons.timeline": "Timeline",
  "persons.graph": "Relations", "persons.export": "Export (watermarked)", "persons.reason": "reason for the export (required)",
  "persons.pending": "Export request sent for a second officer's approval (双人审批), listed under Exports: ", "persons.records": "Linked records (sources)",
  "col.id": "Person ID", "col.name": "Name", "col.citizen_id": "Citizen ID", "col.sex": "Sex", "col.birth": "Born",
  "col.district": "District", "col.records": "Records", "col.title": "Record", "col.dataset": "Dataset", "col.record_id": "Record ID",
  "col.summary": "Summary", "col.time": "Time", "col.phone": "Mobile", "col.intent": "Matched as",
  "fact.name": "Name", "fact.citizen_id": "Citizen ID", "fact.phone": "Mobile", "fact.address_district": "District of address",
  "fact.sex": "Sex", "persons.to.trajectory": "Trajectory", "persons.to.companions": "Companions", "persons.to.graph": "Relations",
  "persons.pin": "Add to case", "persons.pinned": "Added to the case" });
zj.pages.persons = async () => {
  await zj.chrome();
  const esc = zj.esc, t = zj.t;
  const LABELS = { name: "姓名", citizen_id: "公民身份号码", phone: "手机号", address_district: "住址区县", sex: "性别" };
  const form = document.getElementById("person-search");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); search(new FormData(form).get("q")); });
  const fromPath = decodeURIComponent(location.pathname.split("/")[2] || "");
  if (fromPath) openFile(fromPath);
  else if (zj.qs("q")) { form.q.value = zj.qs("q"); search(zj.qs("q")); }

  /** The one search (云搜索's, GET /api/search) kept to persons: homophones, pinyin, partial IDs, plates and
      phones find a person here as they do there. An account the search refuses (or a server without it) gets
      the person search. */
  async function find(q) {
    try {
      const res = q.trim().length < 2 ? { indexed: false }  // one character: the person search says why not
        : await zj.api(`/api/search?${new URLSearchParams({ q, kind: "person", limit: 20 })}`, { quiet: true });
      if (res.indexed === false) throw Object.assign(new Error("not indexed"), { status: 404 });
      const intent = Object.fromEntries((res.intents || []).map((i) => [i.kind, zj.lang() === "en" ? i.label_en : i.label]));
      return res.groups.map((g) => ({ master_id: g.id, ...(g.entity || {}), records: g.count, intent: intent[g.intent] || "" }));
    } catch (e) {
      if (e.status !== 404 && e.status !== 403) throw e;
    }
    const old = await zj.api(`/api/persons/search?q=${encodeURIComponent(q)}`);
    return old.results || old;
  }

  async function search(q) {
    zj.rerun(() => search(q));
    const rows = await zj.loading("#results", find(q)).catch((e) => { zj.toast(e.message); return null; });
    if (!rows) return;
    zj.table("#results", [
      ["col.id", "人员编号", (r) => `<a href="/persons/${encodeURIComponent(r.master_id)}">${esc(r.master_id)}</a>`],
      ["col.name", "姓名", "name"], ["col.citizen_id", "公民身份号码", "citizen_id"], ["col.phone", "手机号", "phone"],
      ["col.district", "区县", "district"], ["col.records", "记录数", (r) => esc(r.records ?? r.record_count ?? "")],
      ["col.intent", "匹配方式", "intent"],
    ], rows, { empty: t("state.scope", "在所选用途和辖区内未查到此人"), onClick: (r) => {
      history.pushState(null, "", `/persons/${encodeURIComponent(r.master_id)}`); openFile(r.master_id);
    } });
  }

  async function openFile(id) {
    zj.rerun(() => openFile(id));
    const section = document.getElementById("file");
    section.hidden = false;
    const parts = ["#file .grid", "#records-card", "#pin", "#export", "#export-reason", "#file-links"].map((q) => document.querySelector(q));
    parts.forEach((el) => { if (el) el.hidden = true; });  // shown once the file answers: a refused file shows its reason only
    const [f, may] = await Promise.all([zj.loading("#facts", zj.api(`/api/persons/${encodeURIComponent(id)}`)).catch(() => null), zj.may()]);
    parts.forEach((el) => { if (el) el.hidden = !f; });
    document.getElementById("file-title").textContent = f ? "" : id;
    if (!f) return;
    document.getElementById("pin").hidden = !(may["case.write"] && zj.purpose().startsWith("case:"));  // only what the policy allows here
    ["#export", "#export-reason"].forEach((q) => { document.querySelector(q).hidden = !may["person.export"]; });
    document.getElementById("file-title").textContent = `${f.name || ""} · ${f.master_id || id}`;
    document.getElementById("export").onclick = async () => {  // a stated reason; 双人审批 above the threshold
      const reason = document.getElementById("export-reason").value.trim();
      const req = await zj.api("/api/exports", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ master_id: id, reason }) });
      if (req.status === "ready") await zj.download(`/api/exports/${encodeURIComponent(req.id)}/download`, `${id}.csv`);
      else zj.toast(t("persons.pending", "导出申请已提交，待第二名民警审批（双人审批），可在「导出申请」中查看：") + req.id, "ok");
    };
    const subj = encodeURIComponent(`person:${id}`);
    document.getElementById("file-links").innerHTML = [
      may.trajectory && `<a href="/trajectory?subject=${subj}">${esc(t("persons.to.trajectory", "轨迹"))}</a>`,
      may.companions && `<a href="/companions?subject=${subj}">${esc(t("persons.to.companions", "同行"))}</a>`,
      may.graph && `<a href="/graph?subject=${encodeURIComponent("P:" + id)}">${esc(t("persons.to.graph", "关系研判"))}</a>`,
    ].filter(Boolean).join(" · ");
    document.getElementById("pin").onclick = () => zj.pin("subject", `${f.name || ""} ${id}`, { master_ids: [id] });
    document.getElementById("facts").innerHTML = Object.entries(f.facts || f.values || {}).map(([k, v]) => {
      const vals = Array.isArray(v) ? v : [v];
      return `<dt>${esc(t("fact." + k, LABELS[k] || k))}</dt><dd>${vals.map((x) => typeof x === "object" && x
        ? `${esc(x.value)}<span class="src">${esc((x.datasets || []).map(zj.dsName).join(" · "))} ×${esc(x.sources || 1)} ${esc(zj.day(x.first_seen))}</span>` : esc(x)).join("<br>")}</dd>`;
    }).join("");
    let tl = f.timeline;
    if (!tl) tl = (await zj.api(`/api/persons/${encodeURIComponent(id)}/timeline`, { quiet: true }).catch(() => ({}))).events || [];
    const when = new Map(tl.map((e) => [`${e.dataset}:${e.record_id}`, e.time]));  // a record's time, as the timeline has it
    zj.table("#records", [zj.timeCol("col.time", "时间", (r) => when.get(`${r.dataset}:${r.record_id}`)), ["col.title", "记录", "title"],
      ["col.dataset", "数据集", (r) => esc(zj.dsName(r.dataset))], ["col.record_id", "记录编号", "record_id"], ["col.summary", "摘要", "summary"]], f.records || []);
    const label = (e) => zj.dsName(e.dataset) || e.title;  // the catalog title in either language
    const ds = [...new Set(tl.map(label))];
    zj.chart("timeline")?.setOption({ tooltip: { formatter: (p) => esc(p.data.label) }, grid: { left: 120 },
      xAxis: zj.timeAxis("timeline"), yAxis: { type: "category", data: ds },
      series: [{ type: "scatter", symbolSize: 10, data: tl.map((e) => ({ value: [zj.chartTime(e.time), label(e)], label: `${zj.time(e.time)} ${e.summary || e.record_id}` })) }] });
    const rel = f.relations || f.graph || { nodes: [], links: [] };
    drawRelations(rel);
    // the persons the relationship graph joins to this one (同户, 同住, 同行, 同案), where the caller may read the graph
    const near = !may.graph ? null : await zj.api(`/api/graph/expand?${new URLSearchParams({ subject: `P:${id}`, hops: 1, limit: 20, types: PERSON_EDGES })}`, { quiet: true }).catch(() => null);
    if (near?.edges?.length) drawRelations(withGraph(rel, near, id));
  }
  const PERSON_EDGES = "household,co_lodging,co_travel,co_case";
  /** The file's relations plus the graph's person-to-person edges (the graph's P:<id> is the file's <id>). */
  function withGraph(rel, near, id) {
    const nid = (x) => (x === `P:${id}` ? id : x), nodes = [...(rel.nodes || [])], links = [...(rel.links || rel.edges || [])];
    const have = new Set(nodes.map((n) => n.id));
    near.nodes.forEach((n) => { if (!have.has(nid(n.id))) { have.add(nid(n.id)); nodes.push({ id: nid(n.id), label: n.label || n.key, kind: n.kind, href: n.kind === "person" && !/hidden-|#/.test(n.id) ? n.key : null }); } });
    near.edges.forEach((e) => links.push({ source: nid(e.source), target: nid(e.target), kind: zj.relName(e.type), weight: e.weight }));
    return { nodes, links };
  }
  function drawRelations(rel) {
    const c = zj.chart("graph");
    c?.on("click", (p) => { if (p.dataType === "node" && p.data.href) location.href = `/persons/${encodeURIComponent(p.data.href)}`; });
    c?.setOption({ tooltip: {}, legend: {}, series: [{ type: "graph", layout: "force", roam: true,
      force: { repulsion: 160, edgeLength: 80 }, label: { show: true },
      categories: [...new Set((rel.nodes || []).map((n) => n.kind))].map((k) => ({ name: zj.kindName(k) })),
      data: (rel.nodes || []).map((n) => ({ id: n.id, name: n.label || n.id, category: zj.kindName(n.kind), href: n.href })),
      links: (rel.links || rel.edges || []).map((l) => ({ source: l.source, target: l.target, label: { show: !!l.kind, formatter: zj.relName(l.kind) } })) }] });
  }
};
