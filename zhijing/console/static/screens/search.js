/* 云搜索 (one search): the query read as its intents (ID, phone, plate, name, crime word, place,
   ...), the results grouped by kind (persons, incidents, cases, places, vehicles, ...), each
   section saying which intent found it; highlighted and masked by the server. The header's box
   on every page comes here (?q=). Before the search route is served, the person search answers. */
"use strict";
zj.addEN({ "search.title": "Search everything", "search.q": "name / ID / mobile / plate / case no. / address / crime / text",
  "search.found": "groups found", "search.fallback": "Full search is not installed here: persons only",
  "search.read": "Read as", "search.by": "found as",
  "search.more": "more records", "search.next": "More", "search.atleast": "groups shown; more follow" });
zj.pages.search = async () => {
  await zj.chrome();
  const t = zj.t, esc = zj.esc, box = document.getElementById("groups"), en = zj.lang() === "en";
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
  const intentName = (i) => (en ? i.label_en : i.label);
  const PAGE = 20;
  zj.subjectForm("search-form", async ({ q, start, end }) => {
    const p = new URLSearchParams({ q, limit: PAGE }); if (start) p.set("start", start); if (end) p.set("end", end);
    box.innerHTML = `<div class="loading">${esc(t("state.loading", "加载中…"))}</div>`;
    const header = document.getElementById("header-q"); if (header && !header.value) header.value = q;
    let res = null, fallback = false;
    try { res = await zj.api(`/api/search?${p}`, { quiet: true }); } catch (e) {
      if (e.status !== 404) { box.innerHTML = `<p class="error">${esc(e.message)}</p>`; zj.toast(e.message); return; }
      fallback = true;
    }
    if (fallback) {
      const r = await zj.api(`/api/persons/search?q=${encodeURIComponent(q)}`, { quiet: true }).catch((e) => { box.innerHTML = `<p class="error">${esc(e.message)}</p>`; zj.toast(e.message); return null; });
      if (!r) return;
      res = { intents: [], groups: (r.results || []).map((x) => ({ kind: "person", id: x.master_id, count: x.records, entity: x, hits: [] })) };
    }
    const intents = res.intents || [];
    const byKind = Object.fromEntries(intents.map((i) => [i.kind, i]));
    document.getElementById("search-intents").innerHTML = intents.length ? `${esc(t("search.read", "识别为"))}：` + intents.map((i) =>
      `<span class="intent" data-intent="${esc(i.kind)}" title="${esc((i.notes || []).join("；"))}">${esc(intentName(i))}` +
      `${i.value && i.value !== q ? ` <code>${esc(i.value)}</code>` : ""}</span>`).join(" ") : "";
    const all = res.groups.slice();
    const summary = () => {
      document.getElementById("search-summary").textContent = fallback ? t("search.fallback", "全文搜索尚未安装：仅查人员") :
        res.more ? `${all.length} ${t("search.atleast", "组结果已显示，还有更多")}` : `${all.length} ${t("search.found", "组结果")}`;
    };
    summary();
    if (!all.length) { box.innerHTML = `<p class="empty">${esc(t("state.scope", "在所选用途和辖区内未查到结果"))}</p>`; return; }
    const group = (g) => {
      const e = g.entity || {}, href = link(g), i = all.indexOf(g);
      const name = g.kind === "person" ? e.name || g.id : zj.groupTitle(g);
      const title = `${esc(name)} ${e.citizen_id ? `<span class="muted">${esc(e.citizen_id)}</span>` : ""}`;
      return `<div class="group" data-kind="${esc(g.kind)}" data-intent="${esc(g.intent || "")}" data-group="${esc(g.group || "")}">` +
        `<h3>${href ? `<a href="${esc(href)}">${title}</a>` : title} <span class="muted">${esc(g.count ?? "")}</span> ${zj.pinButton(i)}</h3>` +
        `${(g.hits || []).map(hit).join("")}</div>`;
    };
    /** Sections by kind, in the order of each kind's best result; each says which intent found it. */
    const render = () => {
      const kinds = [...new Set(all.map((g) => g.kind))];
      return kinds.map((k) => {
        const gs = all.filter((g) => g.kind === k);
        const found = [...new Set(gs.map((g) => g.intent).filter(Boolean))].map((x) => byKind[x] ? intentName(byKind[x]) : x);
        return `<section class="kind-section" data-kind="${esc(k)}"><h2>${esc(zj.kindName(k))} <span class="muted">${gs.length}</span>` +
          `${found.length ? ` <small class="intent-label">${esc(t("search.by", "按"))} ${esc(found.join(" / "))}</small>` : ""}</h2>` +
          gs.map(group).join("") + "</section>";
      }).join("") + (res.more ? `<p><button type="button" id="search-more" class="secondary">${esc(t("search.next", "更多"))}</button></p>` : "");
    };
    const wire = () => {
      box.querySelectorAll("[data-pin]").forEach((b) => b.addEventListener("click", () => {
        const g = all[+b.dataset.pin];
        if (g.kind === "person") zj.pin("subject", `${g.entity?.name || ""} ${g.id}`, { master_ids: [g.id] });
        else zj.pin("search", `${q} → ${zj.groupTitle(g)}`, { query: q, group: g });
      }));
      document.getElementById("search-more")?.addEventListener("click", more);
    };
    const more = async () => {  // the next page of groups, after those shown
      const btn = document.getElementById("search-more"); if (btn) btn.disabled = true;
      p.set("offset", all.length);
      const next = await zj.api(`/api/search?${p}`).catch(() => null);
      if (!next) { if (btn) btn.disabled = false; return; }
      res = next;
      all.push(...next.groups.filter((g) => !all.some((x) => x.group === g.group)));
      box.innerHTML = render(); wire(); summary();
    };
    box.innerHTML = render();
    wire();
  });
};
