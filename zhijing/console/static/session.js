/* 智警 console session: one login per browser, shared by its tabs, lasting a shift.
   The access token (15 min) and the session's refresh token live in localStorage, so a new tab
   is logged in; the access token is renewed with the refresh token (good once, rotated: the
   server ends a session whose refresh token comes twice) while the officer works — an idle
   console lets it lapse and the server ends the session after its idle minutes. One tab renews
   at a time (Web Locks), the others take what it stored; logout in one tab logs out all.
   The purpose is per tab (sessionStorage), carried in the URL (?purpose=case:…) so that a deep
   link, a bookmark or a new tab opens under it; a new tab without one takes the last chosen. */
"use strict";
const zjSession = (() => {
  const TOKEN = "zj.token", REFRESH = "zj.refresh", LAST = "zj.purpose.last", PURPOSE = "zj.purpose";
  const RENEW_BEFORE = 90_000, ACTIVE_WITHIN = 10 * 60_000;
  const get = (k) => localStorage.getItem(k);
  let acted = Date.now();  // the officer's last keystroke, click or scroll in this tab
  ["pointerdown", "keydown", "wheel", "touchstart"].forEach((e) => addEventListener(e, () => { acted = Date.now(); }, { capture: true, passive: true }));

  /** The expiry (ms) a token states; 0 when it cannot be read. */
  function expiry(tok) {
    try { return JSON.parse(atob(tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000; } catch (e) { return 0; }
  }
  function store(body) { localStorage.setItem(TOKEN, body.access_token); localStorage.setItem(REFRESH, body.refresh_token); }
  function clear() { [TOKEN, REFRESH, LAST, "zj.labels"].forEach((k) => localStorage.removeItem(k)); sessionStorage.clear(); }
  const signedIn = () => !!(get(TOKEN) || get(REFRESH));

  /** Spend the refresh token for a new pair (one tab at a time); the token now usable, or null. */
  async function renew(stale) {
    const run = async () => {
      const now = get(TOKEN);
      if (now && now !== stale && expiry(now) - Date.now() > RENEW_BEFORE) return now;  // another tab renewed meanwhile
      const rt = get(REFRESH);
      if (!rt) return null;
      const res = await fetch("/api/auth/refresh", { method: "POST", body: new URLSearchParams({ refresh_token: rt }) }).catch(() => null);
      if (!res) return now;  // offline: try again on the next request
      if (!res.ok) { if (get(REFRESH) === rt) clear(); return null; }
      store(await res.json());
      return get(TOKEN);
    };
    return navigator.locks ? navigator.locks.request("zj.refresh", run) : run();
  }
  /** A usable access token: renewed first when it has (nearly) expired. */
  async function token() {
    const tok = get(TOKEN);
    if (!tok) return get(REFRESH) ? renew(null) : null;
    return expiry(tok) - Date.now() < RENEW_BEFORE ? renew(tok) : tok;
  }
  // while the officer works, renew before the token runs out (a half-built collision is never lost to a login)
  setInterval(() => {
    const tok = get(TOKEN);
    if (tok && expiry(tok) - Date.now() < 2 * RENEW_BEFORE && Date.now() - acted < ACTIVE_WITHIN) renew(tok);
  }, 30_000);
  // logged out in another tab (or the session refused there): this tab leaves too
  addEventListener("storage", (ev) => {
    if ((ev.key === REFRESH || ev.key === null) && !get(REFRESH) && location.pathname !== "/login") location.href = "/login";
  });

  const purpose = () => sessionStorage.getItem(PURPOSE) || "";
  /** ``url`` with this tab's purpose in it (a console page of this site only). */
  function withPurpose(url) {
    const u = new URL(url, location.href);
    if (u.origin !== location.origin || /^\/(api|static|login)\b/.test(u.pathname) || !purpose()) return null;
    if (!u.searchParams.has("purpose")) u.searchParams.set("purpose", purpose());
    return u;
  }
  function keepInUrl() {
    const u = new URL(location.href);
    if (purpose()) u.searchParams.set("purpose", purpose()); else u.searchParams.delete("purpose");
    if (u.href !== location.href && location.pathname !== "/login") history.replaceState(history.state, "", u);
  }
  /** The officer chose a purpose in this tab. */
  function choose(p) {
    if (p) { sessionStorage.setItem(PURPOSE, p); localStorage.setItem(LAST, p); } else sessionStorage.removeItem(PURPOSE);
    keepInUrl();
  }
  // at load: the URL's purpose, else this tab's, else the last one chosen in this browser's session (a new tab)
  const asked = new URLSearchParams(location.search).get("purpose");
  if (asked) sessionStorage.setItem(PURPOSE, asked);
  else if (!purpose() && get(LAST) && get(REFRESH)) sessionStorage.setItem(PURPOSE, get(LAST));
  // the screens' own URL changes and the console's links keep the purpose
  for (const m of ["pushState", "replaceState"]) {
    const own = history[m].bind(history);
    history[m] = (state, title, url) => own(state, title, url == null ? url : (withPurpose(url) || url));
  }
  const carry = (ev) => {
    const a = ev.target.closest && ev.target.closest("a[href]");
    const href = a && a.getAttribute("href");
    const u = href && !href.startsWith("#") && !a.hasAttribute("download") && withPurpose(href);
    if (u && u.href !== a.href) a.href = u.href;
  };
  ["mousedown", "click", "auxclick", "focusin"].forEach((e) => addEventListener(e, carry, true));
  if (purpose()) addEventListener("DOMContentLoaded", keepInUrl);

  return { token, renew, store, clear, signedIn, purpose, choose, expiry };
})();
