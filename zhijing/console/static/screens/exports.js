/* 导出审批 (双人审批): under the chosen purpose, the export requests awaiting a second officer
   (approve, or reject with a reason) and one's own requests with their state; a ready request
   downloads once (GET/POST /api/exports of the access layer). */
"use strict";
zj.addEN({ "exp.title": "Export approval (two-officer rule)",
  "exp.hint": "Export requests are listed by purpose: choose the request's case or ticket at the top right. No one approves their own request.",
  "exp.pending": "Awaiting my approval", "exp.mine": "My export requests", "exp.requester": "Requester", "exp.purpose": "Purpose",
  "exp.what": "What", "exp.reason": "Reason", "exp.when": "Requested", "exp.status": "Status", "exp.decision": "Decision",
  "exp.action": "Action", "exp.approve": "Approve", "exp.reject": "Reject", "exp.why": "reason for rejecting",
  "exp.download": "Download", "exp.nopurpose": "Choose a purpose (top right) to see its export requests",
  "exp.none.pending": "No requests await your approval under this purpose", "exp.none.mine": "You have no export requests under this purpose",
  "exp.approved": "Approved", "exp.report": "Case report", "exp.rejected": "Rejected", "exp.rows": "rows", "exp.needwhy": "State the reason for rejecting (at least 4 characters)" });
zj.pages.exports = async () => {
  const me = await zj.chrome();
  if (!me) return;
  const t = zj.t, esc = zj.esc, en = zj.lang() === "en";
  const STATUS = { pending: "待审批", ready: "已批准，可下载", downloaded: "已下载", rejected: "已驳回" };
  const GRADES = { public: "公开", internal: "内部", sensitive: "敏感", secret: "机密" };
  const status = (r) => esc(en ? r.status : r.status === "ready" && !r.approved_by ? "可下载" : STATUS[r.status] || r.status);
  const report = (r) => r.kind === "case_report" ? r.master_id.slice("report:".length) : null;  // a case report's case
  const link = (r) => report(r) ? `${esc(t("exp.report", "专案报告"))} <a href="/cases/${encodeURIComponent(report(r))}">${esc(report(r))}</a>`
    : `<a href="/persons/${encodeURIComponent(r.master_id)}">${esc(r.master_id)}</a>`;
  const what = (r) => `${link(r)} · ${esc(r.rows)} ${esc(t("exp.rows", "行"))}` +
    ` · ${esc(en ? r.grade : GRADES[r.grade] || r.grade)}`;
  const decision = (r) => r.rejected_by ? `${esc(t("exp.rejected", "驳回"))}：${esc(r.rejected_by)} ${esc(zj.time(r.rejected_at))} · ${esc(r.reject_reason)}`
    : r.approved_by ? `${esc(t("exp.approved", "批准"))}：${esc(r.approved_by)} ${esc(zj.time(r.approved_at))}` : "";
  const cols = [["exp.requester", "申请人", "requested_by"], ["exp.purpose", "用途", "purpose"], ["exp.what", "导出内容", what],
    ["exp.reason", "事由", "reason"], zj.timeCol("exp.when", "申请时间", (r) => r.requested_at)];
  async function load() {
    if (!zj.purpose()) {
      ["#pending", "#mine"].forEach((id) => zj.table(id, cols, [], { empty: t("exp.nopurpose", "请先在右上角选择用途，以查看该用途下的导出申请") }));
      return;
    }
    const out = await zj.loading("#mine", zj.api("/api/exports")).catch(() => null);
    if (!out) return;
    const all = out.requests || [];
    const waiting = me.roles.includes("approver") ? all.filter((r) => r.status === "pending" && r.requested_by !== me.username) : [];
    zj.table("#pending", [...cols, ["exp.action", "审批", (r) =>
      `<button type="button" data-approve="${esc(r.id)}">${esc(t("exp.approve", "批准"))}</button> ` +
      `<input data-why="${esc(r.id)}" maxlength="500" placeholder="${esc(t("exp.why", "驳回理由"))}"> ` +
      `<button type="button" class="secondary" data-reject="${esc(r.id)}">${esc(t("exp.reject", "驳回"))}</button>`]],
    waiting, { empty: t("exp.none.pending", "该用途下没有待您审批的导出申请") });
    zj.table("#mine", [...cols.filter(([k]) => k !== "exp.requester"), ["exp.status", "状态", status], ["exp.decision", "审批", decision],
      ["exp.action", "操作", (r) => r.status === "ready" ? `<button type="button" data-download="${esc(r.id)}">${esc(t("exp.download", "下载"))}</button>` : ""]],
    all.filter((r) => r.requested_by === me.username), { empty: t("exp.none.mine", "您在该用途下没有导出申请") });
    document.querySelectorAll("[data-approve]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/exports/${encodeURIComponent(b.dataset.approve)}/approve`, { method: "POST" });
      zj.toast(t("exp.approved", "已批准"), "ok"); load();
    }));
    document.querySelectorAll("[data-reject]").forEach((b) => b.addEventListener("click", async () => {
      const why = document.querySelector(`[data-why="${CSS.escape(b.dataset.reject)}"]`).value.trim();
      if (why.length < 4) { zj.toast(t("exp.needwhy", "请填写驳回理由（至少 4 个字）")); return; }
      await zj.api(`/api/exports/${encodeURIComponent(b.dataset.reject)}/reject`, { method: "POST", json: { reason: why } });
      zj.toast(t("exp.rejected", "已驳回"), "ok"); load();
    }));
    document.querySelectorAll("[data-download]").forEach((b) => b.addEventListener("click", async () => {
      const r = all.find((x) => x.id === b.dataset.download);
      const file = report(r) ? `${report(r).replace(/[^A-Za-z0-9_-]/g, "_")}.html` : `${r.master_id}.csv`;
      await zj.download(`/api/exports/${encodeURIComponent(r.id)}/download`, file); load();
    }));
  }
  document.getElementById("purpose").addEventListener("change", load);
  load();
};
