/* 警队建设: a unit's duty roster for a day (排班, planned by a leader, the command centre or 政工),
   its dispatch units on duty now (dispatch recommends only those at a station keeping a roster),
   each officer's workload (open cases, time limits due, incidents) and training records. */
"use strict";
zj.addEN({ "force.roster": "Duty roster", "force.plan": "Plan shift", "force.units": "Units on duty (dispatch recommends only these)",
  "force.workload": "Workload per officer", "force.training": "Training records", "force.course": "Course", "force.record": "Record",
  "force.officer": "Officer", "force.post": "Post", "force.cad": "Dispatch unit", "force.start": "From", "force.end": "Until", "force.cancel": "Cancel",
  "force.unit": "Unit", "force.callsign": "Call sign", "force.onduty": "On duty", "force.crew": "Crew", "force.status": "Status",
  "force.cases": "Open cases", "force.deadlines": "Limits due (7 days)", "force.next": "Next limit", "force.incidents": "Incidents (30 days)",
  "force.load": "Load", "force.category": "Category", "force.hours": "Hours", "force.result": "Result", "force.date": "Completed",
  "force.noshift": "No shift planned for this day: dispatch treats every unit as on duty until the station keeps a roster.",
  "force.nounits": "No dispatch unit in this unit's stations.", "force.notraining": "No training recorded.", "force.yes": "on duty",
  "force.no": "off duty", "force.norost": "no roster", "force.noone": "no officer in this unit" });
zj.pages.force = async () => {
  await zj.chrome();
  zj.proc.tab("force");
  const t = zj.t, esc = zj.esc, L = (k, zh) => t(`force.${k}`, zh);
  const dayInput = document.getElementById("force-day");
  const opts = (pairs, blank) => (blank ? `<option value="">${esc(blank)}</option>` : "") + pairs.map(([v, l]) => `<option value="${esc(v)}">${esc(l)}</option>`).join("");
  const duty = (u) => u.on_duty === true ? `<span class="badge ok" data-on="1">${esc(L("yes", "在岗"))}</span>`
    : u.on_duty === false ? `<span class="badge bad" data-on="0">${esc(L("no", "不在岗"))}</span>` : `<span class="muted">${esc(L("norost", "未排班"))}</span>`;
  async function roster() {
    const r = await zj.loading("#force-shifts", zj.api(`/api/force/roster${dayInput.value ? `?day=${dayInput.value}` : ""}`));
    dayInput.value = r.day;
    document.getElementById("force-unit").textContent = r.unit;
    const officers = r.officers.map((o) => [o.username, `${o.name}（${o.username}）`]);
    document.getElementById("force-officer").innerHTML = opts(officers);
    document.getElementById("force-train-officer").innerHTML = opts(officers);
    document.getElementById("force-post").innerHTML = opts(Object.entries(r.posts));
    zj.table("#force-shifts", [["force.officer", "民警", "officer"], ["force.post", "岗位", "post_zh"], ["force.cad", "勤务单元", (s) => esc(s.cad_unit || "")],
      zj.timeCol("force.start", "开始", (s) => s.starts_at), zj.timeCol("force.end", "结束", (s) => s.ends_at),
      ["force.cancel", "取消", (s) => `<button type="button" class="secondary" data-cancel="${esc(s.id)}">✕</button>`]], r.shifts,
    { empty: L("noshift", "当日未排班：本所排班前，调度视所有单元为在岗。") });
    document.querySelectorAll("#force-shifts [data-cancel]").forEach((b) => b.addEventListener("click", async () => {
      await zj.api(`/api/force/shifts/${b.dataset.cancel}`, { method: "DELETE" }); refresh();
    }));
  }
  async function units() {
    const r = await zj.loading("#force-units", zj.api("/api/force/units"));
    document.getElementById("force-cad").innerHTML = opts(r.units.map((u) => [u.id, u.callsign]), "—");
    zj.table("#force-units", [["force.callsign", "勤务单元", "callsign"], ["force.status", "状态", "status"], ["force.onduty", "在岗", duty],
      ["force.crew", "在岗民警", (u) => esc((u.crew || []).join("、"))]], r.units, { empty: L("nounits", "本单位辖区没有勤务单元。") });
  }
  async function load() {
    const r = await zj.loading("#force-load", zj.api("/api/force/workload"));
    zj.table("#force-load", [["force.officer", "民警", (o) => esc(`${o.name}（${o.username}）`)], ["force.cases", "在办案件", "open_cases"],
      ["force.deadlines", "7日内到期", "deadlines_due"], zj.timeCol("force.next", "最近期限", (o) => o.next_deadline?.due_at),
      ["force.incidents", "近30日警情", "incidents"], ["force.onduty", "在岗", (o) => duty({ on_duty: o.on_duty })], ["force.load", "负荷", "load"]],
    r.officers, { empty: L("noone", "本单位没有民警。") });
  }
  async function training() {
    const r = await zj.loading("#force-training", zj.api("/api/force/training"));
    document.getElementById("force-train-category").innerHTML = opts(Object.entries(r.categories));
    document.getElementById("force-train-result").innerHTML = opts(r.results.map((x) => [x, x]));
    zj.table("#force-training", [["force.officer", "民警", "officer"], ["force.course", "课程", "course"], ["force.category", "类别", "category_zh"],
      ["force.hours", "学时", "hours"], ["force.result", "结果", "result"], ["force.date", "完成日期", (x) => esc(zj.day(x.completed_on))]],
    r.records, { empty: L("notraining", "尚无训练记录。") });
  }
  const refresh = () => Promise.all([roster(), units(), load(), training()]);
  dayInput.onchange = roster;
  const wall = (v) => v ? `${v}:00` : v;  // a form's wall time: the server reads it in the deployment's zone
  document.getElementById("force-plan").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    await zj.api("/api/force/shifts", { method: "POST", json: { unit_code: document.getElementById("force-unit").textContent, officer: f.officer.value,
      post: f.post.value, cad_unit: f.cad_unit.value || null, starts_at: wall(f.starts_at.value), ends_at: wall(f.ends_at.value) } });
    zj.toast(t("toast.ok", "完成"), "ok"); refresh();
  };
  document.getElementById("force-train").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    await zj.api("/api/force/training", { method: "POST", json: { officer: f.officer.value, course: f.course.value.trim(), category: f.category.value,
      hours: Number(f.hours.value), completed_on: f.completed_on.value, result: f.result.value } });
    f.course.value = ""; zj.toast(t("toast.ok", "完成"), "ok"); training();
  };
  await refresh();
};
