/* 核查: conflicts the last resolution held apart; compare two mentions and judge. */
"use strict";
zj.addEN({ "review.queue": "To review (conflicts held apart by the last run)", "review.compare": "Compare the two selected",
  "review.notice": "Only records the chosen purpose opens are listed; comparisons and judgements are audited, take effect at the next run and can be reversed.",
  "review.waterfall": "Match weight waterfall (what each comparison contributes)", "review.same": "Same person",
  "review.different": "Different persons", "review.unsure": "Unsure", "review.pick2": "Tick two records", "review.step": "This comparison",
  "review.total": "Running total", "review.purpose": "Choose a purpose first (top right)", "review.kind": "Kind", "review.reason": "Reason",
  "review.mentions": "Records", "review.pick": "Pick" });
zj.pages.review = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc;
  document.getElementById("purpose").addEventListener("change", () => location.reload());
  if (!zj.purpose()) { zj.table("#queue", [["review.kind", "类型"]], [], { empty: t("review.purpose", "请先在右上角选择用途") }); return; }
  const q = await zj.loading("#queue", zj.api("/api/persons/review"));
  zj.table("#queue", [["review.kind", "类型", "kind"], ["review.reason", "原因", "reason"], ["review.mentions", "记录数", (it) => esc(it.mentions.length)]],
    q.items, { onClick: (it) => openItem(it) });
  let pair = [];
  function openItem(it) {
    document.getElementById("item").hidden = false;
    document.getElementById("item-title").textContent = `${it.kind} · ${it.reason}`;
    zj.table("#mentions", [["review.pick", "选择", (r) => `<input type="checkbox" value="${esc(r.mention_id)}">`], ["col.id", "人员编号", "master_id"],
      ["col.name", "姓名", "name"], ["col.citizen_id", "公民身份号码", "citizen_id"], ["fact.phone", "手机号", "phone"],
      ["col.dataset", "数据集", "dataset"], ["col.record_id", "记录编号", "record_id"]], it.rows);
  }
  document.getElementById("compare").addEventListener("click", async () => {
    pair = [...document.querySelectorAll("#mentions input:checked")].map((el) => el.value);
    if (pair.length !== 2) { zj.toast(t("review.pick2", "请勾选两条记录")); return; }
    const ex = await zj.api(`/api/persons/explain?a=${encodeURIComponent(pair[0])}&b=${encodeURIComponent(pair[1])}`);
    document.getElementById("pair").hidden = false;
    let run = 0;
    const weights = ex.waterfall.map((s) => s.match_weight), totals = weights.map((w) => (run += w));
    zj.chart("waterfall")?.setOption({ tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, grid: { left: 60, bottom: 90 },
      legend: { data: [t("review.step", "本项贡献"), t("review.total", "累计权重")] },
      xAxis: { type: "category", data: ex.waterfall.map((s) => `${s.comparison}\n${s.level}`), axisLabel: { interval: 0, fontSize: 11 } },
      yAxis: { type: "value", name: "match weight" },
      series: [{ type: "bar", name: t("review.step", "本项贡献"), data: weights.map((w) => ({ value: +w.toFixed(2),
          itemStyle: { color: w >= 0 ? "#1a7f37" : "#c8102e" } })), label: { show: true, position: "top" } },
        { type: "line", name: t("review.total", "累计权重"), data: totals.map((v) => +v.toFixed(2)), symbolSize: 8,
          lineStyle: { color: "#123f7a" }, itemStyle: { color: "#123f7a" } }] });
    document.getElementById("pair-summary").textContent = `match weight ${ex.match_weight.toFixed(2)} · p = ${ex.match_probability.toFixed(4)}`;
  });
  document.querySelectorAll("[data-verdict]").forEach((b) => b.addEventListener("click", async () => {
    if (pair.length !== 2) return;
    await zj.api("/api/persons/judgements", { method: "POST", json: { a: pair[0], b: pair[1], verdict: b.dataset.verdict } });
    zj.toast(`${t("review." + b.dataset.verdict, b.textContent)} ✔`, "ok");
  }));
};
