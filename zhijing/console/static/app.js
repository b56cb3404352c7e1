/* 智警 console: pages are shells; all data comes from the guarded JSON API with the
   user's token and the purpose they chose (X-Purpose), so policy, masking and audit apply. */
"use strict";
const zj = (() => {
  const EN = {
    "nav.overview": "Overview", "nav.catalog": "Catalog", "nav.persons": "Person file", "nav.audit": "Audit & oversight", "nav.review": "Review",
    "review.queue": "To review (conflicts held apart by the last run)", "review.compare": "Compare the two selected",
    "review.notice": "Only records the chosen purpose opens are listed; comparisons and judgements are audited, take effect at the next run and can be reversed.",
    "review.waterfall": "Match weight waterfall (what each comparison contributes)", "review.same": "Same person",
    "review.different": "Different persons", "review.unsure": "Unsure", "review.pick2": "Tick two records", "review.step": "This comparison", "review.total": "Running total",
    "review.purpose": "Choose a purpose first (top right)",
    "purpose.label": "Purpose", "logout": "Log out", "purpose.none": "— choose a purpose —",
    "login.notice": "Every query of personal data names its purpose and is written to a tamper-evident audit trail.",
    "login.user": "User", "login.password": "Password", "login.submit": "Log in",
    "overview.map": "Jurisdictions and incidents",
    "overview.months": "110 incidents per month", "overview.categories": "110 incidents by category",
    "overview.heat.high": "more", "overview.heat.low": "fewer", "overview.datasets": "Datasets (rows)", "overview.quality": "Data quality",
    "catalog.name": "Dataset", "catalog.owner": "Owner", "catalog.grade": "Grade", "catalog.rows": "Rows",
    "catalog.quarantined": "Quarantined", "catalog.quality": "Quality", "catalog.freshness": "Updated",
    "catalog.field": "Field", "catalog.element": "Data element", "catalog.note": "Note",
    "persons.placeholder": "name / citizen ID / mobile", "persons.search": "Search",
    "persons.notice": "The search is audited under the chosen purpose.", "persons.timeline": "Timeline",
    "persons.graph": "Relations", "persons.export": "Export (watermarked)", "persons.records": "Linked records (sources)",
    "audit.chain": "Audit chain", "audit.activity": "Access activity (hourly)", "audit.flags": "Oversight flags",
    "audit.events": "Audit events", "audit.confirm": "Confirm misuse", "audit.proof": "Checked in your browser",
    "audit.proof.chain": "Chain hash SHA-256(prev‖body)", "audit.proof.leaf": "Leaf hash (RFC 6962)",
    "audit.proof.path": "Inclusion proof → tree root", "audit.proof.sig": "Tree head signature", "audit.dismiss": "Dismiss", "audit.note": "Review note",
  };
  let lang = localStorage.getItem("zj.lang") || "zh";
  const zh = {};
  function t(key, fallback) { return lang === "en" ? (EN[key] || fallback || key) : (zh[key] || fallback || key); }
  function applyI18n() {
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      const k = el.dataset.i18n; if (!(k in zh)) zh[k] = el.textContent; el.textContent = t(k, zh[k]);
    });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      const k = el.dataset.i18nPlaceholder; if (!(k in zh)) zh[k] = el.placeholder; el.placeholder = t(k, zh[k]);
    });
    const b = document.getElementById("lang"); if (b) b.textContent = lang === "en" ? "中文" : "EN";
  }

  const token = () => sessionStorage.getItem("zj.token");
  const purpose = () => sessionStorage.getItem("zj.purpose") || "";
  function toast(msg) {
    const el = document.getElementById("toast"); if (!el) return alert(msg);
    el.textContent = msg; el.style.display = "block"; setTimeout(() => { el.style.display = "none"; }, 5000);
  }
  async function api(path, opts = {}) {  // JSON with the token and purpose; refusals shown, then thrown
    const res = await request(path, opts);
    return res.headers.get("content-type")?.includes("json") ? res.json() : res.text();
  }
  async function request(path, opts = {}) {
    const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (token()) headers.Authorization = "Bearer " + token();
    if (purpose()) headers["X-Purpose"] = purpose();
    const res = await fetch(path, Object.assign({}, opts, { headers }));
    if (res.status === 401) { sessionStorage.removeItem("zj.token"); location.href = "/login"; throw new Error("401"); }
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      const msg = body.detail || res.statusText; toast(msg); throw Object.assign(new Error(msg), { shown: true });
    }
    return res;
  }
  async function download(path, filename) {
    const res = await request(path);
    const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(await res.blob()), download: filename });
    a.click(); URL.revokeObjectURL(a.href);
  }
  // RFC 6962 / 9162 checks of one audit entry, done here with WebCrypto so the browser need not trust the server
  const hex = (buf) => [...new Uint8Array(buf)].map((x) => x.toString(16).padStart(2, "0")).join("");
  const unhex = (h) => Uint8Array.from((h || "").match(/../g) || [], (x) => parseInt(x, 16));
  async function sha256(...parts) {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let at = 0;
    parts.forEach((p) => { all.set(p, at); at += p.length; });
    return hex(await crypto.subtle.digest("SHA-256", all));
  }
  async function verifyProof(p) {
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
    if (h.algorithm === "ed25519") {
      try {
        const key = await crypto.subtle.importKey("raw", unhex(h.public_key), { name: "Ed25519" }, false, ["verify"]);
        const msg = enc.encode(`${h.kind}|${h.first_seq}|${h.size}|${h.root}|${h.chain_hash}|${h.signed_at}`);
        signature = await crypto.subtle.verify({ name: "Ed25519" }, key, unhex(h.signature), msg);
      } catch (e) { signature = null; }
    }
    return { chain, leaf, path, signature };
  }
  // a refusal the API explained is already on screen (toast); only unexpected failures stay errors
  window.addEventListener("unhandledrejection", (ev) => { if (ev.reason && ev.reason.shown) ev.preventDefault(); });
  const quality = (d) => (typeof d.quality === "number" ? d.quality : d.quality?.score ?? d.quality_score ?? null);
  const esc = (v) => String(v ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  const chart = (id) => (window.echarts && document.getElementById(id)) ? echarts.init(document.getElementById(id)) : null;
  function rows(tbody, items, cols, onClick) {
    const el = typeof tbody === "string" ? document.querySelector(tbody) : tbody;
    el.innerHTML = items.map((it, i) => `<tr data-i="${i}" class="${onClick ? "click" : ""}">` +
      cols.map((c) => `<td>${typeof c === "function" ? c(it) : esc(it[c])}</td>`).join("") + "</tr>").join("");
    if (onClick) el.querySelectorAll("tr").forEach((tr) => tr.addEventListener("click", () => onClick(items[+tr.dataset.i])));
  }

  async function chrome() {
    applyI18n();
    document.getElementById("lang")?.addEventListener("click", () => {
      lang = lang === "en" ? "zh" : "en"; localStorage.setItem("zj.lang", lang); applyI18n();
    });
    if (location.pathname === "/login") return null;
    if (!token()) { location.href = "/login"; return null; }
    document.getElementById("logout")?.addEventListener("click", async () => {
      try { await api("/api/auth/logout", { method: "POST" }); } catch (e) { /* already logged out */ }
      sessionStorage.clear(); location.href = "/login";
    });
    const me = await api("/api/me");
    document.getElementById("who").textContent = `${me.name || me.username} · ${me.unit_name || me.unit || ""}`;
    const sel = document.getElementById("purpose");
    const purposes = me.purposes || [];
    sel.innerHTML = `<option value="">${esc(t("purpose.none", "— 选择用途 —"))}</option>` +
      purposes.map((p) => `<option value="${esc(p.value)}">${esc(p.label)}</option>`).join("");
    sel.value = purpose();
    sel.addEventListener("change", () => sessionStorage.setItem("zj.purpose", sel.value));
    return me;
  }

  const pages = {
    login() {
      document.addEventListener("DOMContentLoaded", () => {
        applyI18n();
        document.getElementById("login-form").addEventListener("submit", async (ev) => {
          ev.preventDefault();
          const form = new URLSearchParams(new FormData(ev.target)); form.set("grant_type", "password");
          const res = await fetch("/api/auth/token", { method: "POST", body: form });
          const body = await res.json().catch(() => ({}));
          if (!res.ok) { document.getElementById("login-error").textContent = body.detail || "登录失败"; return; }
          sessionStorage.setItem("zj.token", body.access_token); location.href = "/";
        });
      });
    },
    async overview() {
      await chrome();
      const cat = await api("/api/catalog");
      const items = cat.datasets || cat;
      const bar = chart("dataset-chart");
      bar?.setOption({ tooltip: {}, grid: { left: 140 }, xAxis: { type: "log" },
        yAxis: { type: "category", axisLabel: { interval: 0 }, data: items.map((d) => d.title || d.name) },
        series: [{ type: "bar", data: items.map((d) => d.row_count || d.rows || 0) }] });
      const q = chart("quality-chart");
      q?.setOption({ tooltip: {}, grid: { left: 140 }, xAxis: { max: 1 },
        yAxis: { type: "category", axisLabel: { interval: 0 }, data: items.map((d) => d.title || d.name) },
        series: [{ type: "bar", data: items.map((d) => quality(d) ?? 0) }] });
      try {
        const [geo, inc] = await Promise.all([api("/api/geo/stations"), api("/api/geo/incidents")]);
        const m = chart("map");
        if (m && geo.features) {
          echarts.registerMap("city", geo);
          const peak = Math.max(1, ...inc.cells.map((c) => c[2]));
          const districts = {};  // label each district at the centre of its stations
          geo.features.forEach((f) => {
            const ring = f.geometry.coordinates[0], d = (districts[f.properties.district_code] ||= { name: f.properties.name.split("第")[0], xs: [], ys: [] });
            ring.forEach(([x, y]) => { d.xs.push(x); d.ys.push(y); });
          });
          const mid = (v) => (Math.min(...v) + Math.max(...v)) / 2;
          m.setOption({ tooltip: { trigger: "item" },
            geo: { map: "city", roam: true, nameProperty: "name", label: { show: false },
              itemStyle: { areaColor: "#e4ecf7", borderColor: "#355f9c", borderWidth: 0.8 }, emphasis: { label: { show: true } } },
            visualMap: { min: 0, max: peak, calculable: true, left: 10, seriesIndex: 0,
              text: [t("overview.heat.high", "多"), t("overview.heat.low", "少")],
              inRange: { color: ["#ffe9a8", "#f5a25d", "#d7301f", "#7f0000"] } },
            series: [{ type: "heatmap", coordinateSystem: "geo", pointSize: 6, blurSize: 8, itemStyle: { opacity: 0.75 }, data: inc.cells },
              { type: "scatter", coordinateSystem: "geo", symbolSize: 0, silent: true, z: 5,
                label: { show: true, formatter: "{b}", color: "#123f7a", fontWeight: "bold", position: "top" },
                data: Object.values(districts).map((d) => ({ name: d.name, value: [mid(d.xs), mid(d.ys) + 0.03] })) }] });
        }
        const months = Object.keys(inc.months);
        chart("incident-months")?.setOption({ tooltip: { trigger: "axis" }, xAxis: { type: "category", data: months },
          yAxis: { type: "value" }, series: [{ type: "line", smooth: true, areaStyle: {}, data: months.map((k) => inc.months[k]) }] });
        chart("incident-categories")?.setOption({ tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["40%", "70%"],
          data: Object.entries(inc.categories).map(([name, value]) => ({ name, value })) }] });
      } catch (e) { /* map optional */ }
    },
    async catalog() {
      await chrome();
      const cat = await api("/api/catalog");
      const items = cat.datasets || cat;
      rows("#catalog tbody", items, [
        (d) => `<b>${esc(d.title)}</b><br><span class="muted">${esc(d.name)}</span>`, "owner",
        (d) => `<span class="badge ${esc(d.grade)}">${esc(d.grade)}</span> <span class="badge">${esc(d.pi || "")}</span>`,
        (d) => esc((d.row_count ?? d.rows ?? "").toLocaleString()), (d) => esc(d.quarantined ?? ""),
        (d) => (quality(d) == null ? "" : `${(quality(d) * 100).toFixed(1)}%`),
        (d) => esc(String(d.freshness || d.updated_at || "").slice(0, 16).replace("T", " ")),
      ], async (d) => {
        const detail = await api(`/api/catalog/${encodeURIComponent(d.name)}`);
        document.getElementById("dataset-detail").hidden = false;
        document.getElementById("dataset-title").textContent = `${detail.title || d.title} (${d.name})`;
        rows("#schema tbody", detail.fields || detail.schema || [], ["name", "element", "grade", "note"]);
        const lineage = detail.lineage || {};
        const lc = chart("lineage");
        const label = (s) => (typeof s === "object" && s ? `${s.zone || ""}/${s.dataset || s.name || ""}` : String(s));
        const inputs = (lineage.inputs || []).map(label);
        const target = `clean/${d.name}`;
        const job = lineage.job ? `${lineage.job} (${lineage.engine || ""})` : "job";
        const nodes = [...new Set([...inputs, job, target])].map((n) => ({ name: n }));
        lc?.setOption({ title: { text: "血缘 lineage", textStyle: { fontSize: 12 } }, series: [{ type: "graph", layout: "force",
          force: { repulsion: 300, edgeLength: 120 }, label: { show: true }, symbolSize: 14, data: nodes, edgeSymbol: ["none", "arrow"],
          links: [...inputs.map((s) => ({ source: s, target: job })), { source: job, target }] }] });
        try {
          const qh = await api(`/api/catalog/${encodeURIComponent(d.name)}/quality`);
          const hist = qh.history || qh;
          const dims = ["completeness", "validity", "uniqueness", "timeliness", "consistency"];
          chart("quality-history")?.setOption({ tooltip: { trigger: "axis" }, legend: {}, xAxis: { type: "category",
            data: hist.map((h) => h.measured_at || h.at) }, yAxis: { max: 1 },
            series: dims.map((k) => ({ name: k, type: "line", data: hist.map((h) => h[k]) })) });
        } catch (e) { /* optional */ }
      });
    },
    async persons() {
      await chrome();
      document.getElementById("person-search").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const q = new FormData(ev.target).get("q");
        const res = await api(`/api/persons/search?q=${encodeURIComponent(q)}`);
        rows("#results tbody", res.results || res, ["master_id", "name", "citizen_id", "sex", "birth_date",
          (r) => esc(r.records ?? r.record_count ?? "")], (r) => openFile(r.master_id));
      });
      async function openFile(id) {
        const f = await api(`/api/persons/${encodeURIComponent(id)}`);
        document.getElementById("file").hidden = false;
        document.getElementById("file-title").textContent = `${f.name || ""} · ${f.master_id || id}`;
        document.getElementById("export").onclick = () => download(`/api/persons/${encodeURIComponent(id)}/export`, `${id}.csv`);
        const facts = f.facts || f.values || {};
        const LABELS = { name: "姓名", citizen_id: "公民身份号码", phone: "手机号", address_district: "住址区县", sex: "性别" };
        document.getElementById("facts").innerHTML = Object.entries(facts).map(([k, v]) => {
          const vals = Array.isArray(v) ? v : [v];
          return `<dt>${esc(t("fact." + k, LABELS[k] || k))}</dt><dd>${vals.map((x) => typeof x === "object" && x
            ? `${esc(x.value)}<span class="src">${esc((x.datasets || []).join(" · "))} ×${esc(x.sources || 1)} ${esc((x.first_seen || "").slice(0, 10))}</span>` : esc(x)).join("<br>")}</dd>`;
        }).join("");
        const records = f.records || [];
        rows("#records tbody", records, ["title", "dataset", "record_id", "summary"]);
        let tl = f.timeline; if (!tl) { try { tl = (await api(`/api/persons/${encodeURIComponent(id)}/timeline`)).events; } catch (e) { tl = []; } }
        const ds = [...new Set((tl || []).map((e) => e.dataset))];
        chart("timeline")?.setOption({ tooltip: { formatter: (p) => esc(p.data.label) }, grid: { left: 120 },
          xAxis: { type: "time" }, yAxis: { type: "category", data: ds },
          series: [{ type: "scatter", symbolSize: 10, data: (tl || []).map((e) => ({ value: [e.time, e.dataset], label: e.summary || e.record_id })) }] });
        const rel = f.relations || f.graph || { nodes: [], links: [] };
        chart("graph")?.setOption({ tooltip: {}, legend: {}, series: [{ type: "graph", layout: "force", roam: true,
          force: { repulsion: 160, edgeLength: 80 }, label: { show: true },
          categories: [...new Set((rel.nodes || []).map((n) => n.kind))].map((k) => ({ name: k })),
          data: (rel.nodes || []).map((n) => ({ id: n.id, name: n.label || n.id, category: n.kind })),
          links: (rel.links || rel.edges || []).map((l) => ({ source: l.source, target: l.target, label: { show: !!l.kind, formatter: l.kind } })) }] });
      }
    },
    async review() {
      await chrome();
      document.getElementById("purpose").addEventListener("change", () => location.reload());
      if (!purpose()) { toast(t("review.purpose", "请先在右上角选择用途")); return; }
      const q = await api("/api/persons/review");
      rows("#queue tbody", q.items, ["kind", "reason", (it) => esc(it.mentions.length)], (it) => openItem(it));
      let pair = [];
      function openItem(it) {
        document.getElementById("item").hidden = false;
        document.getElementById("item-title").textContent = `${it.kind} · ${it.reason}`;
        rows("#mentions tbody", it.rows, [(r) => `<input type="checkbox" value="${esc(r.mention_id)}">`, "master_id", "name",
          "citizen_id", "phone", "dataset", "record_id"]);
      }
      document.getElementById("compare").addEventListener("click", async () => {
        pair = [...document.querySelectorAll("#mentions input:checked")].map((el) => el.value);
        if (pair.length !== 2) { toast(t("review.pick2", "请勾选两条记录")); return; }
        const ex = await api(`/api/persons/explain?a=${encodeURIComponent(pair[0])}&b=${encodeURIComponent(pair[1])}`);
        document.getElementById("pair").hidden = false;
        let run = 0;
        const weights = ex.waterfall.map((s) => s.match_weight), totals = weights.map((w) => (run += w));
        const labels = ex.waterfall.map((s) => `${s.comparison}\n${s.level}`);
        chart("waterfall")?.setOption({ tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, grid: { left: 60, bottom: 90 },
          legend: { data: [t("review.step", "本项贡献"), t("review.total", "累计权重")] },
          xAxis: { type: "category", data: labels, axisLabel: { interval: 0, fontSize: 11 } }, yAxis: { type: "value", name: "match weight" },
          series: [{ type: "bar", name: t("review.step", "本项贡献"), data: weights.map((w) => ({ value: +w.toFixed(2),
              itemStyle: { color: w >= 0 ? "#1a7f37" : "#c8102e" } })), label: { show: true, position: "top" } },
            { type: "line", name: t("review.total", "累计权重"), data: totals.map((v) => +v.toFixed(2)), symbolSize: 8,
              lineStyle: { color: "#123f7a" }, itemStyle: { color: "#123f7a" } }] });
        document.getElementById("pair-summary").textContent =
          `match weight ${ex.match_weight.toFixed(2)} · p = ${ex.match_probability.toFixed(4)}`;
      });
      document.querySelectorAll("[data-verdict]").forEach((b) => b.addEventListener("click", async () => {
        if (pair.length !== 2) return;
        await api("/api/persons/judgements", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ a: pair[0], b: pair[1], verdict: b.dataset.verdict }) });
        toast(`${t("review." + b.dataset.verdict, b.textContent)} ✔`);
      }));
    },
    async audit() {
      await chrome();
      const v = await api("/api/audit/verify");
      const ok = v.ok ?? v.valid;
      document.getElementById("verify").innerHTML = `<span class="${ok ? "ok" : "bad"}">${ok ? "✔" : "✘"}</span> ` +
        `${esc(v.entries ?? v.size ?? "")} <span class="muted">${esc(v.first_broken ? "broken at " + v.first_broken : "")}</span>`;
      const flags = await api("/api/oversight/flags");
      const decide = (f) => f.status !== "open" ? esc(f.reviewed_by || "") :
        `<button type="button" data-flag="${esc(f.id)}" data-decision="confirmed">${esc(t("audit.confirm", "确认违规"))}</button> ` +
        `<button type="button" class="secondary" data-flag="${esc(f.id)}" data-decision="dismissed">${esc(t("audit.dismiss", "排除"))}</button>`;
      rows("#flags tbody", flags.flags || flags, ["rule", "actor", "summary", (f) => esc((f.evidence || []).length),
        "status", "created_at", decide]);
      document.querySelectorAll("#flags [data-flag]").forEach((b) => b.addEventListener("click", async () => {
        const note = prompt(t("audit.note", "核查意见")) ?? "";
        const form = new URLSearchParams({ decision: b.dataset.decision, note });
        await api(`/api/oversight/flags/${b.dataset.flag}/review`, { method: "POST", body: form });
        location.reload();
      }));
      const ev = await api("/api/audit/events?limit=200");
      const events = ev.events || ev;
      rows("#events tbody", events, ["seq", "time", "actor", "operation", "purpose", "outcome"], async (e) => {
        const p = await api(`/api/audit/proof/${e.seq}`);
        const ok = await verifyProof(p);
        const mark = (v) => (v === null ? "—" : v ? '<span class="ok">✔</span>' : '<span class="bad">✘</span>');
        const el = document.getElementById("proof");
        el.hidden = false;
        el.innerHTML = `<h2>${esc(t("audit.proof", "浏览器内独立校验"))} · #${esc(e.seq)}</h2><dl class="facts">` +
          `<dt>${esc(t("audit.proof.chain", "链哈希 SHA-256(prev‖body)"))}</dt><dd data-check="chain">${mark(ok.chain)}</dd>` +
          `<dt>${esc(t("audit.proof.leaf", "叶子哈希 (RFC 6962)"))}</dt><dd data-check="leaf">${mark(ok.leaf)}</dd>` +
          `<dt>${esc(t("audit.proof.path", "包含证明 → 树根"))}</dt><dd data-check="path">${mark(ok.path)} ` +
          `<span class="muted">${esc(p.proof.length)} / ${esc(p.tree_size)} · ${esc(p.head.root.slice(0, 16))}…</span></dd>` +
          `<dt>${esc(t("audit.proof.sig", "树头签名"))}</dt><dd data-check="signature">${mark(ok.signature)} ` +
          `<span class="muted">${esc(p.head.algorithm)} · ${esc(p.head.signed_at)}</span></dd></dl>`;
        el.scrollIntoView();
      });
      const byHour = {}; events.forEach((e) => { const h = String(e.time || "").slice(0, 13); byHour[h] = (byHour[h] || 0) + 1; });
      const hours = Object.keys(byHour).sort();
      chart("activity")?.setOption({ tooltip: {}, xAxis: { type: "category", data: hours }, yAxis: {},
        series: [{ type: "bar", data: hours.map((h) => byHour[h]) }] });
    },
  };
  return { api, pages, t, chrome, rows, chart, esc, toast, purpose };
})();
