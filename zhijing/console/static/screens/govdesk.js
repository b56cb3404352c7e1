/* 为民服务受理: a station's desk for the citizens' requests from /gov (no-criminal-record
   certificates a human must decide, lost-and-found reports), under the station's standing
   purpose ticket:GOV-<station> (GET /api/gov-desk/requests, POST …/{id}/decision). */
"use strict";
zj.addEN({ "gd.title": "Citizens' requests (station desk)",
  "gd.hint": "Requests citizens made on the public-services site (/gov): no-criminal-record certificates that need a decision, lost-and-found reports. Choose your station's public-service purpose at the top right. The reason for a review is internal: the applicant is never told.",
  "gd.status": "Status", "gd.no": "No.", "gd.kind": "Kind", "gd.who": "Applicant", "gd.when": "Submitted", "gd.detail": "Details",
  "gd.internal": "Internal reason", "gd.action": "Action", "gd.issue": "Issue", "gd.refuse": "Refuse", "gd.close": "Close",
  "gd.nopurpose": "Choose your station's public-service purpose (ticket:GOV-…) at the top right to see its requests",
  "gd.none": "No requests in this state at this station", "gd.done": "Decided", "gd.matches": "May match" });
zj.pages.govdesk = async () => {
  const me = await zj.chrome();
  if (!me) return;
  const t = zj.t, esc = zj.esc, en = zj.lang() === "en";
  const KINDS = { no_record: ["无犯罪记录证明", "No-criminal-record certificate"], hukou: ["户籍证明", "Household certificate"],
    lost: ["失物登记", "Lost property"], found: ["拾物登记", "Found property"] };
  const STATUS = { review: ["待审核", "to review"], received: ["已受理", "received"], issued: ["已出具", "issued"],
    refused: ["不予出具", "refused"], closed: ["已办结", "closed"] };
  const word = (m, k) => esc((m[k] || [k, k])[en ? 1 : 0]);
  const detail = (r) => r.detail ? esc([r.detail.item, r.detail.place, r.detail.when, r.detail.description, r.detail.phone].filter(Boolean).join(" · ")) +
      (r.matches && r.matches.length ? ` <span class="badge" data-matches="${esc(r.matches.join(","))}">${esc(t("gd.matches", "可能对应"))} #${esc(r.matches.join(", #"))}</span>` : "")
    : r.certificate ? esc(r.certificate) : "";
  const action = (r) => r.status === "review"
    ? `<button type="button" data-decide="issue" data-id="${esc(r.id)}">${esc(t("gd.issue", "出具"))}</button> ` +
      `<button type="button" class="secondary" data-decide="refuse" data-id="${esc(r.id)}">${esc(t("gd.refuse", "不予出具"))}</button>`
    : r.status === "received" ? `<button type="button" data-decide="close" data-id="${esc(r.id)}">${esc(t("gd.close", "办结"))}</button>` : "";
  const cols = [["gd.no", "编号", "id"], ["gd.kind", "事项", (r) => word(KINDS, r.kind)], ["gd.status", "状态", (r) => word(STATUS, r.status)],
    ["gd.who", "申请人", (r) => `${esc(r.name)} ${esc(r.citizen_id)}`], zj.timeCol("gd.when", "提交时间", (r) => r.created_at),
    ["gd.detail", "详情", detail], ["gd.internal", "内部原因", (r) => esc(r.internal || "")], ["gd.action", "操作", action]];
  const select = document.getElementById("gd-status");
  async function load() {
    if (!zj.purpose().startsWith("ticket:GOV-")) {
      zj.table("#gd-list", cols, [], { empty: t("gd.nopurpose", "请先在右上角选择本所的“为民服务受理”用途（ticket:GOV-…）") });
      return;
    }
    const q = select.value ? `?status=${encodeURIComponent(select.value)}` : "";
    const out = await zj.loading("#gd-list", zj.api(`/api/gov-desk/requests${q}`)).catch(() => null);
    if (!out) return;
    zj.table("#gd-list", cols, out.requests || [], { empty: t("gd.none", "本所没有该状态的申请") });
    document.querySelectorAll("[data-decide]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/gov-desk/requests/${encodeURIComponent(b.dataset.id)}/decision`, { method: "POST", json: { decision: b.dataset.decide } });
      zj.toast(t("gd.done", "已处理"), "ok"); load();
    }));
  }
  select.addEventListener("change", load);
  zj.rerun(load);
  load();
};
