/* 专案: my cases; one case's workspace at /cases/{ref}: its subjects, pinned results and
   notes, the watermarked report, closing the case (which closes its purpose). */
"use strict";
zj.addEN({ "cases.mine": "My cases", "cases.ref": "Case", "cases.title": "Title", "cases.status": "Status", "cases.items": "Items",
  "cases.report": "Report (HTML)", "cases.pdf": "Report (PDF)", "cases.close": "Close the case", "cases.note": "Note",
  "cases.addnote": "Add note", "cases.kind": "Kind", "cases.by": "By", "cases.remove": "Remove", "cases.confirm": "Close this case? Its purpose closes too.",
  "cases.closed": "Case closed", "cases.what": "Content" });
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
    const what = (i) => i.kind === "note" ? esc(i.payload.text || i.title)
      : i.kind === "subject" ? (i.payload.master_ids || []).map((m) => `<a href="/persons/${encodeURIComponent(m)}">${esc(m)}</a>`).join(" ")
        : `<span class="clip" title="${esc(JSON.stringify(i.payload))}">${esc(JSON.stringify(i.payload))}</span>`;
    zj.table("#items", [["cases.kind", "类型", (i) => esc(en ? i.kind : KINDS[i.kind] || i.kind)], ["cases.title", "标题", "title"], ["cases.what", "内容", what],
      ["cases.by", "添加人", (i) => esc(i.created_by || i.added_by || "")], ["col.time", "时间", (i) => esc(zj.time(i.created_at))],
      ["cases.remove", "移除", (i) => `<button type="button" class="secondary" data-rm="${esc(i.id)}">✕</button>`]], ws.items);
    document.querySelectorAll("#items [data-rm]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/cases/${encodeURIComponent(caseRef)}/items/${b.dataset.rm}`, { method: "DELETE" }); open(caseRef);
    }));
    const safe = caseRef.replace(/[^A-Za-z0-9_-]/g, "_");
    document.getElementById("report-html").onclick = () => zj.download(`/api/cases/${encodeURIComponent(caseRef)}/report?format=html`, `${safe}.html`);
    document.getElementById("report-pdf").onclick = () => zj.download(`/api/cases/${encodeURIComponent(caseRef)}/report?format=pdf`, `${safe}.pdf`);
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
