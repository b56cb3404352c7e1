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
  "proc.asked": "Asked for approval", "proc.queue": "Waiting for my approval", "proc.reason": "Reason", "proc.subject": "Person", "proc.done": "Done", "proc.decision": "The procuratorate's decision number", "proc.extend": "extension" });
zj.pages.procedure = async () => {
  await zj.chrome();
  zj.proc.tab("procedure");
  const t = zj.t, esc = zj.esc, L = (k, zh) => t(`proc.${k}`, zh), quiet = { quiet: true };
  const [list, rules, queue] = await Promise.all([zj.loading("#proc-cases", zj.api("/api/procedure/cases")).catch(() => ({ cases: [] })),
    zj.api("/api/procedure/rules", quiet).catch(() => null), zj.api("/api/procedure/requests", quiet).catch(() => null)]);
  const stateLabel = (kind, st) => (rules?.machines?.[kind]?.states || {})[st] || st;
  zj.table("#proc-cases", [["proc.id", "案件编号", (c) => `<a href="/console/procedure/${encodeURIComponent(c.id)}">${esc(c.id)}</a>`],
    ["proc.title", "案件名称", "title"], ["proc.state", "状态", (c) => esc(stateLabel(c.kind, c.state))],
    zj.timeCol("proc.opened", "受案时间", (c) => c.opened_at)], list.cases || [], { empty: L("none", "尚无案件：请在下方受案登记。") });
  if (queue) {  // an approver's duty: what the cases of his unit ask of him (审批 needs no purpose of his own)
    document.getElementById("proc-queue-card").hidden = false;
    zj.table("#proc-queue", [["proc.id", "案件", (p) => esc(`${p.case_id} ${p.case_title || ""}`)], ["proc.action", "事项", (p) => esc(p.action)],
      ["proc.subject", "对象", (p) => esc(p.person || "")], ["proc.by", "呈请人", (p) => esc(p.actor)], ["proc.reason", "事由", (p) => esc(p.purpose || "")],
      zj.timeCol("col.time", "时间", (p) => p.requested_at),
      ["proc.approve", "审批", (p) => `<button type="button" data-approve="${esc(p.id)}" data-action="${esc(p.action)}">${esc(L("approve", "审批通过"))}</button>`]],
    queue.requests || [], { empty: L("nopending", "没有待审批的事项。") });
    document.querySelectorAll("#proc-queue [data-approve]").forEach((b) => b.addEventListener("click", async () => {
      const external = ["批准逮捕", "不批准逮捕", "延长侦查羁押"].includes(b.dataset.action);
      const decision_ref = external ? (prompt(L("decision", "人民检察院决定书文号")) || "") : "";
      await zj.api(`/api/procedure/requests/${b.dataset.approve}/approve`, { method: "POST", json: { decision_ref } });
      zj.toast(L("done", "已办理"), "ok"); b.closest("tr").remove();
    }));
  }
  document.getElementById("proc-open").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = ev.target, persons = f.persons.value.split(/[,，\s]+/).filter(Boolean);
    const made = await zj.api("/api/procedure/cases", { method: "POST", json: { kind: f.kind.value, title: f.title.value.trim(),
      category: f.category.value.trim(), persons, reason: f.reason.value.trim() || "依法受案" } });
    zj.proc.usePurpose(made.purpose || `case:${made.id}`);
    location.href = `/console/procedure/${encodeURIComponent(made.id)}`;
  };
  const id = decodeURIComponent(location.pathname.split("/")[3] || "");
  if (id) {
    const mine = (list.cases || []).find((c) => c.id === id);
    if (mine) zj.proc.usePurpose(mine.workspace_ref || `case:${id}`);
    open(id);
  }

  /** The documents the case's state (or a person's measure state) calls for, from the rules file. */
  function documentsDue(kind, d) {
    const out = [];
    for (const [name, doc] of Object.entries(rules?.documents || {})) {
      const acts = Object.values(rules.machines[kind].case).concat(Object.values(rules.machines[kind].measures.actions));
      if (!acts.some((a) => (a.documents || []).includes(name))) continue;  // a document of the other kind of case
      if (!doc.measure && doc.states.includes(d.case.state)) out.push([name, ""]);
      if (doc.measure) (d.measures || []).filter((m) => doc.states.includes(m.state)).forEach((m) => out.push([name, m.person]));
    }
    return out;
  }

  async function open(caseId) {
    document.getElementById("proc-case").hidden = false;
    const d = await zj.api(`/api/procedure/cases/${encodeURIComponent(caseId)}`, quiet)
      .catch(() => zj.api(`/api/procedure/supervision/cases/${encodeURIComponent(caseId)}`));  // 法制 / 督察 read it without a purpose
    const c = d.case, kind = c.kind, m = rules?.machines?.[kind];
    document.getElementById("proc-title").textContent = `${c.title} · ${c.id}`;
    const st = document.getElementById("proc-state");
    st.textContent = (d.labels?.states || {})[c.state] || c.state; st.dataset.state = c.state;
    document.getElementById("proc-property-link").href = `/console/property?case=${encodeURIComponent(c.id)}`;
    document.getElementById("proc-timeline").innerHTML = (d.steps || []).map((s) => `<li data-action="${esc(s.action)}"><time>${esc(zj.time(s.at))}</time> <b>${esc(s.action)}</b>` +
      `${s.to_state && s.to_state !== s.from_state ? ` → ${esc(s.to_state)}` : ""}${s.person ? ` · ${esc(s.person)}` : ""}` +
      ` <span class="muted">${esc(s.actor || "")}${s.approver ? ` / ${esc(L("approve", "审批"))}：${esc(s.approver)}` : ""}</span></li>`).join("");
    const limits = [...(d.limits || [])].sort((a, b) => (!!a.stopped_at - !!b.stopped_at) || String(a.due_at).localeCompare(String(b.due_at)));
    zj.table("#proc-limits", [["proc.limit", "期限", (l) => `<span data-limit="${esc(l.name)}">${esc(l.name)}</span>`], ["proc.subject", "对象", (l) => esc(l.person || "")],
      zj.timeCol("proc.due", "届满", (l) => l.due_at), ["proc.countdown", "倒计时", (l) => zj.proc.cell(l.due_at, rules?.limits?.[l.name]?.warn_hours, l.stopped_at)]],
    limits, { empty: L("nolimits", "当前没有正在计算的期限。") });
    zj.proc.start();
    const approverOf = (action) => m ? (m.case[action] || m.measures.actions[action] || {}).approver : null;
    const button = (action, person) => `<button type="button" class="${approverOf(action) ? "" : "secondary"}" data-act="${esc(action)}"${person ? ` data-person="${esc(person)}"` : ""}` +
      ` title="${esc(approverOf(action) ? `须${approverOf(action)}审批` : "")}">${esc(action)}${person ? ` · ${esc(person)}` : ""}</button>`;
    const next = d.next || { case: [], measures: {}, measure_start: [] };
    const acts = document.getElementById("proc-actions");
    acts.innerHTML = next.case.map((a) => button(a)).join("") + Object.entries(next.measures).map(([p, as]) => as.map((a) => button(a, p)).join("")).join("") +
      next.measure_start.map((a) => button(a)).join("") || `<p class="empty">${esc(L("noactions", "当前状态下没有可办理的事项。"))}</p>`;
    acts.querySelectorAll("[data-act]").forEach((b) => b.addEventListener("click", async () => {
      const person = b.dataset.person || document.getElementById("proc-person").value.trim();
      const r = await zj.api(`/api/procedure/cases/${encodeURIComponent(c.id)}/requests`, { method: "POST", json: { action: b.dataset.act, person,
        condition: document.getElementById("proc-condition").value.trim(), reason: document.getElementById("proc-reason").value.trim() || "依法办理" } });
      zj.toast(r.pending ? L("asked", "已呈请审批") : L("done", "已办理"), "ok");
      open(caseId);
    }));
    zj.table("#proc-pending", [["proc.action", "事项", (p) => esc(p.action)], ["proc.subject", "对象", (p) => esc(p.person || "")],
      ["proc.by", "呈请人", (p) => esc(p.actor)], zj.timeCol("col.time", "时间", (p) => p.requested_at)],
    d.pending || [], { empty: L("nopending", "没有待审批的事项。") });
    document.getElementById("proc-docs-due").innerHTML = documentsDue(kind, d).map(([k, person]) =>
      `<button type="button" class="secondary" data-doc="${esc(k)}" data-person="${esc(person)}">${esc(L("issue", "出具"))}：${esc(k)}${person ? ` · ${esc(person)}` : ""}</button>`).join("");
    document.querySelectorAll("#proc-docs-due [data-doc]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/procedure/cases/${encodeURIComponent(c.id)}/documents`, { method: "POST", json: { kind: b.dataset.doc, person: b.dataset.person } });
      zj.toast(L("done", "已办理"), "ok"); open(caseId);
    }));
    zj.table("#proc-docs", [["proc.number", "文号", (x) => esc(x.number)], ["proc.kind", "文书", (x) => esc(x.kind)],
      ["proc.version", "版本", (x) => esc(x.version)], ["proc.subject", "对象", (x) => esc(x.person || "")],
      ["proc.signer", "签发人", (x) => esc(x.signer || x.issued_by || "")], zj.timeCol("col.time", "时间", (x) => x.issued_at),
      ["proc.view", "查看", (x) => `<button type="button" class="secondary" data-view="${esc(x.id)}">${esc(L("view", "查看"))}</button>`]],
    d.documents || [], { empty: L("nodocs", "尚未出具文书。") });
    document.querySelectorAll("#proc-docs [data-view]").forEach((b) => b.addEventListener("click", async () => {
      const res = await zj.request(`/api/procedure/documents/${b.dataset.view}`, { headers: { Accept: "text/html" } });
      const frame = document.getElementById("proc-doc-view");
      frame.dataset.verified = res.headers.get("X-Document-Verified") || "";
      frame.srcdoc = await res.text(); frame.hidden = false;
    }));
  }
};
