/* 案件办理: my procedure cases, 受案 of a new one, and one case at /console/procedure/{id}: the
   timeline of its states, the countdowns of its time limits, its documents (issue = sign, view
   watermarked), the actions the rules allow now (呈请; taken at once when they need no approval)
   and the requests waiting for an approver (审批; never the case's own handler). */
"use strict";
zj.addEN({ "proc.mine": "My cases", "proc.criminal": "Criminal", "proc.administrative": "Administrative", "proc.title": "Case title",
  "proc.category": "Matter (e.g. theft)", "proc.persons": "Person IDs (comma separated)", "proc.open": "Register (受案)", "proc.property": "Seized property",
  "proc.timeline": "Procedure", "proc.limits": "Time limits", "proc.actions": "Actions", "proc.person": "Person (required for a compulsory measure)",
  "proc.condition": "Condition (required for an extension)", "proc.pending": "Waiting for approval", "proc.documents": "Legal documents",
  "proc.id": "Case", "proc.state": "State", "proc.handler": "Handler", "proc.opened": "Registered", "proc.limit": "Limit", "proc.started": "Started",
  "proc.due": "Due", "proc.countdown": "Countdown", "proc.action": "Action", "proc.by": "Asked by", "proc.approve": "Approve",
  "proc.kind": "Document", "proc.number": "Number", "proc.version": "Version", "proc.signer": "Signed by", "proc.view": "View",
  "proc.issue": "Issue", "proc.none": "No cases yet: register one above (受案登记).", "proc.noactions": "No action is open in this state.",
  "proc.nopending": "Nothing waits for approval.", "proc.nodocs": "No document issued yet.", "proc.nolimits": "No time limit runs.",
  "proc.asked": "Asked for approval", "proc.done": "Done", "proc.decision": "The procuratorate's decision number", "proc.extend": "extension" });
zj.pages.procedure = async () => {
  await zj.chrome();
  zj.proc.tab("procedure");
  const t = zj.t, esc = zj.esc, L = (k, zh) => t(`proc.${k}`, zh);
  const list = await zj.loading("#proc-cases", zj.api("/api/procedure/cases")).catch(() => ({ cases: [] }));
  zj.table("#proc-cases", [["proc.id", "案件编号", (c) => `<a href="/console/procedure/${encodeURIComponent(c.id)}">${esc(c.id)}</a>`],
    ["proc.title", "案件名称", "title"], ["proc.state", "状态", "state"], ["proc.handler", "主办人", "handler"],
    zj.timeCol("proc.opened", "受案时间", (c) => c.opened_at)], list.cases || [], { empty: L("none", "尚无案件：请在下方受案登记。") });
  document.getElementById("proc-open").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = ev.target, persons = f.persons.value.split(/[,，\s]+/).filter(Boolean);
    const made = await zj.api("/api/procedure/cases", { method: "POST", json: { kind: f.kind.value, title: f.title.value.trim(), category: f.category.value.trim(), persons } });
    zj.proc.usePurpose(made.purpose || `case:${made.id}`);
    location.href = `/console/procedure/${encodeURIComponent(made.id)}`;
  };
  const id = decodeURIComponent(location.pathname.split("/")[3] || "");
  if (id) open(id);

  async function open(caseId) {
    document.getElementById("proc-case").hidden = false;
    const d = await zj.api(`/api/procedure/cases/${encodeURIComponent(caseId)}`);
    const c = d.case;
    zj.proc.usePurpose(c.purpose || (c.workspace_ref ? c.workspace_ref : `case:${c.id}`));
    document.getElementById("proc-title").textContent = `${c.title} · ${c.id}`;
    document.getElementById("proc-state").textContent = c.state_label || c.state;
    document.getElementById("proc-property-link").href = `/console/property?case=${encodeURIComponent(c.id)}`;
    const tl = document.getElementById("proc-timeline");
    tl.innerHTML = (d.steps || []).map((s) => `<li data-action="${esc(s.action)}"><time>${esc(zj.time(s.at))}</time> <b>${esc(s.action)}</b>` +
      `${s.to_state && s.to_state !== s.from_state ? ` → ${esc(s.to_state)}` : ""}${s.person ? ` · ${esc(s.person)}` : ""}` +
      ` <span class="muted">${esc(s.actor || "")}${s.approver ? ` / ${esc(t("proc.approve", "审批"))}：${esc(s.approver)}` : ""}</span></li>`).join("");
    zj.table("#proc-limits", [["proc.limit", "期限", (l) => esc(l.name)], ["proc.person", "对象", (l) => esc(l.person || "")],
      zj.timeCol("proc.due", "届满", (l) => l.due_at), ["proc.countdown", "倒计时", (l) => zj.proc.cell(l.due_at, l.warn_hours, l.stopped_at)]],
    (d.limits || []).filter((l) => !l.stopped_at).concat((d.limits || []).filter((l) => l.stopped_at)), { empty: L("nolimits", "当前没有正在计算的期限。") });
    zj.proc.start();
    const acts = document.getElementById("proc-actions");
    const button = (a, person) => `<button type="button" class="${a.approver ? "" : "secondary"}" data-act="${esc(a.action)}"${person ? ` data-person="${esc(person)}"` : ""}` +
      ` title="${esc(a.approver ? `须${a.approver}审批` : "")}">${esc(a.action)}${person ? ` · ${esc(person)}` : ""}</button>`;
    const measures = Object.entries(d.measure_actions || {});
    acts.innerHTML = (d.actions || []).map((a) => button(a)).join("") + measures.map(([p, as]) => as.map((a) => button(a, p === "*" ? "" : p)).join("")).join("")
      || `<p class="empty">${esc(L("noactions", "当前状态下没有可办理的事项。"))}</p>`;
    acts.querySelectorAll("[data-act]").forEach((b) => b.addEventListener("click", async () => {
      const person = b.dataset.person || document.getElementById("proc-person").value.trim();
      const condition = document.getElementById("proc-condition").value.trim();
      const r = await zj.api(`/api/procedure/cases/${encodeURIComponent(c.id)}/requests`, { method: "POST", json: { action: b.dataset.act, person, condition } });
      zj.toast(r.pending ? L("asked", "已呈请审批") : L("done", "已办理"), "ok");
      open(caseId);
    }));
    zj.table("#proc-pending", [["proc.action", "事项", (p) => esc(p.action)], ["proc.person", "对象", (p) => esc(p.person || "")],
      ["proc.by", "呈请人", (p) => esc(p.actor)], zj.timeCol("col.time", "时间", (p) => p.requested_at),
      ["proc.approve", "审批", (p) => `<button type="button" data-approve="${esc(p.id)}" data-external="${p.external ? 1 : ""}">${esc(L("approve", "审批通过"))}</button>`]],
    d.pending || [], { empty: L("nopending", "没有待审批的事项。") });
    document.querySelectorAll("#proc-pending [data-approve]").forEach((b) => b.addEventListener("click", async () => {
      const decision_ref = b.dataset.external ? (prompt(L("decision", "人民检察院决定书文号")) || "") : "";
      await zj.api(`/api/procedure/requests/${b.dataset.approve}/approve`, { method: "POST", json: { decision_ref } });
      zj.toast(L("done", "已办理"), "ok"); open(caseId);
    }));
    document.getElementById("proc-docs-due").innerHTML = (d.documents_due || []).map((k) =>
      `<button type="button" class="secondary" data-doc="${esc(k)}">${esc(L("issue", "出具"))}：${esc(k)}</button>`).join("");
    document.querySelectorAll("#proc-docs-due [data-doc]").forEach((b) => b.addEventListener("click", async () => {
      const person = document.getElementById("proc-person").value.trim();
      await zj.api(`/api/procedure/cases/${encodeURIComponent(c.id)}/documents`, { method: "POST", json: { kind: b.dataset.doc, person } });
      zj.toast(L("done", "已办理"), "ok"); open(caseId);
    }));
    zj.table("#proc-docs", [["proc.number", "文号", (x) => esc(x.number)], ["proc.kind", "文书", (x) => esc(x.kind)],
      ["proc.version", "版本", (x) => esc(x.version)], ["proc.person", "对象", (x) => esc(x.person || "")],
      ["proc.signer", "签发人", (x) => esc(x.signer || x.issued_by || "")], zj.timeCol("col.time", "时间", (x) => x.issued_at),
      ["proc.view", "查看", (x) => `<button type="button" class="secondary" data-view="${esc(x.id)}">${esc(L("view", "查看"))}</button>`]],
    d.documents || [], { empty: L("nodocs", "尚未出具文书。") });
    document.querySelectorAll("#proc-docs [data-view]").forEach((b) => b.addEventListener("click", async () => {
      const res = await zj.request(`/api/procedure/documents/${b.dataset.view}`, { headers: { Accept: "text/html" } });
      const frame = document.getElementById("proc-doc-view");
      frame.srcdoc = await res.text(); frame.hidden = false;
    }));
  }
};
