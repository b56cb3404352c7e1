/* 同行/同住/同乘: who repeatedly shares trips, hotel nights and checkpoints with a subject,
   ranked, each with its evidence (GET /api/companions of the workbench). */
"use strict";
zj.addEN({ "comp.dt": "Δt (seconds)", "comp.who": "Companion", "comp.score": "Score", "comp.events": "Shared events",
  "comp.places": "Distinct places", "comp.kinds": "How", "comp.evidence": "Evidence", "comp.mine": "Subject's record" });
zj.pages.companions = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc;
  const who = (c) => {
    const p = c.person; const label = p ? `${p.name || ""} ${c.subject}` : c.subject;
    return c.kind === "person" ? `<a href="/persons/${encodeURIComponent(c.subject)}">${esc(label)}</a>` : esc(label);
  };
  zj.subjectForm("subject-form", async ({ subject, dt }) => {
    const out = await zj.analysis("#companions", `/api/companions?${new URLSearchParams({ subject, dt: dt || 120 })}`);
    if (!out) return;
    document.getElementById("summary").textContent = `${out.subject || subject}`;
    zj.table("#companions", [["comp.who", "同行人", who], ["comp.score", "得分", "score"], ["comp.events", "共同事件", "events"],
      ["comp.places", "不同地点", "places"], ["comp.kinds", "方式", (c) => esc((c.kinds || []).map(zj.label).join(" "))],
      ["wb.pin", "钉选", (c) => zj.pinButton(c.subject)]],
    out.companions || [], { onClick: (c) => {
      document.getElementById("evidence-card").hidden = false;
      document.getElementById("evidence-title").textContent = `${t("comp.evidence", "证据")} · ${c.subject}`;
      zj.table("#evidence", [zj.timeCol("col.time", "时间", (e) => e.ts), ["comp.kinds", "方式", (e) => esc(zj.label(e.kind))],
        ["wb.place", "地点", (e) => esc(e.place_name || e.place_id || "")], ["comp.mine", "对象记录", "my_record"],
        ["col.dataset", "数据集", (e) => esc(zj.dsName(e.dataset))], ["col.record_id", "来源记录", "record_id"]], c.evidence || []);
    } });
    document.querySelectorAll("#companions [data-pin]").forEach((b) => b.addEventListener("click", () => {
      const c = out.companions.find((x) => x.subject === b.dataset.pin);
      const named = c.person?.name ? `${c.person.name}（${c.subject}）` : c.subject;  // by name, and how they shared (同住, 同乘, 同行)
      zj.pin("pin", `${(c.kinds || []).join("/") || "同行"} ${out.subject || subject} ↔ ${named}`, { subject, companion: c });
    }));
  });
};
