/* 涉案财物: the items of the case chosen as the purpose; intake (入库登记) with its printable QR
   label and photos; one item's custody chain, verified (hashes, links, anchors in the audit
   trail); moves; return (发还) or disposal (处置) asked for, approved by a second officer (never
   the requester, the seizing officer or the case's handler) and carried out. */
"use strict";
zj.addEN({ "prop.title": "Seized property", "prop.hint": "The items of the case chosen as the purpose (top right); every move is written into a tamper-evident custody chain anchored in the audit trail.",
  "prop.description": "Description", "prop.quantity": "Quantity", "prop.due": "Disposal due", "prop.intake": "Register (入库)", "prop.png": "Label (PNG)",
  "prop.pdf": "Print label (PDF)", "prop.photo": "Upload photo", "prop.chain": "Custody chain", "prop.handover": "Hand over", "prop.moveto": "Move",
  "prop.checkout": "Check out (examination / court)", "prop.checkin": "Check in", "prop.holder": "Holder", "prop.note": "Note", "prop.move": "Record move",
  "prop.requests": "Return / disposal (needs approval)", "prop.dispose": "Dispose", "prop.return": "Return", "prop.recipient": "Recipient (for a return)",
  "prop.reason": "Reason", "prop.ask": "Request", "prop.number": "No.", "prop.category": "Category", "prop.state": "State", "prop.location": "Location",
  "prop.n": "#", "prop.action": "Move", "prop.at": "Time", "prop.by": "Recorded by", "prop.hash": "Hash", "prop.kind": "Request", "prop.method": "Method",
  "prop.asker": "Asked by", "prop.decider": "Decided by", "prop.do": "Action", "prop.approve": "Approve", "prop.reject": "Reject", "prop.execute": "Carry out",
  "prop.nocase": "Choose a case as the purpose (top right) to see its seized property.", "prop.none": "No item seized in this case yet: register one below.",
  "prop.verified": "Chain verified", "prop.broken": "Chain broken", "prop.norequests": "No request yet.", "prop.done": "Recorded", "prop.to": "Recipient", "prop.queue": "Waiting for my approval (return / disposal)", "prop.noqueue": "No request waits for you.", "proc.id": "Case" });
zj.pages.property = async () => {
  await zj.chrome();
  zj.proc.tab("property");
  const t = zj.t, esc = zj.esc, L = (k, zh) => t(`prop.${k}`, zh);
  const STATE = { in_custody: "在库", out: "出库中", returned: "已发还", disposed: "已处置" };
  const REQ = { pending: "待审批", approved: "已批准", rejected: "已驳回", done: "已执行" };
  const caseId = zj.qs("case");
  const meta = await zj.api("/api/property/locations");
  const opts = (pairs) => pairs.map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`).join("");
  document.getElementById("prop-category").innerHTML = opts(Object.entries(meta.categories));
  const locs = opts(meta.locations.map((l) => [l.code, l.name || l.code]));
  document.getElementById("prop-location").innerHTML = locs;
  document.getElementById("prop-move-location").innerHTML = `<option value="">—</option>` + locs;
  const kindSel = document.getElementById("prop-request-kind"), methodSel = document.getElementById("prop-request-method");
  const methods = () => { methodSel.innerHTML = opts(meta.methods[kindSel.value].map((m) => [m, m])); };
  kindSel.onchange = methods; methods();
  const decideButtons = (r) => `<button type="button" data-decide="${esc(r.id)}" data-approve="1">${esc(L("approve", "审批通过"))}</button>` +
    ` <button type="button" class="secondary" data-decide="${esc(r.id)}">${esc(L("reject", "驳回"))}</button>`;
  const wireDecide = (root, after) => root.querySelectorAll("[data-decide]").forEach((b) => b.addEventListener("click", async () => {
    await zj.api(`/api/property/requests/${b.dataset.decide}/decide`, { method: "POST", json: { approve: !!b.dataset.approve } });
    zj.toast(L("done", "已登记"), "ok"); after(b);
  }));
  const queue = await zj.api("/api/property/requests", { quiet: true }).catch(() => null);
  if (queue) {  // an approver's duty (审批): the pending requests of his unit's items, whatever the purpose chosen
    document.getElementById("prop-queue-card").hidden = false;
    zj.table("#prop-queue", [["prop.number", "编号", (r) => esc(r.item.number)], ["prop.description", "描述", (r) => esc(r.item.description)],
      ["proc.id", "案件", (r) => esc(r.item.case_id)], ["prop.kind", "申请", (r) => esc(zj.lang() === "en" ? r.kind : r.kind_zh)], ["prop.method", "方式", "method"],
      ["prop.reason", "事由", "reason"], ["prop.asker", "申请人", "requested_by"], ["prop.do", "操作", decideButtons]], queue.requests,
    { empty: L("noqueue", "没有待审批的申请。") });
    wireDecide(document.getElementById("prop-queue"), (b) => b.closest("tr").remove());
  }
  if (!zj.purpose().startsWith("case:")) {
    zj.table("#prop-items", [["prop.number", "编号", "number"]], [], { empty: L("nocase", "请先在右上角选择一个案件作为用途，再查看其涉案财物。") });
    return;
  }
  zj.rerun(() => location.reload());
  await list();
  const first = zj.qs("item");
  if (first) open(Number(first));

  async function list() {
    const got = await zj.loading("#prop-items", zj.api("/api/property"));
    zj.table("#prop-items", [["prop.number", "编号", (i) => `<a href="?item=${esc(i.id)}${caseId ? `&case=${encodeURIComponent(caseId)}` : ""}">${esc(i.number)}</a>`],
      ["prop.description", "描述", "description"], ["prop.category", "类别", "category_zh"], ["prop.quantity", "数量", "quantity"],
      ["prop.state", "状态", (i) => esc(zj.lang() === "en" ? i.state : STATE[i.state] || i.state)], ["prop.holder", "保管人", "holder"],
      ["prop.location", "位置", "location"]], got.items, { empty: L("none", "本案尚无涉案财物，请在下方入库登记。"), onClick: (i) => open(i.id) });
  }

  document.getElementById("prop-intake").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const it = await zj.api("/api/property", { method: "POST", json: { description: f.description.value.trim(), category: f.category.value,
      quantity: f.quantity.value.trim() || "1件", location: f.location.value, disposal_due: f.disposal_due.value || null, case_id: caseId || null } });
    f.description.value = ""; zj.toast(`${L("done", "已登记")}：${it.number}`, "ok");
    await list(); open(it.id);
  };

  async function blobUrl(path) {
    const res = await zj.request(path, { headers: { Accept: "*/*" } });
    return URL.createObjectURL(await res.blob());
  }

  async function open(pid) {
    history.replaceState(null, "", `?item=${pid}${caseId ? `&case=${encodeURIComponent(caseId)}` : ""}`);
    const box = document.getElementById("prop-item"); box.hidden = false; box.dataset.id = pid;
    const d = await zj.api(`/api/property/${pid}`);
    const it = d.item;
    document.getElementById("prop-item-title").textContent = `${it.number} · ${it.description} · ${zj.lang() === "en" ? it.state : STATE[it.state] || it.state}`;
    const v = document.getElementById("prop-verified");
    v.textContent = d.verification.ok ? `✓ ${L("verified", "保管链校验通过")}` : `✗ ${L("broken", "保管链校验失败")}：${d.verification.problems.map((p) => `#${p.n} ${p.problem}`).join("；")}`;
    v.className = `badge ${d.verification.ok ? "ok" : "bad"}`;
    document.getElementById("prop-label").src = await blobUrl(`/api/property/${pid}/label?format=png`);
    document.getElementById("prop-label-png").onclick = () => zj.download(`/api/property/${pid}/label?format=png`, `${it.number}.png`);
    document.getElementById("prop-label-pdf").onclick = () => zj.download(`/api/property/${pid}/label?format=pdf`, `${it.number}.pdf`);
    const photos = document.getElementById("prop-photos"); photos.innerHTML = "";
    for (const digest of it.photos) {
      const img = Object.assign(document.createElement("img"), { alt: digest.slice(0, 12), title: digest, className: "thumb" });
      img.src = await blobUrl(`/api/property/${pid}/photos/${digest}`); photos.append(img);
    }
    document.getElementById("prop-photo-send").onclick = async () => {
      const file = document.getElementById("prop-photo").files[0]; if (!file) return;
      await zj.api(`/api/property/${pid}/photos`, { method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" } });
      zj.toast(L("done", "已登记"), "ok"); open(pid);
    };
    zj.table("#prop-chain", [["prop.n", "序", "n"], ["prop.action", "流转", (e) => esc(zj.lang() === "en" ? e.action : e.action_zh)],
      ["prop.holder", "保管人", "holder"], ["prop.location", "位置", "location"], zj.timeCol("prop.at", "时间", (e) => e.at),
      ["prop.by", "登记人", "by"], ["prop.note", "备注", (e) => esc(e.note || "")], ["prop.hash", "哈希", (e) => `<code title="${esc(e.hash)}">${esc(e.hash.slice(0, 12))}</code>`]],
    d.chain, { empty: L("broken", "无保管记录") });
    const move = document.getElementById("prop-move");
    move.onsubmit = async (ev) => {
      ev.preventDefault();
      await zj.api(`/api/property/${pid}/moves`, { method: "POST", json: { action: move.action.value, holder: move.holder.value.trim() || null,
        location: move.location.value || null, note: move.note.value.trim() || null } });
      move.note.value = ""; zj.toast(L("done", "已登记"), "ok"); await list(); open(pid);
    };
    const req = document.getElementById("prop-request");
    req.onsubmit = async (ev) => {
      ev.preventDefault();
      await zj.api(`/api/property/${pid}/requests`, { method: "POST", json: { kind: req.kind.value, method: req.method.value,
        reason: req.reason.value.trim(), recipient: req.recipient.value.trim() || null } });
      req.reason.value = ""; zj.toast(L("done", "已登记"), "ok"); open(pid);
    };
    const action = (r) => r.state === "pending" && queue ? decideButtons(r)
      : r.state === "approved" ? `<button type="button" data-execute="${esc(r.id)}">${esc(L("execute", "执行"))}</button>` : "";
    zj.table("#prop-requests", [["prop.kind", "申请", (r) => esc(zj.lang() === "en" ? r.kind : r.kind_zh)], ["prop.method", "方式", "method"],
      ["prop.to", "领取人", (r) => esc(r.recipient || "")], ["prop.reason", "事由", "reason"], ["prop.asker", "申请人", "requested_by"],
      ["prop.state", "状态", (r) => esc(zj.lang() === "en" ? r.state : REQ[r.state] || r.state)], ["prop.decider", "审批人", (r) => esc(r.decided_by || "")],
      ["prop.do", "操作", action]], d.requests, { empty: L("norequests", "尚无申请。") });
    wireDecide(document.getElementById("prop-requests"), () => open(pid));
    document.querySelectorAll("#prop-requests [data-execute]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/property/requests/${b.dataset.execute}/execute`, { method: "POST" });
      zj.toast(L("done", "已登记"), "ok"); await list(); open(pid);
    }));
  }
};
