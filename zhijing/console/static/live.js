/* 一体化指挥, shared by the command screens and the phone: the words of dispatch (states,
   priorities, unit kinds), the standing duty purpose, and the live stream.
   The stream is Server-Sent Events read with fetch(), not EventSource: EventSource cannot send
   the token and purpose headers, and a token in a URL ends up in logs. The protocol is the
   same: `id:` is the event's sequence number and a reconnect sends it back as Last-Event-ID,
   so nothing is missed across a dropped connection. */
"use strict";
zj.addEN({ "cad.st.received": "Received", "cad.st.dispatched": "Dispatched", "cad.st.en_route": "En route", "cad.st.on_scene": "On scene",
  "cad.st.cleared": "Cleared", "cad.st.closed": "Closed", "cad.st.cancelled": "Cancelled", "cad.st.reassigned": "Reassigned",
  "cad.u.available": "Available", "cad.u.assigned": "Assigned", "cad.u.en_route": "En route", "cad.u.on_scene": "On scene", "cad.u.off": "Off duty",
  "cad.p.1": "P1 urgent", "cad.p.2": "P2 prompt", "cad.p.3": "P3 routine",
  "cad.k.patrol_car": "Patrol car", "cad.k.foot": "Foot patrol", "cad.k.duty_team": "Duty team",
  "cad.tier.city": "City command", "cad.tier.branch": "Branch", "cad.tier.station": "Station",
  "cad.loc.address": "by address", "cad.loc.coords": "by coordinates", "cad.loc.none": "not located",
  "cad.flag.outside_city": "outside the city", "cad.flag.unparsed": "address not understood", "cad.flag.empty_text": "empty report",
  "cad.flag.abusive": "abusive words", "cad.flag.mixed_script": "mixed scripts", "cad.flag.bad_coords": "bad coordinates",
  "cad.flag.low_confidence": "category uncertain", "cad.flag.bad_message": "unreadable message",
  "cad.live.on": "Live", "cad.live.off": "Reconnecting…", "cad.live.wait": "Connecting…", "cad.live.none": "No live push: refreshing periodically",
  "cad.nopurpose": "No duty purpose (order: / emergency:) is assigned to you: dispatch data opens under one" });
zj.cad = (() => {
  const { t, esc } = zj;
  const en = () => zj.lang() === "en";
  const STATE = { received: "待派警", dispatched: "已派警", en_route: "出警途中", on_scene: "已到场", cleared: "处置完毕", closed: "已结案",
    cancelled: "已撤回", reassigned: "已改派" };
  const UNIT = { available: "空闲", assigned: "已派", en_route: "途中", on_scene: "现场", off: "离线" };
  const PRIO = { 1: "一级 紧急", 2: "二级 较急", 3: "三级 一般" };
  const KIND = { patrol_car: "巡逻车", foot: "步巡", duty_team: "值班组" };
  const TIER = { city: "市局", branch: "分局", station: "派出所" };
  const LOC = { address: "按地址定位", coords: "按坐标定位", none: "未定位" };
  const FLAG = { outside_city: "位于城市范围外", unparsed: "地址无法解析", empty_text: "报警内容为空", abusive: "含辱骂内容",
    mixed_script: "中外文混杂", bad_coords: "坐标无效", low_confidence: "分类把握不足", bad_message: "报文无法解析" };
  const COLOR = { 1: "#c8102e", 2: "#e8871e", 3: "#2f6fb7" };
  const UNIT_COLOR = { available: "#1a7f37", assigned: "#e8871e", en_route: "#e8871e", on_scene: "#7a3db8", off: "#8a94a3" };
  const word = (dict, pre) => (v) => (v == null || v === "" ? "" : en() ? t(`${pre}.${v}`, String(v)) : dict[v] || String(v));
  const state = word(STATE, "cad.st"), unitStatus = word(UNIT, "cad.u"), prio = word(PRIO, "cad.p"), kind = word(KIND, "cad.k");
  const tier = word(TIER, "cad.tier"), located = word(LOC, "cad.loc"), oneFlag = word(FLAG, "cad.flag");
  /** Why a person must look (intake joins several with commas). */
  const flag = (v) => String(v ?? "").split(",").filter(Boolean).map(oneFlag).join(zj.lang() === "en" ? ", " : "、");
  const color = (p) => COLOR[p] || COLOR[3];
  const unitColor = (s) => UNIT_COLOR[s] || UNIT_COLOR.off;
  const badge = (p) => `<span class="prio p${esc(p || 3)}">${esc(prio(p) || "—")}</span>`;
  /** Seconds as m:ss (a travel time, a response time). */
  const mmss = (s) => (s == null || !isFinite(s) ? "—" : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`);
  const metres = (m) => (m == null || !isFinite(m) ? "—" : m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`);
  const unitName = (u) => (u ? u.callsign || u.id || "" : "");

  /** Dispatch data opens under a standing duty purpose (order:110-<unit>) or an emergency: if
      the one chosen is neither, the first held is chosen for the officer (and shown at the top). */
  function dutyPurpose(me) {
    const held = (me?.purposes || []).map((p) => p.value).filter((v) => /^(order|emergency):/.test(v));
    if (/^(order|emergency):/.test(zj.purpose()) && held.includes(zj.purpose())) return zj.purpose();
    const chosen = held.find((v) => v.startsWith("order:")) || held[0] || "";
    if (!chosen) { zj.toast(t("cad.nopurpose", "您没有值班用途（order: 或 emergency:），调度数据须在该用途下打开")); return ""; }
    sessionStorage.setItem("zj.purpose", chosen);
    const sel = document.getElementById("purpose"); if (sel) sel.value = chosen;
    return chosen;
  }

  /** Follows an SSE stream: onEvent({seq, kind, ...}) for each event, onState(true|false) as the
      connection comes and goes. Reconnects with backoff (1 s doubling to 30 s, jittered) and
      resumes after the last event seen. Returns a stop function. */
  function live(path, onEvent, onState = () => {}) {
    let last = "", stopped = false, delay = 1000, ctl = null;
    const parse = (block) => {
      const ev = { id: "", event: "message", data: [] };
      for (const line of block.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue;
        const i = line.indexOf(":"), field = i < 0 ? line : line.slice(0, i), value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "data") ev.data.push(value); else if (field === "id") ev.id = value; else if (field === "event") ev.event = value;
        else if (field === "retry" && +value > 0) delay = +value;
      }
      if (ev.id) last = ev.id;
      if (!ev.data.length) return;
      let body; try { body = JSON.parse(ev.data.join("\n")); } catch (e) { return; }
      if (body && typeof body === "object") {
        if (typeof body.body === "string") { try { body.body = JSON.parse(body.body); } catch (e) { /* kept as text */ } }
        onEvent({ kind: ev.event !== "message" ? ev.event : body.kind, seq: ev.id, ...body });
      }
    };
    async function run() {
      while (!stopped) {
        try {
          ctl = new AbortController();
          const headers = { Accept: "text/event-stream", "Cache-Control": "no-cache" };
          if (last) headers["Last-Event-ID"] = last;
          const res = await zj.request(path, { headers, quiet: true, signal: ctl.signal });
          onState(true); delay = 1000;
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value;
            let m;
            while ((m = /\r?\n\r?\n/.exec(buf))) { const block = buf.slice(0, m.index); buf = buf.slice(m.index + m[0].length); parse(block); }
          }
        } catch (e) {
          if (e.status === 403 || e.status === 404) { onState(false, e); stopped = true; return; }  // refused or not served: no retry loop
        }
        if (stopped) return;
        onState(false);
        await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() / 2)));
        delay = Math.min(delay * 2, 30000);
      }
    }
    run();
    return () => { stopped = true; ctl?.abort(); };
  }
  /** The connection light: 实时 / 重连中. */
  function light(el, on, err) {
    const box = typeof el === "string" ? document.getElementById(el) : el;
    if (!box) return;
    box.classList.toggle("on", !!on);
    box.textContent = on ? t("cad.live.on", "实时") : err ? t("cad.live.none", "无实时推送，定时刷新") : t("cad.live.off", "重连中…");
  }
  /** Runs fn at most once per ``ms`` (a burst of events, one refetch). */
  function debounce(fn, ms) {
    let timer = null;
    return () => { if (!timer) timer = setTimeout(() => { timer = null; fn(); }, ms); };
  }
  return { state, unitStatus, prio, kind, tier, located, flag, color, unitColor, badge, mmss, metres, unitName, dutyPurpose, live, light, debounce };
})();
