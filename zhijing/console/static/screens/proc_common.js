/* 执法办案 screens' shared parts: the tab row (案件办理 / 涉案财物 / 执法监督 / 警队建设) and the
   countdowns of statutory time limits, ticking every second in the page (the server gives due_at). */
"use strict";
zj.addEN({ "nav.procedure": "Case handling", "proc.tab.cases": "Cases", "proc.tab.property": "Seized property", "proc.tab.supervision": "Supervision",
  "proc.tab.force": "Force", "cd.left": "left", "cd.over": "overdue by", "cd.stopped": "stopped", "cd.days": "d" });
zj.proc = (() => {
  const t = zj.t;
  function tab(name) {
    document.querySelectorAll(".proc-tabs a").forEach((a) => a.classList.toggle("on", a.dataset.tab === name));
  }
  /** "2天 03:12:05" for a span of milliseconds. */
  function span(ms) {
    const s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400);
    const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, "0")).join(":");
    return d ? `${d}${t("cd.days", "天")} ${hms}` : hms;
  }
  /** A countdown cell: <span class="countdown" data-due=ISO data-warn=hours>; stopped limits show no clock. */
  const cell = (due, warnHours, stopped) => stopped ? `<span class="muted">${zj.esc(t("cd.stopped", "已停止"))}</span>`
    : `<span class="countdown" data-due="${zj.esc(due)}" data-warn="${zj.esc(warnHours ?? 0)}"></span>`;
  let timer = null;
  function tick() {
    const now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach((el) => {
      const left = Date.parse(el.dataset.due) - now;
      el.textContent = left >= 0 ? `${t("cd.left", "剩余")} ${span(left)}` : `${t("cd.over", "已超期")} ${span(left)}`;
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("warn", left >= 0 && left < Number(el.dataset.warn || 0) * 3600_000);
    });
  }
  function start() { tick(); if (!timer) timer = setInterval(tick, 1000); }
  /** Use the case's purpose for what follows (the procedure's and the property's routes run under it). */
  function usePurpose(ref) {
    if (!ref || zj.purpose() === ref) return;
    sessionStorage.setItem("zj.purpose", ref);
    const sel = document.getElementById("purpose");
    if (sel) { if (![...sel.options].some((o) => o.value === ref)) sel.add(new Option(ref, ref)); sel.value = ref; }
  }
  return { tab, cell, start, span, usePurpose };
})();
