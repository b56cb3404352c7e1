/* 审计监督 (督察): the chain check, oversight flags with their evidence, the trail paged and
   filtered, and one entry checked in the browser (RFC 6962 with WebCrypto, pinned key). */
"use strict";
zj.audit = (() => {
  // RFC 6962 / 9162 checks of one audit entry, done here with WebCrypto so the browser need not trust the server
  const hex = (buf) => [...new Uint8Array(buf)].map((x) => x.toString(16).padStart(2, "0")).join("");
  const unhex = (h) => Uint8Array.from((h || "").match(/../g) || [], (x) => parseInt(x, 16));
  async function sha256(...parts) {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let at = 0;
    parts.forEach((p) => { all.set(p, at); at += p.length; });
    return hex(await crypto.subtle.digest("SHA-256", all));
  }
  // the head is checked with the pinned key (GET /api/audit/key: configuration or the key file),
  // never with a key named by the head row itself, which a rewrite of the database could replace
  async function verifyProof(p, pinned) {
    const enc = new TextEncoder(), h = p.head;
    const chain = (await sha256(unhex(p.entry.prev_hash), enc.encode(p.entry.body))) === p.entry.hash;
    let r = await sha256(Uint8Array.of(0), unhex(p.entry.hash));
    const leaf = r === p.leaf;
    let fn = p.index, sn = p.tree_size - 1, path = true;
    for (const x of p.proof) {
      if (sn === 0) { path = false; break; }
      if ((fn & 1) || fn === sn) {
        r = await sha256(Uint8Array.of(1), unhex(x), unhex(r));
        if (!(fn & 1)) while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
      } else r = await sha256(Uint8Array.of(1), unhex(r), unhex(x));
      fn >>= 1; sn >>= 1;
    }
    path = path && sn === 0 && r === h.root;
    let signature = null;  // null: this algorithm cannot be checked in this browser (SM2)
    if (pinned && pinned.algorithm === "ed25519") {
      try {
        const key = await crypto.subtle.importKey("raw", unhex(pinned.public_key), { name: "Ed25519" }, false, ["verify"]);
        const base = `${h.kind}|${h.first_seq}|${h.size}|${h.root}|${h.chain_hash}|${h.signed_at}`;
        const msg = enc.encode((h.version || 1) >= 2 ? `v2|${base}|${h.prev_first}|${h.prev_size}|${h.prev_root}` : base);
        signature = h.algorithm === pinned.algorithm && await crypto.subtle.verify({ name: "Ed25519" }, key, unhex(h.signature), msg);
      } catch (e) { signature = null; }
    }
    return { chain, leaf, path, signature };
  }
  return { verifyProof };
})();
zj.addEN({ "audit.chain": "Audit chain", "audit.activity": "Access activity (hourly)", "audit.flags": "Oversight flags",
  "audit.events": "Audit events", "audit.confirm": "Confirm misuse", "audit.proof": "Checked in your browser",
  "audit.proof.chain": "Chain hash SHA-256(prev‖body)", "audit.proof.leaf": "Leaf hash (RFC 6962)",
  "audit.proof.path": "Inclusion proof → tree root", "audit.proof.sig": "Tree head signature", "audit.proof.key": "pinned key fingerprint",
  "audit.dismiss": "Dismiss", "audit.note": "Review note", "audit.f.actor": "Officer", "audit.f.since": "From", "audit.f.until": "Until",
  "audit.f.record": "Person ID", "audit.f.apply": "Filter", "audit.newer": "Newer", "audit.older": "Older",
  "audit.c.seq": "Seq", "audit.c.time": "Time", "audit.c.actor": "Officer", "audit.c.op": "Operation", "audit.c.purpose": "Purpose",
  "audit.c.outcome": "Outcome", "audit.c.records": "Persons read", "audit.c.rule": "Rule", "audit.c.summary": "Finding", "audit.c.evidence": "Evidence", "audit.c.status": "Status",
  "audit.c.created": "Raised", "audit.c.decision": "Decision",
  "rule.unrelated_read": "read outside the purpose", "rule.bulk_read": "bulk reading", "rule.after_hours": "reading at night",
  "rule.many_officers": "one person read by many", "rule.relatives": "reading a relative",
  "status.open": "open", "status.confirmed": "confirmed", "status.dismissed": "dismissed" });
zj.pages.audit = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc, PAGE = 200;
  const RULES = { unrelated_read: "查询对象不在用途内", bulk_read: "批量查询", after_hours: "夜间查询", many_officers: "多人查询同一人",
    relatives: "查询本户亲属" };
  const STATUS = { open: "待核查", confirmed: "已确认违规", dismissed: "已排除" };
  const OPS = { consult: "查询", disclose: "导出", alter: "变更", collect: "采集", combine: "关联分析", erase: "删除" };
  const OUT = { allowed: "允许", refused: "拒绝", error: "出错" };
  const SUMMARY = [  // oversight's findings (English, stable) in Chinese
    [/^(\S+) read (\S+), not named by (.*)$/, (m) => `${m[1]} 查询了 ${m[2]}，该人不在用途 ${m[3]} 所列对象中`],
    [/^(\S+) read (\d+) persons within one hour$/, (m) => `${m[1]} 一小时内查询了 ${m[2]} 人`],
    [/^(\S+) read (\d+) persons at night$/, (m) => `${m[1]} 夜间查询了 ${m[2]} 人`],
    [/^(\S+) looked up by (\d+) officers of (\d+) units$/, (m) => `${m[1]} 被 ${m[3]} 个单位的 ${m[2]} 名民警查询`],
    [/^(\S+) read (\S+), a member of their own household$/, (m) => `${m[1]} 查询了本户成员 ${m[2]}`],
  ];
  const en = zj.lang() === "en";
  const summary = (s) => { if (en) return s; for (const [re, f] of SUMMARY) { const m = re.exec(s || ""); if (m) return f(m); } return s; };
  const tr = (dict, prefix, v) => (en ? t(`${prefix}.${v}`, v) : dict[v] || v);
  const clip = (s) => `<span class="clip" title="${esc(s)}">${esc(s)}</span>`;
  const records = (r) => { const xs = Array.isArray(r) ? r : []; return xs.length ? clip(xs.slice(0, 3).join("、") + (xs.length > 3 ? ` +${xs.length - 3}` : "")) : ""; };

  const v = await zj.api("/api/audit/verify");
  const ok = v.ok ?? v.valid;
  // what was checked, in words: the entries that existed when the check ran (newer ones follow), the signed heads, entries no head signs
  const checked = en ? `${v.entries} entries checked when the page opened · ${v.seals ?? 0} signed heads · ${v.tail ?? 0} unsigned`
    : `打开页面时已校验 ${v.entries} 条 · 签名树头 ${v.seals ?? 0} 个 · 未签名 ${v.tail ?? 0} 条`;
  const broken = v.first_broken ? (en ? `broken at #${v.first_broken}: ${v.reason || ""}` : `第 ${v.first_broken} 条起链断裂：${v.reason || ""}`) : "";
  document.getElementById("verify").innerHTML = `<span class="${ok ? "ok" : "bad"}">${ok ? "✔" : "✘"}</span> ` +
    `<span class="muted">${esc(checked)}</span> <span class="bad">${esc(broken)}</span>`;
  const flags = await zj.loading("#flags", zj.api("/api/oversight/flags"));
  const decide = (f) => f.status !== "open" ? esc(f.reviewed_by || "") :
    `<button type="button" data-flag="${esc(f.id)}" data-decision="confirmed">${esc(t("audit.confirm", "确认违规"))}</button> ` +
    `<button type="button" class="secondary" data-flag="${esc(f.id)}" data-decision="dismissed">${esc(t("audit.dismiss", "排除"))}</button>`;
  const evidence = (f) => (f.evidence || []).slice(0, 12).map((s) => `<a class="ev" href="#" data-seq="${esc(s)}">#${esc(s)}</a>`).join(" ") +
    ((f.evidence || []).length > 12 ? ` <span class="muted">+${f.evidence.length - 12}</span>` : "");
  zj.table("#flags", [["audit.c.rule", "规则", (f) => esc(tr(RULES, "rule", f.rule))], ["audit.c.actor", "民警", "actor"],
    ["audit.c.summary", "发现", (f) => esc(summary(f.summary))], ["audit.c.evidence", "证据（审计条目）", evidence],
    ["audit.c.status", "状态", (f) => esc(tr(STATUS, "status", f.status))], zj.timeCol("audit.c.created", "预警时间", (f) => f.created_at),
    ["audit.c.decision", "处理", decide]], flags.flags || flags);
  document.querySelectorAll("#flags [data-flag]").forEach((b) => b.addEventListener("click", async () => {
    const note = prompt(t("audit.note", "核查意见")) ?? "";
    await zj.api(`/api/oversight/flags/${b.dataset.flag}/review`, { method: "POST", body: new URLSearchParams({ decision: b.dataset.decision, note }) });
    location.reload();
  }));
  document.querySelectorAll("#flags [data-seq]").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault(); showEvents({ before: +a.dataset.seq + 1 }, +a.dataset.seq);
  }));

  const pinned = await zj.api("/api/audit/key", { quiet: true }).catch(() => null);
  const form = document.getElementById("audit-filter");
  let filter = {}, pages = [];  // pages: the `before` of each page shown, for "newer"
  const iso = (v) => (v ? v + ":00" : "");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    filter = { actor: fd.get("actor").trim(), since: iso(fd.get("since")), until: iso(fd.get("until")), record: fd.get("record").trim() };
    pages = []; showEvents({});
  });
  document.getElementById("older").addEventListener("click", () => { if (last) { pages.push(current); showEvents({ before: last }); } });
  document.getElementById("newer").addEventListener("click", () => { if (pages.length) showEvents({ before: pages.pop() }); });
  let last = null, current = null;
  async function showEvents({ before }, mark) {
    current = before || null;
    const p = new URLSearchParams({ limit: PAGE, ...Object.fromEntries(Object.entries(filter).filter(([, x]) => x)) });
    if (before) p.set("before", before);
    const ev = await zj.loading("#events", zj.api(`/api/audit/events?${p}`));
    const events = ev.events || ev;
    last = events.length === PAGE ? events[events.length - 1].seq : null;
    document.getElementById("older").disabled = !last;
    document.getElementById("newer").disabled = !pages.length;
    document.getElementById("page-info").textContent = events.length ? `#${events[0].seq} – #${events[events.length - 1].seq}` : "";
    zj.table("#events", [["audit.c.seq", "序号", "seq"], zj.timeCol("audit.c.time", "时间", (e) => e.time), ["audit.c.actor", "民警", "actor"],
      ["audit.c.op", "操作", (e) => esc(en ? e.operation : OPS[e.operation] || e.operation)], ["audit.c.purpose", "用途", (e) => clip(e.purpose || "")],
      ["audit.c.records", "查询对象", (e) => records(e.records)],
      ["audit.c.outcome", "结果", (e) => esc(en ? e.outcome : OUT[e.outcome] || e.outcome)]], events, { onClick: (e) => prove(e) });
    if (mark) document.querySelector(`#events tbody tr:has(td:first-child)`)?.scrollIntoView();
    const byHour = {}; events.forEach((e) => { const h = String(zj.time(e.time) || "").slice(0, 13); byHour[h] = (byHour[h] || 0) + 1; });
    const hours = Object.keys(byHour).sort();
    const label = (h) => (en ? `${h.slice(5, 10)} ${h.slice(11, 13)}:00` : `${+h.slice(5, 7)}月${+h.slice(8, 10)}日 ${h.slice(11, 13)}时`);
    zj.chart("activity")?.setOption({ tooltip: {}, xAxis: { type: "category", data: hours.map(label) }, yAxis: { minInterval: 1 },
      series: [{ type: "bar", data: hours.map((h) => byHour[h]) }] });
  }
  async function prove(e) {
    const p = await zj.api(`/api/audit/proof/${e.seq}`);
    const ok = await zj.audit.verifyProof(p, pinned);
    const mark = (x) => (x === null ? "—" : x ? '<span class="ok">✔</span>' : '<span class="bad">✘</span>');
    const el = document.getElementById("proof");
    el.hidden = false;
    el.innerHTML = `<h2>${esc(t("audit.proof", "浏览器内独立校验"))} · #${esc(e.seq)}</h2><dl class="facts">` +
      `<dt>${esc(t("audit.proof.chain", "链哈希 SHA-256(prev‖body)"))}</dt><dd data-check="chain">${mark(ok.chain)}</dd>` +
      `<dt>${esc(t("audit.proof.leaf", "叶子哈希 (RFC 6962)"))}</dt><dd data-check="leaf">${mark(ok.leaf)}</dd>` +
      `<dt>${esc(t("audit.proof.path", "包含证明 → 树根"))}</dt><dd data-check="path">${mark(ok.path)} ` +
      `<span class="muted">${esc(p.proof.length)} / ${esc(p.tree_size)} · ${esc(p.head.root.slice(0, 16))}…</span></dd>` +
      `<dt>${esc(t("audit.proof.sig", "树头签名"))}</dt><dd data-check="signature">${mark(ok.signature)} ` +
      `<span class="muted">${esc(p.head.algorithm)} · ${esc(zj.time(p.head.signed_at))} · ${esc(t("audit.proof.key", "公钥指纹"))} ` +
      `${esc(pinned ? pinned.fingerprint : "—")}</span></dd></dl>`;
    el.scrollIntoView();
  }
  showEvents({});
};
