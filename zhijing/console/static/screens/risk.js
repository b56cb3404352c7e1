/* 风险预警 screen: the warning inbox (paged, filtered on the server), a warning's evidence
   (transfer flows as a graph, hot cells on the map), triage and feedback, model cards with
   their evaluation; runs start in the background and are polled. All data from /api/risk/*. */
"use strict";
zj.addEN({ "nav.risk": "Risk warnings", "risk.inbox": "Warning inbox",
  "risk.inbox.note": "Warnings for your unit and the units under it; a warning about a person shows no identity until opened under a purpose (logged).",
  "risk.f.model": "All models", "risk.f.open": "Open", "risk.st.new": "New", "risk.st.triaged": "Triaged", "risk.st.acting": "Acting",
  "risk.st.closed": "Closed", "risk.f.since": "From", "risk.f.until": "To", "risk.f.apply": "Filter",
  "risk.col.model": "Model", "risk.col.warning": "Warning", "risk.col.subject": "Subject", "risk.col.score": "Score",
  "risk.col.state": "State", "risk.col.time": "Time", "risk.col.version": "Version", "risk.col.person": "Personal data",
  "risk.col.data": "Training data versions", "risk.col.eval": "Evaluation", "risk.col.precision": "Feedback precision",
  "risk.prev": "Previous", "risk.next": "Next", "risk.hot": "Tomorrow's burglary hot cells (patrol)",
  "risk.openperson": "Open under the purpose (logged)", "risk.do.triage": "Triage", "risk.do.act": "Act",
  "risk.do.confirmed": "Close: confirmed", "risk.do.false": "Close: false alarm", "risk.do.unclear": "Close: unclear",
  "risk.cards": "Model cards", "risk.run": "Run now", "risk.running": "Running…", "risk.page": "{a}–{b} of {n}",
  "risk.none": "No warnings", "risk.hidden": "(person, needs a purpose)", "risk.yes": "Yes (purpose + log)", "risk.no": "No",
  "risk.datasets": "{n} dataset versions", "risk.noeval": "not evaluated", "risk.evalfailed": "evaluation failed",
  "risk.lastrun": "Last run (as of {d}): {n} warnings", "risk.backtest": "Back-test",
  "risk.company.graph": "Open the company: relationship graph (money flows, staff)", "risk.company.search": "Search the company's records",
  "risk.m.fundraising": "Illegal fundraising", "risk.m.pyramid": "Pyramid scheme", "risk.m.mules": "Fraud mule accounts",
  "risk.members": "{n} windows", "risk.col.window": "Window", "risk.col.count": "People", "risk.col.source": "Source",
  "risk.hot.none": "No hot cells (too few offences to fit)", "risk.hot.cell": "Expected {n}", "risk.hot.failed": "The hot-spot forecast failed",
  "risk.hot.computing": "Computing the hot-spot forecast",
  "risk.m.aml": "Money-laundering patterns", "risk.m.hotspots": "Burglary hot spots", "risk.m.blackspots": "Road accident black spots",
  "risk.m.crowd": "Crowd density" });
const zjRisk = (() => {
  const { api, chrome, rows, chart, esc, toast, t } = zj;
  const en = () => zj.lang && zj.lang() === "en";
  const STATE = { new: "新", triaged: "研判中", acting: "处置中", closed: "已关闭" };
  const NEXT = { new: ["triaged", "closed"], triaged: ["acting", "closed"], acting: ["closed"], closed: [] };
  const MODEL = { fundraising: "非法集资预警", pyramid: "传销预警", mules: "涉诈账户预警", aml: "洗钱形态识别",
    hotspots: "入室盗窃热点预测", blackspots: "道路事故黑点", crowd: "人员聚集密度" };
  const PATTERN = { gather_scatter: "分散转入集中转出", scatter_gather: "分散转出多户归集", fan_out: "一对多分散转出", fan_in: "多对一集中转入", bipartite: "团伙对倒",
    cycle: "资金闭环", star: "星型转账" };
  const FIELD = { subject: "对象", account: "账户", accounts: "关联账户", n_accounts: "账户数", pattern: "形态",
    accidents: "事故数", expected_spf: "安全性能函数预期", eb: "经验贝叶斯估计", lon: "经度", lat: "纬度", expected: "预计起数",
    lift: "高于全市平均（倍）", reported_victims_paying_in: "报案被害人转入数", pass_through_transfers: "快进快出笔数",
    fee: "入门费", members: "成员数", depth: "层级数", per_level: "各层人数", depositors: "出资人数", inflow: "流入金额",
    repaid_depositors: "已兑付人数", paid_back: "兑付金额", complaints_naming_company: "涉及该公司的投诉数",
    median_deposit: "出资中位数", window: "时间窗", count: "人数", source: "来源", window_minutes: "时间窗（分钟）",
    hidden: "说明", place: "地点" };
  const EVAL = { precision: "精确率", recall: "召回率", f1: "F1", flagged: "预警数", lead_days_before_collapse: "提前预警天数",
    lead_days_before_first_complaint: "早于首次投诉天数", member_recall: "成员召回率", root_rank: "组织者排名",
    precision_at_k: "前K精确率", hawkes_pai_0_01: "PAI@1%", hawkes_pei_0_01: "PEI@1%", hawkes_pai_0_05: "PAI@5%",
    hawkes_pei_0_05: "PEI@5%", eb_recall_at_10: "前10召回率", eb_false_positives_at_10: "前10误报",
    gathering_windows_alerted: "命中时间窗", alerts: "告警数", period_precision: "精确率", period_recall: "召回率", error: "评估失败" };
  const modelName = (m) => (en() ? t(`risk.m.${m}`, MODEL[m] || m) : MODEL[m] || m);
  const label = (w) => (w.model === "aml" ? PATTERN[w.label] || w.label : w.label) || "";
  /** A score with meaningful precision: three significant digits below 1, two decimals above. */
  const score = (v) => (v == null || !isFinite(v) ? "—" : Math.abs(v) >= 1 ? v.toFixed(2) : v === 0 ? "0" : Number(v.toPrecision(3)).toString());
  const PAGE = 50;
  let current = null, offset = 0, total = 0;

  function value(k, v) {
    if (k === "pattern") return PATTERN[v] || v;
    if (Array.isArray(v)) return v.slice(0, 12).join(", ") + (v.length > 12 ? " …" : "");
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : score(v);
    return typeof v === "object" && v !== null ? JSON.stringify(v) : zj.value(v);
  }
  /** Who or where a warning is about: a place by its street and station (the cell or the
      coordinates beside, small), a gathering with its number of windows, a hidden person. */
  function subject(w) {
    if (w.subject == null) return esc(t("risk.hidden", "（个人，须用途）"));
    const n = w.members?.length ? ` <span class="badge">${esc(t("risk.members", "{n} 个时段").replace("{n}", w.members.length))}</span>` : "";
    if (w.place?.text) return `${esc(w.place.text)}${n}<br><small class="muted">${esc(w.subject.split(" ")[0])}</small>`;
    return esc(w.subject) + n;
  }
  function evidence(ev) {
    document.getElementById("evidence").innerHTML = Object.entries(ev || {}).map(([k, v]) =>
      `<dt>${esc(en() ? k : FIELD[k] || k)}</dt><dd>${k === "subject" && /^PM[0-9A-Z]{4,40}$/.test(v)
        ? `<a href="/persons/${encodeURIComponent(v)}" data-person>${esc(v)}</a>` : esc(value(k, v))}</dd>`).join("");
  }

  async function flows(id) {
    const el = document.getElementById("flows");
    const g = await api(`/api/risk/warnings/${id}/flows`);
    el.hidden = false;
    const c = chart("flows");
    c?.setOption({ tooltip: { formatter: (p) => (p.dataType === "edge" ? `${esc(p.data.value)} 元 · ${esc(zj.time(p.data.time))}` : esc(p.data.name)) },
      series: [{ type: "graph", layout: "force", roam: true, force: { repulsion: 120, edgeLength: 70 }, edgeSymbol: ["none", "arrow"],
        data: g.nodes.map((n) => ({ name: n.id, symbolSize: n.focus ? 22 : 9, itemStyle: { color: n.focus ? "#c8102e" : "#355f9c" } })),
        links: g.links.map((l) => ({ source: l.source, target: l.target, value: l.amount, time: l.time, lineStyle: { width: 1 + Math.log10(1 + l.amount) / 2 } })) }] });
  }

  function actions(w) {  // only the steps the warning's state allows
    document.querySelectorAll("#detail [data-state]").forEach((b) => { b.disabled = !w || !(NEXT[w.state] || []).includes(b.dataset.state); });
  }

  /** A company warning names no person: its company opens in the graph and in search. */
  function company(w) {
    const box = document.getElementById("open-company");
    box.hidden = w.subject_kind !== "company" || !w.subject;
    if (box.hidden) return;
    document.getElementById("company-graph").href = `/graph?${new URLSearchParams({ subject: `company:${w.subject}`, hops: 2 })}`;
    document.getElementById("company-search").href = `/search?${new URLSearchParams({ q: w.label || w.subject })}`;
  }

  async function open(w) {
    current = w;
    const detail = document.getElementById("detail");
    detail.hidden = false;
    document.getElementById("flows").hidden = true;
    document.getElementById("detail-title").textContent =
      `${modelName(w.model)} v${w.version} · ${label(w)} · ${t("risk.col.score", "分值")} ${score(w.score)} · ${en() ? w.state : STATE[w.state] || w.state}`;
    evidence(w.place?.text ? { place: w.place.text, ...w.evidence } : w.evidence);
    members(w);
    actions(w);
    detail.scrollIntoView({ block: "start", behavior: "smooth" });
    company(w);
    const btn = document.getElementById("open-person");
    btn.hidden = !w.person;
    btn.onclick = async () => {
      const full = await api(`/api/risk/warnings/${w.id}/person`);
      evidence({ subject: full.subject, ...full.evidence });
      if (full.evidence.account) await flows(w.id);
    };
    if (w.subject_kind === "account" && zj.purpose && zj.purpose()) await flows(w.id).catch(() => {});
  }

  /** A gathering's windows (its members) under its evidence; triage acts on all of them. */
  function members(w) {
    const box = document.getElementById("members");
    box.hidden = !w.members?.length;
    if (box.hidden) { box.innerHTML = ""; return; }
    zj.table(box, [["risk.col.window", "时段", (m) => esc(zj.time(m.evidence?.window))], ["risk.col.count", "人数", (m) => esc(m.evidence?.count ?? "")],
      ["risk.col.source", "来源", (m) => esc(zj.dsName(m.evidence?.source))], ["risk.col.score", "分值", (m) => esc(score(m.score))],
      ["risk.col.state", "状态", (m) => esc(en() ? t(`risk.st.${m.state}`, m.state) : STATE[m.state] || m.state)]],
    [...w.members].sort((a, b) => String(a.evidence?.window).localeCompare(String(b.evidence?.window))));
  }

  async function inbox() {
    const f = new FormData(document.getElementById("inbox-filter"));
    const q = new URLSearchParams({ limit: PAGE, offset, grouped: true });
    for (const k of ["model", "state", "since", "until"]) if (f.get(k)) q.set(k, f.get(k));
    const box = await api(`/api/risk/inbox?${q}`);
    total = box.total;
    rows("#inbox tbody", box.items, [(w) => esc(modelName(w.model)), (w) => esc(label(w)),
      subject, (w) => esc(score(w.score)),
      (w) => esc(en() ? t(`risk.st.${w.state}`, w.state) : STATE[w.state] || w.state), (w) => esc(zj.time(w.created_at))], open);
    if (!box.items.length) document.querySelector("#inbox tbody").innerHTML = `<tr><td colspan="6" class="muted">${esc(t("risk.none", "暂无预警"))}</td></tr>`;
    document.getElementById("page-info").textContent = total
      ? t("risk.page", "第 {a}–{b} 条，共 {n} 条").replace("{a}", offset + 1).replace("{b}", offset + box.items.length).replace("{n}", total) : "";
    document.getElementById("prev").disabled = offset <= 0;
    document.getElementById("next").disabled = offset + PAGE >= total;
  }

  function evalName(k) {
    const key = k.replace(/\./g, "_");
    if (EVAL[key]) return EVAL[key];
    const p = Object.keys(PATTERN).find((p) => key.startsWith(p + "_"));
    return p && EVAL[key.slice(p.length + 1)] ? `${PATTERN[p]} ${EVAL[key.slice(p.length + 1)]}` : null;
  }
  /** Headline scores: numbers with a name, the model's own (not its baseline's). */
  function scores(ev, n) {
    return Object.entries(ev || {}).filter(([k, v]) => typeof v === "number" && isFinite(v) && !k.startsWith("baseline") && evalName(k))
      .slice(0, n).map(([k, v]) => `${esc(en() ? k : evalName(k))} ${esc(Number.isInteger(v) ? v : v.toFixed(2))}`);
  }
  /** The card's evaluation: first what the last run published (the inbox's run, scored
      against the planted truth when there is one), then the back-test's headline scores. */
  function evaluation(ev) {
    ev = ev || {};
    const out = [];
    if (ev.run) {
      const head = t("risk.lastrun", "最近一次运行（截至 {d}）：{n} 条预警").replace("{d}", zj.day(ev.run.as_of)).replace("{n}", ev.run.warnings);
      out.push([esc(head), ...scores({ recall: ev.run.recall, precision: ev.run.precision }, 2)].join(" · "));
    }
    if (typeof ev.error === "string") out.push(`<span class="muted">${esc(t("risk.evalfailed", "评估失败"))}：${esc(ev.error)}</span>`);
    else if (scores(ev, 1).length) out.push(`${esc(t("risk.backtest", "回测"))} ${scores(ev, 4).join(" · ")}`);
    return out.length ? out.join("<br>") : `<span class="muted">${esc(t("risk.noeval", "未评估"))}</span>`;
  }

  async function poll(runId, button) {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1500));
      const r = await api(`/api/risk/runs/${encodeURIComponent(runId)}`);
      if (r.status === "running") continue;
      button.disabled = false; button.textContent = t("risk.run", "立即运行");
      if (r.status === "ok") toast(`${modelName(r.model)}：运行完成，${r.warnings} 条预警`, "ok");
      else toast(`${modelName(r.model)}：运行失败（${r.error || "未知错误"}）`);
      await Promise.all([inbox(), models()]);
      return r;
    }
  }

  async function models() {
    const cards = await api("/api/risk/models");
    const sel = document.querySelector("#inbox-filter select[name=model]");
    if (sel.options.length === 1) sel.insertAdjacentHTML("beforeend", cards.map((c) => `<option value="${esc(c.name)}">${esc(modelName(c.name))}</option>`).join(""));
    rows("#models tbody", cards, [(c) => `<b>${esc(modelName(c.name))}</b>`, "version",
      (c) => esc(c.person ? t("risk.yes", "是（用途+留痕）") : t("risk.no", "否")),
      (c) => esc(t("risk.datasets", "{n} 个数据集版本").replace("{n}", Object.values(c.training_data || {}).filter(Boolean).length)),
      (c) => evaluation(c.evaluation), (c) => esc(c.feedback && c.feedback.precision != null ? c.feedback.precision.toFixed(2) : "—"),
      (c) => (c.can_run ? `<button type="button" data-run="${esc(c.name)}">${esc(t("risk.run", "立即运行"))}</button>` : "")]);
    document.querySelectorAll("[data-run]").forEach((b) => b.addEventListener("click", async () => {
      b.disabled = true; b.textContent = t("risk.running", "运行中…");
      try {
        const r = await api(`/api/risk/models/${b.dataset.run}/run`, { method: "POST" });
        toast(`${modelName(r.model)}：已开始运行`, "ok");
        await poll(r.run_id, b);
      } catch (e) { b.disabled = false; b.textContent = t("risk.run", "立即运行"); }
    }));
  }

  /** The hot cells on the city map; the forecast is computed on the server once a day and
      data version — until it is ready the card shows how far it is, polling each second. */
  async function hotmap() {
    const box = document.getElementById("hotmap"), status = document.getElementById("hotmap-state");
    const m = await zj.map.create(box, { lazy: true });
    for (;;) {
      const hot = await api("/api/risk/hotcells?wait=0.5", { quiet: true }).catch((e) => ({ state: "failed", step: e.message }));
      if (hot.state === "ok") {
        status.textContent = hot.cells.length ? "" : t("risk.hot.none", "暂无热点（案件不足以拟合）");
        status.className = hot.cells.length ? "muted" : "muted empty";
        if (m && hot.cells.length) {  // the hottest cells larger and darker, none hiding the streets
          const top = hot.cells[0].expected || 1, layer = L.featureGroup();
          hot.cells.forEach((c) => {
            const r = Math.sqrt(c.expected / top);
            L.circleMarker([c.lat, c.lon], { radius: 1.5 + 5 * r, stroke: false, fillColor: "#c8102e", fillOpacity: 0.25 + 0.6 * r })
              .bindTooltip(t("risk.hot.cell", "预计 {n} 起").replace("{n}", score(c.expected))).addTo(layer);
          });
          layer.addTo(m);
        }
        document.getElementById("hot-list").innerHTML = hot.cells.filter((c) => c.place?.text).map((c) =>
          `<li data-lat="${esc(c.lat)}" data-lon="${esc(c.lon)}">${esc(c.place.text)} <span class="muted">${esc(t("risk.hot.cell", "预计 {n} 起")
            .replace("{n}", score(c.expected)))}</span></li>`).join("");
        document.querySelectorAll("#hot-list li").forEach((li) => li.addEventListener("click", () => m?.setView([+li.dataset.lat, +li.dataset.lon], 15)));
        box.classList.add("hot-drawn");
        return hot;
      }
      if (hot.state === "failed") {
        status.className = "failed";
        status.textContent = `${t("risk.hot.failed", "热点预测计算失败")}（${hot.step || ""}）`;
        return hot;
      }
      status.className = "loading";
      status.textContent = `${t("risk.hot.computing", "正在计算热点预测")} ${Math.round(100 * (hot.done || 0))}%` +
        (hot.step ? ` · ${hot.step}` : "");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async function page() {
    await chrome();
    document.querySelectorAll("#detail [data-state]").forEach((b) => b.addEventListener("click", async () => {
      if (!current || b.disabled) return;
      const form = new URLSearchParams({ state: b.dataset.state });
      if (b.dataset.verdict) form.set("verdict", b.dataset.verdict);
      for (const m of current.members?.length ? current.members.filter((x) => (NEXT[x.state] || []).includes(b.dataset.state)) : [current]) {
        await api(`/api/risk/warnings/${m.id}/state`, { method: "POST", body: form });
      }
      current = { ...current, state: b.dataset.state, members: current.members?.map((x) => ({ ...x, state: b.dataset.state })) };
      members(current);
      actions(current);
      toast(`${STATE[b.dataset.state]} ✔`, "ok"); await inbox(); await models();
    }));
    document.getElementById("inbox-filter").addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; inbox(); });
    document.getElementById("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); inbox(); });
    document.getElementById("next").addEventListener("click", () => { if (offset + PAGE < total) { offset += PAGE; inbox(); } });
    await Promise.all([inbox(), models(), hotmap().catch(() => {})]);  // side by side: the inbox first on screen
  }
  return { page };
})();
zj.pages.risk = zjRisk.page;
