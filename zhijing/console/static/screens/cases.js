/* 专案: my cases; one case's workspace at /cases/{ref}: its subjects, pinned results and
   notes, the watermarked report, closing the case (which closes its purpose). */
"use strict";
zj.addEN({ "cases.mine": "My cases", "cases.ref": "Case", "cases.title": "Title", "cases.status": "Status", "cases.items": "Items",
  "cases.report": "Report (HTML)", "cases.pdf": "Report (PDF)", "cases.close": "Close the case", "cases.note": "Note",
  "cases.addnote": "Add note", "cases.kind": "Kind", "cases.by": "By", "cases.remove": "Remove", "cases.confirm": "Close this case? Its purpose closes too.",
  "cases.closed": "Case closed", "cases.what": "Content",
  "cases.empty": "This case has no items yet. Add them with “Pin” on search, trajectory, companions, collision or relations, “Add to case” on a person file, or a note above — with this case chosen as the purpose (top right).",
  "cases.subject": "Subject", "cases.place": "Place", "cases.time": "Time", "cases.record": "Record", "cases.evidence": "evidence records",
  "cases.query": "Query", "cases.reason": "reason for the export (required)",
  "cases.pending": "The report needs a second officer's approval (two-officer rule); request: " });
zj.pages.cases = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc, en = zj.lang() === "en";
  const KINDS = { subject: "对象", search: "搜索", analysis: "分析", pin: "钉选结果", note: "备注" };
  const STATUS = { open: "办理中", closed: "已结案" };
  const mine = await zj.loading("#cases", zj.api("/api/cases"));
  zj.table("#cases", [["cases.ref", "案件", (c) => `<a href="/cases/${encodeURIComponent(c.ref)}">${esc(c.ref)}</a>`], ["cases.title", "案件名称", "title"],
    ["cases.status", "状态", (c) => esc(en ? c.status : STATUS[c.status] || c.status)], ["cases.items", "条目", "items"]], mine.cases || [],
  { onClick: (c) => { history.pushState(null, "", `/cases/${encodeURIComponent(c.ref)}`); open(c.ref); } });
  const ref = decodeURIComponent(location.pathname.split("/")[2] || "") || (zj.purpose().startsWith("case:") ? zj.purpose() : "");
  if (ref) open(ref);

  async function open(caseRef) {
    if (zj.purpose() !== caseRef) {  // the workspace runs under the case itself
      sessionStorage.setItem("zj.purpose", caseRef); document.getElementById("purpose").value = caseRef;
    }
    document.getElementById("workspace").hidden = false;
    const ws = await zj.loading("#items", zj.api(`/api/cases/${encodeURIComponent(caseRef)}`)).catch(() => null);
    if (!ws) return;
    document.getElementById("case-title").textContent = `${ws.case.title} · ${ws.case.ref} · ${en ? ws.case.status : STATUS[ws.case.status] || ws.case.status}`;
    /** A pinned result in words: subject, place, time, dataset/record (the payload each screen saves). */
    const L = (k, zh) => t(`cases.${k}`, zh);
    const names = ws.names || {};  // persons the items name, by master ID → name (masked as the grade requires)
    const who = (x) => { const id = String(x || "").replace(/^(person:|P:)/, ""); return names[id] ? `${names[id]}（${id}）` : String(x || ""); };
    const rec = (r) => [zj.dsName(r.dataset), r.record_id].filter(Boolean).join(" ");
    const pointText = (r) => [r.place_name || r.place_id ? `${L("place", "地点")}：${r.place_name || r.place_id}` : "",
      r.ts || r.time ? `${L("time", "时间")}：${zj.time(r.ts || r.time)}` : "", rec(r) ? `${L("record", "记录")}：${rec(r)}` : ""];
    const summary = (i) => {
      const p = i.payload || {}, parts = [], subj = (s) => s && parts.push(`${L("subject", "对象")}：${s}`);
      const how = (c) => (c.kinds && c.kinds.length ? ` · ${c.kinds.map(zj.label).join("/")}` : "");
      const evidence = (rows) => {
        if (!rows || !rows.length) return;
        parts.push(...pointText(rows[0]));
        if (rows.length > 1) parts.push(`${rows.length} ${L("evidence", "条证据")}`);
      };
      if (p.point) { subj(who(p.subject)); parts.push(...(p.point.mode ? [zj.mode(p.point.mode)] : []), ...pointText(p.point)); }
      else if (p.companion) { subj(`${who(p.subject)} ↔ ${who(p.companion.subject)}${how(p.companion)}`); evidence(p.companion.evidence); }
      else if (p.hit) { subj(p.hit.kind === "person" ? who(p.hit.subject) : `${zj.kindName(p.hit.kind)} ${p.hit.subject}`); evidence(p.hit.evidence); }
      else if (p.edge) { subj(`${who(p.edge.source)} — ${who(p.edge.target)} · ${zj.relName(p.edge.type)}`); evidence(p.edge.evidence); }
      else if (p.group || p.query) {
        if (p.query) parts.push(`${L("query", "检索")}：${p.query}`);
        if (p.group) { subj(p.group.kind === "person" ? who(p.group.id) : zj.groupTitle(p.group)); evidence(p.group.hits); }
      } else { subj(who(p.subject)); evidence(p.evidence); if (!p.evidence && p.lon != null) parts.push(`${p.lon}, ${p.lat}`); }
      return parts.filter(Boolean).join(" · ");
    };
    const what = (i) => i.kind === "note" ? esc(i.payload.text || i.title)
      : i.kind === "subject" ? (i.payload.master_ids || []).map((m) => `<a href="/persons/${encodeURIComponent(m)}">${esc(who(m))}</a>`).join(" ")
        : `<span class="summary">${esc(summary(i))}</span>`;
    zj.table("#items", [["cases.kind", "类型", (i) => esc(en ? i.kind : KINDS[i.kind] || i.kind)], ["cases.title", "标题", "title"], ["cases.what", "内容", what],
      ["cases.by", "添加人", (i) => esc(i.author || "")], zj.timeCol("col.time", "时间", (i) => i.created_at),
      ["cases.remove", "移除", (i) => `<button type="button" class="secondary" data-rm="${esc(i.id)}">✕</button>`]], ws.items,
    { empty: L("empty", "本案尚无条目。请在右上角选择本案件作为用途，再在云搜索、轨迹、同行、碰撞、关系研判中点击“钉选”，或在一人一档中点击“加入专案”；也可在上方添加备注。") });
    document.querySelectorAll("#items [data-rm]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/cases/${encodeURIComponent(caseRef)}/items/${b.dataset.rm}`, { method: "DELETE" }); open(caseRef);
    }));
    const safe = caseRef.replace(/[^A-Za-z0-9_-]/g, "_");
    /** The report is an export: a stated reason, and 双人审批 above the size or grade threshold (then 导出审批 downloads it). */
    const report = async (format) => {
      const reason = document.getElementById("report-reason").value.trim();
      const req = await zj.api("/api/exports", { method: "POST", json: { case_report: caseRef, reason } });
      if (req.status === "ready") await zj.download(`/api/exports/${encodeURIComponent(req.id)}/download?format=${format}`, `${safe}.${format}`);
      else zj.toast(t("cases.pending", "报告需第二名民警审批（双人审批），申请编号：") + req.id);
    };
    document.getElementById("report-html").onclick = () => report("html");
    document.getElementById("report-pdf").onclick = () => report("pdf");
    document.getElementById("close-case").onclick = async () => {
      if (!confirm(t("cases.confirm", "确认结案？该案件的用途将同时关闭。"))) return;
      await zj.api(`/api/cases/${encodeURIComponent(caseRef)}/close`, { method: "POST" });
      zj.toast(t("cases.closed", "已结案"), "ok"); open(caseRef);
    };
    const note = document.getElementById("note-form");
    note.onsubmit = async (ev) => {
      ev.preventDefault();
      const text = note.note.value.trim(); if (!text) return;
      await zj.api(`/api/cases/${encodeURIComponent(caseRef)}/items`, { method: "POST", json: { kind: "note", title: text.slice(0, 256), payload: { text } } });
      note.note.value = ""; open(caseRef);
    };
  }
};
