/* 风险预警 screen: the warning inbox, a warning's evidence (transfer flows as a graph,
   hot cells on the map), triage and feedback, model cards. All data from /api/risk/*. */
"use strict";
const zjRisk = (() => {
  const { api, chrome, rows, chart, esc, toast } = zj;
  const STATE = { new: "新", triaged: "研判中", acting: "处置中", closed: "已关闭" };
  let current = null;

  function evidence(ev) {
    document.getElementById("evidence").innerHTML = Object.entries(ev || {}).map(([k, v]) =>
      `<dt>${esc(k)}</dt><dd>${esc(Array.isArray(v) ? v.slice(0, 12).join(", ") + (v.length > 12 ? " …" : "") : typeof v === "object" ? JSON.stringify(v) : v)}</dd>`).join("");
  }

  async function flows(id) {
    const el = document.getElementById("flows");
    const g = await api(`/api/risk/warnings/${id}/flows`);
    el.hidden = false;
    const c = chart("flows");
    c?.setOption({ tooltip: { formatter: (p) => (p.dataType === "edge" ? `${esc(p.data.value)} 元 · ${esc(p.data.time)}` : esc(p.data.name)) },
      series: [{ type: "graph", layout: "force", roam: true, force: { repulsion: 120, edgeLength: 70 }, edgeSymbol: ["none", "arrow"],
        data: g.nodes.map((n) => ({ name: n.id, symbolSize: n.focus ? 22 : 9, itemStyle: { color: n.focus ? "#c8102e" : "#355f9c" } })),
        links: g.links.map((l) => ({ source: l.source, target: l.target, value: l.amount, time: l.time, lineStyle: { width: 1 + Math.log10(1 + l.amount) / 2 } })) }] });
  }

  async function open(w) {
    current = w;
    document.getElementById("detail").hidden = false;
    document.getElementById("flows").hidden = true;
    document.getElementById("detail-title").textContent = `${w.model} v${w.version} · ${w.label || ""} · ${w.score.toFixed(2)}`;
    evidence(w.evidence);
    const btn = document.getElementById("open-person");
    btn.hidden = !w.person;
    btn.onclick = async () => {
      const full = await api(`/api/risk/warnings/${w.id}/person`);
      evidence({ subject: full.subject, ...full.evidence });
      if (full.evidence.account) await flows(w.id);
    };
    if (w.subject_kind === "account" && zj.purpose && zj.purpose()) await flows(w.id).catch(() => {});
  }

  async function inbox() {
    const items = await api("/api/risk/inbox");
    rows("#inbox tbody", items, ["model", "label", (w) => esc(w.subject ?? "（个人，须用途）"), (w) => esc(w.score.toFixed(2)),
      (w) => esc(STATE[w.state] || w.state), (w) => esc(String(w.created_at).slice(0, 16))], open);
  }

  async function models() {
    const cards = await api("/api/risk/models");
    const summary = (ev) => Object.entries(ev || {}).filter(([, v]) => typeof v === "number").slice(0, 4)
      .map(([k, v]) => `${esc(k)} ${esc(v.toFixed ? v.toFixed(2) : v)}`).join(" · ");
    rows("#models tbody", cards, [(c) => `<b>${esc(c.title)}</b><br><span class="muted">${esc(c.name)}</span>`, "version",
      (c) => (c.person ? "是（用途+留痕）" : "否"), (c) => esc(Object.values(c.training_data || {}).filter(Boolean).length + " 个数据集版本"),
      (c) => summary(c.evaluation), (c) => esc(c.feedback && c.feedback.precision != null ? c.feedback.precision.toFixed(2) : "—"),
      (c) => `<button type="button" data-run="${esc(c.name)}">立即运行</button>`]);
    document.querySelectorAll("[data-run]").forEach((b) => b.addEventListener("click", async () => {
      const r = await api(`/api/risk/models/${b.dataset.run}/run`, { method: "POST" });
      toast(`${r.model}: ${r.status} · ${r.warnings} 条预警`); await inbox();
    }));
  }

  async function hotmap() {
    const [geo, hot] = await Promise.all([api("/api/geo/stations"), api("/api/risk/hotcells")]);
    const m = chart("hotmap");
    if (!m || !geo.features) return;
    echarts.registerMap("risk-city", geo);
    m.setOption({ tooltip: { formatter: (p) => `预计 ${esc(p.value[2].toFixed(3))} 起` },
      geo: { map: "risk-city", roam: true, itemStyle: { areaColor: "#eef3fa", borderColor: "#355f9c" } },
      series: [{ type: "scatter", coordinateSystem: "geo", symbol: "rect", symbolSize: 7, itemStyle: { color: "#c8102e" },
        data: hot.cells.map((c) => [c.lon, c.lat, c.expected]) }] });
  }

  async function page() {
    await chrome();
    document.querySelectorAll("[data-state]").forEach((b) => b.addEventListener("click", async () => {
      if (!current) return;
      const form = new URLSearchParams({ state: b.dataset.state });
      if (b.dataset.verdict) form.set("verdict", b.dataset.verdict);
      await api(`/api/risk/warnings/${current.id}/state`, { method: "POST", body: form });
      toast(`${STATE[b.dataset.state]} ✔`); await inbox(); await models();
    }));
    await Promise.all([inbox(), models(), hotmap().catch(() => {})]);
  }
  return { page };
})();
zj.addEN({ "nav.risk": "Risk warnings" });
zj.pages.risk = zjRisk.page;
