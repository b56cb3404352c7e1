/* 云搜索: one box over every dataset and master, results grouped by entity, highlighted and
   masked by the server. Before the search route is served, the person search answers. */
"use strict";
zj.addEN({ "search.title": "Search everything", "search.q": "name / ID / mobile / plate / case no. / address / text",
  "search.found": "groups found", "search.fallback": "Full search is not installed here: persons only",
  "kind.person": "Person", "kind.vehicle": "Vehicle", "kind.phone": "Phone", "kind.company": "Company", "kind.record": "Record",
  "search.more": "more records", "search.next": "More", "search.atleast": "groups shown; more follow" });
zj.pages.search = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc, box = document.getElementById("groups");
  const KINDS = { person: "人员", vehicle: "车辆", phone: "手机", company: "单位", record: "记录", case: "案件" };
  const kind = (k) => (zj.lang() === "en" ? t(`kind.${k}`, k) : KINDS[k] || k);
  const unesc = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  const marked = (h) => h.split(/(<\/?mark>)/).map((p) => (/^<\/?mark>$/.test(p) ? p : esc(unesc(p)))).join("");
  const link = (g) => g.kind === "person" ? `/persons/${encodeURIComponent(g.id)}`
    : g.kind === "vehicle" ? `/trajectory?subject=${encodeURIComponent("plate:" + g.id)}`
      : g.kind === "phone" ? `/trajectory?subject=${encodeURIComponent("phone:" + g.id)}` : "";
  const hit = (h) => {
    const shown = Object.keys(h.highlights || {}).length ? Object.entries(h.highlights).map(([k, v]) => `${esc(zj.fieldName(h.dataset, k))}: ${marked(v)}`)
      : Object.entries(h.fields || {}).slice(0, 4).map(([k, v]) => `${esc(zj.fieldName(h.dataset, k))}: ${esc(zj.value(v))}`);
    return `<div class="hit"><span class="ds" title="${esc(h.dataset)}">${esc(zj.dsName(h.dataset))}</span> ${shown.join(" · ")}</div>`;
  };
  const PAGE = 20;
  zj.subjectForm("search-form", async ({ q, start, end }) => {
    const p = new URLSearchParams({ q, limit: PAGE }); if (start) p.set("start", start); if (end) p.set("end", end);
    box.innerHTML = `<div class="loading">${esc(t("state.loading", "加载中…"))}</div>`;
    let res = null, fallback = false;
    try { res = await zj.api(`/api/search?${p}`, { quiet: true }); } catch (e) {
      if (e.status !== 404) { box.innerHTML = `<p class="error">${esc(e.message)}</p>`; zj.toast(e.message); return; }
      fallback = true;
    }
    if (fallback) {
      const r = await zj.api(`/api/persons/search?q=${encodeURIComponent(q)}`, { quiet: true }).catch((e) => { box.innerHTML = `<p class="error">${esc(e.message)}</p>`; zj.toast(e.message); return null; });
      if (!r) return;
      res = { groups: (r.results || []).map((x) => ({ kind: "person", id: x.master_id, count: x.records, entity: x, hits: [] })) };
    }
    const all = res.groups.slice();
    const summary = () => {
      document.getElementById("search-summary").textContent = fallback ? t("search.fallback", "全文搜索尚未安装：仅查人员") :
        res.more ? `${all.length} ${t("search.atleast", "组结果已显示，还有更多")}` : `${all.length} ${t("search.found", "组结果")}`;
    };
    summary();
    if (!all.length) { box.innerHTML = `<p class="empty">${esc(t("state.scope", "在所选用途和辖区内未查到结果"))}</p>`; return; }
    const render = (groups) => groups.map((g) => {
      const e = g.entity || {}, href = link(g), i = all.indexOf(g);
      const title = `${esc(kind(g.kind))} · ${esc(e.name || g.id)} ${e.citizen_id ? `<span class="muted">${esc(e.citizen_id)}</span>` : ""}`;
      return `<div class="group" data-kind="${esc(g.kind)}"><h3>${href ? `<a href="${esc(href)}">${title}</a>` : title}` +
        ` <span class="muted">${esc(g.count ?? "")}</span> ${zj.pinButton(i)}</h3>${(g.hits || []).map(hit).join("")}</div>`;
    }).join("");
    const wire = () => box.querySelectorAll("[data-pin]:not([data-wired])").forEach((b) => {
      b.dataset.wired = "1";
      b.addEventListener("click", () => {
        const g = all[+b.dataset.pin];
        if (g.kind === "person") zj.pin("subject", `${g.entity?.name || ""} ${g.id}`, { master_ids: [g.id] });
        else zj.pin("search", `${q} → ${g.group || g.id}`, { query: q, group: g });
      });
    });
    const moreButton = () => (res.more ? `<p><button type="button" id="search-more" class="secondary">${esc(t("search.next", "更多"))}</button></p>` : "");
    box.innerHTML = render(all) + moreButton();
    wire();
    const more = async () => {  // the next page of groups, after those shown
      const btn = document.getElementById("search-more"); if (btn) btn.disabled = true;
      p.set("offset", all.length);
      const next = await zj.api(`/api/search?${p}`).catch(() => null);
      if (!next) { if (btn) btn.disabled = false; return; }
      res = next;
      const fresh = next.groups.filter((g) => !all.some((x) => x.group === g.group));
      all.push(...fresh);
      btn?.parentElement.remove();
      box.insertAdjacentHTML("beforeend", render(fresh) + moreButton());
      wire(); summary();
      document.getElementById("search-more")?.addEventListener("click", more);
    };
    document.getElementById("search-more")?.addEventListener("click", more);
  });
};
