/* 执法监督: the 法制 / 督察 inbox — the procedure's flags (deadline breaches, missing documents,
   steps without approval, persons held past a limit) and the seized property's (no custody
   record, past the disposal date), each with its evidence, and the custody chains' verification. */
"use strict";
zj.addEN({ "sup.title": "Supervision (法制 / 督察)", "sup.hint": "What the supervision rules found in the case procedure and the seized property, each with its evidence; supervisors read the procedure and the flags, not persons' files, unless assigned to the case.",
  "sup.rule": "Rule", "sup.case": "Case", "sup.subject": "Subject", "sup.since": "Since", "sup.evidence": "Evidence", "sup.to": "To",
  "sup.none": "No flag: every rule passed over the procedure and the property.", "sup.ok": "Custody chains verified", "sup.bad": "Custody chains broken",
  "sup.count": "flags", "sup.run": "Run the rules", "sup.ran": "Rules run", "sup.unavailable": "not available to this account" });
zj.pages.supervision = async () => {
  await zj.chrome();
  zj.proc.tab("supervision");
  const t = zj.t, esc = zj.esc, L = (k, zh) => t(`sup.${k}`, zh);
  const EVIDENCE = { description: "描述", disposal_due: "处置期限", days_over: "超期天数", state: "状态", location: "位置", holder: "保管人",
    seized_at: "扣押时间", seized_by: "扣押人", custody_entries: "保管记录", property_id: "财物序号", number: "财物编号", item_id: "原系统编号",
    due_at: "届满", stopped_at: "停止", over_hours: "超期小时", articles: "依据", person: "对象", action: "事项", document: "文书", limit: "期限" };
  const RULES = { property_without_custody: "涉案财物无保管记录", property_past_disposal: "涉案财物超期未处置" };
  const quiet = { quiet: true };
  const [proc, prop, chains] = await Promise.all([zj.api("/api/procedure/supervision/flags", quiet).catch(() => null),
    zj.api("/api/property/supervision/flags", quiet).catch(() => null), zj.api("/api/property/supervision/verify", quiet).catch(() => null)]);
  const evidence = (e) => {
    const obj = typeof e === "string" ? (() => { try { return JSON.parse(e); } catch { return { text: e }; } })() : e || {};
    const inner = obj.evidence && typeof obj.evidence === "object" ? obj.evidence : {};  // a flag handed on whole: its own evidence
    const flat = { ...obj, ...inner };
    for (const k of ["evidence", "rule", "title", "case_id", "since"]) delete flat[k];
    const name = (k) => (zj.lang() === "en" ? k : EVIDENCE[k] || k);
    return Object.entries(flat).map(([k, v]) => `<span class="ev-item"><b>${esc(name(k))}</b> ${esc(typeof v === "object" ? JSON.stringify(v) : zj.value(v))}</span>`).join(" ");
  };
  const key = (f) => `${f.rule}|${f.case_id}|${f.subject}`;
  const fromProc = ((proc && proc.flags) || []).map((f) => ({ ...f, source: "procedure" }));
  const seen = new Set(fromProc.map(key));  // a run of the rules carries the property's flags too: each once
  const rows = fromProc.concat(((prop && prop.flags) || []).map((f) => ({ ...f, to_department: "法制", subject: f.item_id || f.number, source: "property" }))
    .filter((f) => !seen.has(key(f))));
  document.getElementById("sup-run").onclick = async () => {
    const r = await zj.api("/api/procedure/supervision/run", { method: "POST" });
    zj.toast(`${L("ran", "监督规则已运行")}：${Object.values(r.flags || {}).reduce((a, b) => a + b, 0)}`, "ok"); location.reload();
  };
  const v = document.getElementById("sup-verify");
  if (chains) {
    v.textContent = chains.ok ? `✓ ${L("ok", "保管链校验通过")}（${chains.items} / ${chains.entries}）` : `✗ ${L("bad", "保管链被篡改")}：${chains.problems.length}`;
    v.className = `badge ${chains.ok ? "ok" : "bad"}`;
  } else v.textContent = `${L("ok", "保管链校验")}：${L("unavailable", "本账号无权查看")}`;
  document.getElementById("sup-count").textContent = `${rows.length} ${L("count", "条标记")}`;
  zj.table("#sup-flags", [["sup.rule", "规则", (f) => `<span data-rule="${esc(f.rule)}">${esc(f.title || RULES[f.rule] || f.rule)}</span>`],
    ["sup.case", "案件", (f) => f.case_id ? `<a href="/console/procedure/${encodeURIComponent(f.case_id)}">${esc(f.case_id)}</a>` : ""],
    ["sup.subject", "对象", (f) => esc(f.subject || f.person || "")], ["sup.to", "推送", (f) => esc(f.to_department || "")],
    zj.timeCol("sup.since", "时间", (f) => f.since || f.run_at), ["sup.evidence", "证据", (f) => evidence(f.evidence)]],
  rows, { empty: L("none", "没有标记：程序与涉案财物均通过全部监督规则。") });
};
