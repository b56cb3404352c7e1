/* 导出申请 (双人审批): one's own requests under every purpose with their state (a ready one downloads
   once, under its purpose: a link switches to it); for approvers, those awaiting a second officer under
   the chosen purpose (approve, or reject with a reason); for 督察, every request, read-only. */
"use strict";
zj.addEN({ "exp.title": "Export requests (two-officer rule)",
  "exp.hint": "Exports above the threshold wait for a second officer; no one approves their own. Downloads and decisions happen under the request's purpose.",
  "exp.pending": "Awaiting my approval (this purpose)", "exp.mine": "My export requests (all purposes)", "exp.all": "All export requests (oversight, read-only)",
  "exp.id": "Request", "exp.none.all": "No export requests", "exp.requester": "Requester", "exp.purpose": "Purpose",
  "exp.what": "What", "exp.reason": "Reason", "exp.when": "Requested", "exp.status": "Status", "exp.decision": "Decision",
  "exp.action": "Action", "exp.approve": "Approve", "exp.reject": "Reject", "exp.why": "reason for rejecting",
  "exp.download": "Download", "exp.nopurpose": "Choose a purpose (top right) to see its export requests",
  "exp.none.pending": "No requests await your approval under this purpose", "exp.none.mine": "You have no export requests yet",
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
  const here = (r) => r.purpose === zj.purpose();  // a download or decision is taken under the request's own purpose
  const under = (r) => here(r) ? esc(r.purpose) : `<a href="/exports?purpose=${encodeURIComponent(r.purpose)}" data-switch="${esc(r.purpose)}">${esc(r.purpose)}</a>`;
  async function load() {
    const [mine, may] = await Promise.all([zj.loading("#mine", zj.api("/api/me/exports")).catch(() => null), zj.may()]);
    const approver = me.roles.includes("approver");
    document.getElementById("pending-box").hidden = !approver;
    const waiting = approver && zj.purpose() ? ((await zj.api("/api/exports", { quiet: true }).catch(() => null))?.requests || [])
      .filter((r) => r.status === "pending" && r.requested_by !== me.username) : [];
    if (approver) zj.table("#pending", [...cols, ["exp.action", "审批", (r) =>
      `<button type="button" data-approve="${esc(r.id)}">${esc(t("exp.approve", "批准"))}</button> ` +
      `<input data-why="${esc(r.id)}" maxlength="500" placeholder="${esc(t("exp.why", "驳回理由"))}"> ` +
      `<button type="button" class="secondary" data-reject="${esc(r.id)}">${esc(t("exp.reject", "驳回"))}</button>`]],
    waiting, { empty: zj.purpose() ? t("exp.none.pending", "该用途下没有待您审批的导出申请") : t("exp.nopurpose", "请先在右上角选择用途，以查看该用途下待审批的申请") });
    const all = mine?.requests || [];
    zj.table("#mine", [["exp.id", "申请编号", "id"], ["exp.purpose", "用途", under], ...cols.slice(2), ["exp.status", "状态", status],
      ["exp.decision", "审批", decision], ["exp.action", "操作", (r) => r.status === "ready" && here(r)
        ? `<button type="button" data-download="${esc(r.id)}">${esc(t("exp.download", "下载"))}</button>` : ""]],
    all, { empty: t("exp.none.mine", "您还没有导出申请") });
    if (may.oversight) {  // 督察: every request under every purpose, read-only
      document.getElementById("all-box").hidden = false;
      const every = await zj.loading("#all", zj.api("/api/oversight/exports")).catch(() => null);
      if (every) zj.table("#all", [["exp.id", "申请编号", "id"], ...cols, ["exp.status", "状态", status], ["exp.decision", "审批", decision]],
        every.requests || [], { empty: t("exp.none.all", "没有导出申请") });
    }
    document.querySelectorAll("[data-switch]").forEach((a) => a.addEventListener("click", (ev) => {
      ev.preventDefault(); zjSession.choose(a.dataset.switch); location.reload();
    }));
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
