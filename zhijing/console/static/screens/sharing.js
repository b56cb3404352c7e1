/* 资源共享交换: sharing contracts (request, approve on each side, reject, revoke), each contract's
   usage (calls, hits, refusals per day: an ECharts bar chart), batch comparison jobs with their
   progress, and subscription deliveries with their failures (GET/POST /api/sharing/...). */
"use strict";
zj.addEN({ "sh.title": "Data sharing: sharing contracts", "sh.new": "Request a sharing contract", "sh.usage": "Usage",
  "sh.hint": "Outside departments call the verification, query, batch comparison and subscription services under an approved contract; each side's named approver approves it, never the requester. Every call is audited as a disclosure.",
  "sh.f.title": "Title", "sh.f.dept": "Receiving department", "sh.f.purpose": "Purpose", "sh.f.basis": "Legal basis",
  "sh.f.datasets": "Datasets (comma separated)", "sh.f.fields": "Fields", "sh.f.services": "Services", "sh.f.events": "Subscribed events",
  "sh.f.quota": "Daily quota (persons)", "sh.f.expires": "Expires", "sh.f.deptApprover": "Department approver (account)",
  "sh.f.policeApprover": "Police approver (account)", "sh.f.endpoint": "Push endpoint (empty: pulled from the feed)", "sh.submit": "Submit",
  "sh.usage.contract": "Contract", "sh.jobs": "Batch comparison jobs", "sh.deliveries": "Subscription deliveries", "sh.deliveries.status": "Status",
  "sh.all": "All", "sh.st.failed": "Failed", "sh.st.pending": "Pending", "sh.st.delivered": "Delivered", "sh.c.id": "No.",
  "sh.c.title": "Contract", "sh.c.dept": "Department", "sh.c.services": "Services", "sh.c.quota": "Quota/day", "sh.c.expires": "Expires",
  "sh.c.state": "State", "sh.c.approvals": "Approvals", "sh.c.action": "Action", "sh.approve": "Approve", "sh.reject": "Reject",
  "sh.revoke": "Revoke", "sh.why": "reason", "sh.needwhy": "State the reason (at least 4 characters)", "sh.requested": "Contract requested",
  "sh.approved": "Approved", "sh.none": "No sharing contracts yet: a department requests one below",
  "sh.j.file": "File", "sh.j.progress": "Progress", "sh.j.matched": "Matched", "sh.j.created": "Uploaded", "sh.j.error": "Error",
  "sh.j.none": "No batch comparison yet: a department uploads a list under its contract (POST /api/sharing/batch)",
  "sh.d.change": "Change", "sh.d.kind": "Event", "sh.d.attempts": "Attempts", "sh.d.error": "Last error", "sh.d.created": "Created",
  "sh.d.none": "No deliveries: nothing changed for the persons subscribed with a push endpoint",
  "sh.calls": "Calls", "sh.hits": "Hits", "sh.refusals": "Refusals", "sh.nousage": "No calls under this contract yet",
  "sh.pickone": "No contract to report on yet", "sh.totals": "Total", "nav.sharing": "Data sharing" });
zj.pages.sharing = async () => {
  const me = await zj.chrome();
  if (!me) return;
  const t = zj.t, esc = zj.esc, en = zj.lang() === "en";
  const terms = await zj.api("/api/sharing/terms");
  const STATE = { pending: "待审批", active: "生效", expired: "已到期", rejected: "已驳回", revoked: "已撤销" };
  const DSTATE = { pending: "待推送", delivered: "已送达", failed: "失败" };
  const JSTATE = { queued: "排队", running: "比对中", done: "完成", failed: "失败", purged: "已删除" };
  const word = (map, v) => esc(en ? v : map[v] || v);
  const boxes = (id, items, name, on) => {
    document.getElementById(id).insertAdjacentHTML("beforeend", Object.entries(items).map(([k, v]) =>
      `<label class="check"><input type="checkbox" name="${name}" value="${esc(k)}" ${on.includes(k) ? "checked" : ""}> ${esc(en ? k : v.title || v)}</label>`).join(""));
  };
  boxes("sh-fields", terms.fields, "field", ["name", "sex", "district", "living"]);
  boxes("sh-services", terms.services, "service", ["verify"]);
  boxes("sh-events", terms.events, "event", []);
  if (me.roles.includes("external")) document.getElementById("sh-dept").value = me.department || "";
  let contracts = [];

  const approvals = (c) => [[c.dept_approver, c.dept_approved_at], [c.police_approver, c.police_approved_at]]
    .map(([who, at]) => `${esc(who)} ${at ? "✓ " + esc(zj.time(at)) : "…"}`).join("<br>");
  const actions = (c) => {
    const mine = [c.dept_approver, c.police_approver].includes(me.username);
    const approvedMine = (c.dept_approver === me.username && c.dept_approved_at) || (c.police_approver === me.username && c.police_approved_at);
    if (c.state === "pending" && mine && !approvedMine && c.requested_by !== me.username) {
      return `<button type="button" data-approve="${c.id}">${esc(t("sh.approve", "批准"))}</button> ` +
        `<input data-why="${c.id}" maxlength="500" placeholder="${esc(t("sh.why", "理由"))}"> ` +
        `<button type="button" class="secondary" data-close="reject" data-id="${c.id}">${esc(t("sh.reject", "驳回"))}</button>`;
    }
    if (c.state === "active" && !me.roles.includes("external") && me.roles.includes("approver")) {
      return `<input data-why="${c.id}" maxlength="500" placeholder="${esc(t("sh.why", "理由"))}"> ` +
        `<button type="button" class="secondary" data-close="revoke" data-id="${c.id}">${esc(t("sh.revoke", "撤销"))}</button>`;
    }
    return "";
  };
  async function loadContracts() {
    contracts = (await zj.loading("#sh-contracts", zj.api("/api/sharing/contracts"))).contracts;
    zj.table("#sh-contracts", [["sh.c.id", "编号", "ref"], ["sh.c.title", "协议", (c) => `${esc(c.title)}<br><small class="muted">${esc(c.legal_basis)}</small>`],
      ["sh.c.dept", "部门", "department"], ["sh.c.services", "服务", (c) => c.services.map((s) => word(terms.services, s)).join("、")],
      ["sh.c.quota", "限额/日", "daily_quota"], zj.timeCol("sh.c.expires", "到期", (c) => c.expires_at),
      ["sh.c.state", "状态", (c) => `<span class="state-${esc(c.state)}" data-state="${esc(c.state)}">${word(STATE, c.state)}</span>`],
      ["sh.c.approvals", "审批", approvals], ["sh.c.action", "操作", actions]], contracts, { empty: t("sh.none", "尚无共享协议：外部部门可在下方申请") });
    document.querySelectorAll("#sh-contracts tbody tr").forEach((tr, i) => { if (contracts[i]) tr.dataset.contract = contracts[i].id; });
    document.querySelectorAll("[data-approve]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/sharing/contracts/${b.dataset.approve}/approve`, { method: "POST" });
      zj.toast(t("sh.approved", "已批准"), "ok"); refresh();
    }));
    document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", async () => {
      const why = document.querySelector(`[data-why="${CSS.escape(b.dataset.id)}"]`).value.trim();
      if (why.length < 4) { zj.toast(t("sh.needwhy", "请填写理由（至少 4 个字）")); return; }
      await zj.api(`/api/sharing/contracts/${b.dataset.id}/${b.dataset.close}`, { method: "POST", json: { reason: why } });
      refresh();
    }));
    const sel = document.getElementById("sh-usage-contract"), was = sel.value;
    sel.innerHTML = contracts.map((c) => `<option value="${c.id}">${esc(c.ref)} ${esc(c.title)}</option>`).join("");
    if (was && contracts.some((c) => String(c.id) === was)) sel.value = was;
  }
  async function loadUsage() {
    const id = document.getElementById("sh-usage-contract").value, totals = document.getElementById("sh-totals");
    const box = document.getElementById("sh-usage-chart");
    if (!id) { totals.textContent = t("sh.pickone", "尚无可统计的协议"); box.innerHTML = ""; return; }
    const c = await zj.api(`/api/sharing/contracts/${id}`);
    const u = c.usage, days = u.days;
    totals.dataset.calls = u.totals.calls; totals.dataset.hits = u.totals.hits; totals.dataset.refusals = u.totals.refusals;
    totals.textContent = `${t("sh.totals", "合计")}：${t("sh.calls", "调用")} ${u.totals.calls} · ${t("sh.hits", "命中")} ${u.totals.hits} · ` +
      `${t("sh.refusals", "拒绝")} ${u.totals.refusals}` + (days.length ? "" : ` — ${t("sh.nousage", "该协议尚无调用")}`);
    const sum = (k) => days.map((d) => u.rows.filter((r) => r.day === d).reduce((a, r) => a + r[k], 0));
    const chart = zj.chart(box);
    chart?.setOption({ tooltip: { trigger: "axis" }, legend: {}, xAxis: { type: "category", data: days }, yAxis: { type: "value" },
      series: [["calls", "调用"], ["hits", "命中"], ["refusals", "拒绝"]].map(([k, zh]) => ({ name: t(`sh.${k}`, zh), type: "bar", data: sum(k) })) });
  }
  async function loadJobs() {
    const jobs = (await zj.api("/api/sharing/jobs")).jobs;
    const pct = (j) => (j.rows ? Math.round((100 * j.done) / j.rows) : 0);
    zj.table("#sh-jobs", [["sh.c.id", "编号", "id"], ["sh.c.title", "协议", (j) => `contract:${esc(j.contract_id)}`], ["sh.j.file", "文件", "filename"],
      ["sh.c.state", "状态", (j) => `<span data-state="${esc(j.status)}">${word(JSTATE, j.status)}</span>`],
      ["sh.j.progress", "进度", (j) => `<progress max="100" value="${pct(j)}"></progress> ${esc(j.done)}/${esc(j.rows ?? "?")}`],
      ["sh.j.matched", "一致", (j) => esc(j.matched ?? "")], zj.timeCol("sh.j.created", "上传时间", (j) => j.created_at),
      ["sh.j.error", "错误", "error"]], jobs, { empty: t("sh.j.none", "尚无比对任务：外部部门在协议下上传名单（POST /api/sharing/batch）") });
    return jobs;
  }
  async function loadDeliveries() {
    const status = document.getElementById("sh-delivery-status").value;
    const out = (await zj.api(`/api/sharing/deliveries${status ? "?status=" + status : ""}`)).deliveries;
    zj.table("#sh-deliveries", [["sh.c.id", "编号", "id"], ["sh.c.title", "协议", (d) => `contract:${esc(d.contract_id)}`],
      ["sh.d.change", "变更", "change_seq"], ["sh.d.kind", "事件", (d) => word(Object.fromEntries(Object.entries(terms.events)), d.kind)],
      ["sh.c.state", "状态", (d) => `<span data-state="${esc(d.status)}">${word(DSTATE, d.status)}</span>`], ["sh.d.attempts", "次数", "attempts"],
      ["sh.d.error", "最近错误", "last_error"], zj.timeCol("sh.d.created", "产生时间", (d) => d.created_at)], out,
    { empty: t("sh.d.none", "尚无推送：订阅的人员没有变更，或协议未设推送地址") });
  }
  async function refresh() {
    await loadContracts();
    await Promise.all([loadUsage(), loadJobs(), loadDeliveries()]);
  }
  document.getElementById("sh-usage-contract").addEventListener("change", loadUsage);
  document.getElementById("sh-delivery-status").addEventListener("change", loadDeliveries);
  document.getElementById("sh-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (id) => document.getElementById(id).value.trim();
    const checked = (name) => [...document.querySelectorAll(`input[name=${name}]:checked`)].map((x) => x.value);
    await zj.api("/api/sharing/contracts", { method: "POST", json: {
      title: v("sh-title"), department: v("sh-dept"), purpose: v("sh-purpose"), legal_basis: v("sh-basis"),
      datasets: v("sh-datasets").split(/[,，\s]+/).filter(Boolean), fields: checked("field"), services: checked("service"),
      events: checked("event"), daily_quota: +v("sh-quota"), expires_at: `${v("sh-expires")}T23:59:59`,
      dept_approver: v("sh-dept-approver"), police_approver: v("sh-police-approver"), endpoint: v("sh-endpoint") || null } });
    zj.toast(t("sh.requested", "已提交申请"), "ok");
    refresh();
  });
  await refresh();
  setInterval(() => { loadJobs(); loadDeliveries(); }, 3000);  // progress of running jobs, new deliveries
};
