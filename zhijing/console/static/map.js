/* The city map (Leaflet, vendored, no tiles from outside): the city's own reference layers —
   station jurisdictions, districts, streets — under the screen's points. The layers come
   from /api/geo/map: a version (part of every file's address, so the browser keeps each file
   for good and downloads it again only for a new version of the data), zoom levels, each
   level simplified to a pixel, the streets cut into tiles and loaded for the view only.
   The map is returned at once; the layers draw while the screen draws its own points.
   Without Leaflet the screens keep their tables. */
"use strict";
zj.addEN({ "map.far": "{n} points off the map", "map.all": "Show all", "map.back": "Back to the city" });
zj.map = (() => {
  const STYLE = {
    station: { color: "#355f9c", weight: 0.8, fillColor: "#e4ecf7", fillOpacity: 0.6 },
    district: { color: "#123f7a", weight: 2, fill: false },
  };
  const ROAD_WEIGHT = { 快速路: 2.6, 高速公路: 2.6, 主干路: 1.8, 次干路: 1.2 };
  const roadStyle = (f) => ({ color: "#9aa7b8", weight: ROAD_WEIGHT[f.properties?.road_class] || 0.8 });
  const files = new Map();  // address → promise of its GeoJSON (the browser's cache keeps them between screens)
  let manifest = null;
  const get = (path) => {
    if (!files.has(path)) files.set(path, zj.api(path, { quiet: true }).catch(() => null));
    return files.get(path);
  };
  /** The current layers' version, levels and bounds (one small request a screen). */
  function current() {
    manifest ||= zj.api("/api/geo/map", { quiet: true }).catch(() => null);
    return manifest;
  }
  const levelOf = (m, zoom) => m.levels.filter((l) => l <= Math.round(zoom)).pop() ?? m.levels[0];
  const url = (m, ...parts) => `/api/geo/v/${m.version}/${parts.join("/")}.json`;
  function tile(lon, lat, z) {  // the slippy-map tile of a point (Web Mercator, as Leaflet's)
    const n = 2 ** z, r = (Math.max(Math.min(lat, 85.0511), -85.0511) * Math.PI) / 180;
    return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2) * n)];
  }

  /** Keeps the reference layers of map ``m`` at the level of its zoom and its view's street tiles. */
  function follow(m, man, lazy) {
    const whole = new Map(), roads = new Map();  // level → layer; "level/x/y" → layer
    const pane = m.createPane("reference");
    pane.style.zIndex = 350;  // under the screen's own points and lines (overlayPane, 400)
    let shown = null;
    const layerOf = (geo, style, interactive) => L.geoJSON(geo, { pane: "reference", style, interactive,
      onEachFeature: (f, l) => interactive && f.properties?.name && l.bindTooltip(zj.esc(f.properties.name)) });
    async function draw() {
      const level = levelOf(man, m.getZoom());
      if (level !== shown) {
        shown = level;
        whole.forEach((l) => l.remove());
        for (const name of ["station", "district"]) {
          if (!man.layers[name]) continue;
          const key = `${name}/${level}`;
          if (!whole.has(key)) {
            const geo = await get(url(man, name, level));
            if (!geo || shown !== level) continue;
            whole.set(key, layerOf(geo, STYLE[name], name === "station"));
          }
          if (shown === level) whole.get(key).addTo(m);
        }
      }
      if (!man.layers.road) return;
      const want = new Set();
      if (level === man.levels[0]) want.add(`${level}`);  // the main roads of the whole city: one file
      const city = man.bounds ? L.latLngBounds(man.bounds) : null, view = m.getBounds().pad(0.25);
      const b = city && level !== man.levels[0] ? (city.intersects(view) ? L.latLngBounds(
        [Math.max(view.getSouth(), city.getSouth()), Math.max(view.getWest(), city.getWest())],
        [Math.min(view.getNorth(), city.getNorth()), Math.min(view.getEast(), city.getEast())]) : null) : view;
      const [x0, y0] = b ? tile(b.getWest(), b.getNorth(), level) : [0, 0];
      const [x1, y1] = b && level !== man.levels[0] ? tile(b.getEast(), b.getSouth(), level) : [-1, -1];  // no tiles at the lowest level
      for (let x = x0; x <= x1 && want.size < 200; x++) for (let y = y0; y <= y1 && want.size < 200; y++) want.add(`${level}/${x}/${y}`);
      roads.forEach((l, k) => { if (!want.has(k)) { l.remove(); roads.delete(k); } });
      await Promise.all([...want].filter((k) => !roads.has(k)).map(async (k) => {
        roads.set(k, L.layerGroup());  // claimed: a second move does not fetch it again
        const geo = await get(url(man, "road", k));
        if (geo?.features?.length && roads.has(k)) roads.get(k).addLayer(layerOf(geo, roadStyle, false)).addTo(m);
      }));
    }
    let first;
    const drawn = new Promise((resolve) => { first = resolve; });
    const run = () => draw().then(first, first);
    const soon = setTimeout(run, lazy ? 300 : 0);  // a screen about to fit its own points: draw that view, not this one
    m.on("zoomend moveend", () => { clearTimeout(soon); run(); });
    return drawn;
  }

  /** A map in ``el`` with the reference layers; returns the Leaflet map (or null) once its
      view is set — the layers load in the background (``m.layersDrawn`` resolves after them). */
  async function create(el, opts = {}) {
    const box = typeof el === "string" ? document.getElementById(el) : el;
    if (!window.L || !box) return null;
    const m = L.map(box, { preferCanvas: true, attributionControl: false, zoomSnap: 0.25 }).setView([29.87, 121.55], 10);
    const man = await current();
    if (man?.bounds) m.fitBounds(man.bounds, { maxZoom: 12, animate: false });
    m.layersDrawn = (man?.version ? follow(m, man, opts.lazy) : Promise.resolve()).then(() => box.classList.add("drawn"));
    if (!opts.lazy) await m.layersDrawn;  // a screen that draws at once (lazy) does not wait for them
    zj.map.current = m;  // for the browser tests
    return m;
  }
  /** Splits points into those in the city (or, without its bounds, near the points' median)
      and the far ones — a departure from another city would shrink the city to a dot. */
  function nearFar(pts, man) {
    const ok = pts.filter((p) => p.lat != null && p.lon != null);
    let inside;
    if (man?.bounds) {
      const b = L.latLngBounds(man.bounds).pad(0.25);
      inside = (p) => b.contains([p.lat, p.lon]);
    } else {
      const mid = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const c = L.latLng(mid(ok.map((p) => p.lat)), mid(ok.map((p) => p.lon)));
      inside = (p) => c.distanceTo([p.lat, p.lon]) < 80000;
    }
    const near = ok.filter(inside);
    return near.length ? { near, far: ok.filter((p) => !inside(p)) } : { near: ok, far: [] };
  }
  const ARROWS = ["↑", "↗", "→", "↘", "↓", "↙", "←", "↖"];
  /** Fits ``m`` to where the points are dense and lists the far ones in a corner of the map
      (#map-far: direction, distance, place, count; a click shows everything, again: back). */
  async function focus(m, pts, label = (p) => p.place_name || "") {
    if (!m) return { near: pts, far: [] };
    const { near, far } = nearFar(pts, await current());
    m._zjFar?.remove();
    if (near.length) m.fitBounds(L.latLngBounds(near.map((p) => [p.lat, p.lon])).pad(0.2), { maxZoom: 14, animate: false });
    if (!far.length) return { near, far };
    const centre = m.getCenter(), groups = new Map();
    far.forEach((p) => {
      const key = label(p) || `${p.lat.toFixed(2)},${p.lon.toFixed(2)}`;
      groups.set(key, [...(groups.get(key) || []), p]);
    });
    const Far = L.Control.extend({ onAdd() {
      const div = L.DomUtil.create("div", "map-far leaflet-bar");
      div.id = "map-far";
      div.innerHTML = `<b>${zj.esc(zj.t("map.far", "地图外 {n} 个点").replace("{n}", far.length))}</b>` + [...groups].slice(0, 6).map(([name, ps]) => {
        const p = ps[0], km = Math.round(centre.distanceTo([p.lat, p.lon]) / 1000);
        const deg = (Math.atan2(p.lon - centre.lng, p.lat - centre.lat) * 180) / Math.PI;
        return `<div>${ARROWS[Math.round(((deg + 360) % 360) / 45) % 8]} ${km.toLocaleString()} km ${zj.esc(name)}${ps.length > 1 ? ` ×${ps.length}` : ""}</div>`;
      }).join("") + `<button type="button" class="secondary" data-all>${zj.esc(zj.t("map.all", "显示全部"))}</button>`;
      L.DomEvent.disableClickPropagation(div);
      let all = false;
      div.querySelector("[data-all]").addEventListener("click", (ev) => {
        all = !all;
        ev.target.textContent = all ? zj.t("map.back", "回到市区") : zj.t("map.all", "显示全部");
        const ll = (all ? [...near, ...far] : near).map((p) => [p.lat, p.lon]);
        m.fitBounds(L.latLngBounds(ll).pad(0.2), { maxZoom: 14, animate: false });
      });
      return div;
    } });
    m._zjFar = new Far({ position: "topright" }).addTo(m);
    return { near, far };
  }
  /** The reference layers as GeoJSON for screens that read them (a jurisdiction's outline,
      the city's extent): [[geojson, style, path]], path ending in "stations" or "district". */
  async function reference() {
    const man = await current();
    if (!man?.version) return [];
    const level = man.levels[Math.min(1, man.levels.length - 1)];
    const out = await Promise.all([["station", "/api/geo/stations"], ["district", "/api/geo/layers/district"]]
      .filter(([name]) => man.layers[name]).map(async ([name, path]) => [await get(url(man, name, level)), STYLE[name], path]));
    return out.filter(([geo]) => geo);
  }
  /** Points [{lat, lon, label, color}] as circles, optionally joined in order; fits the view
      (``opts.fit`` false: leaves it; ``opts.bounds``: fits those instead). */
  function points(m, pts, opts = {}) {
    if (!m) return null;
    const ll = pts.filter((p) => p.lat != null && p.lon != null).map((p) => [p.lat, p.lon]);
    const group = L.featureGroup();
    if (opts.line && ll.length > 1) L.polyline(ll, { color: opts.color || "#c8102e", weight: 2, opacity: 0.7 }).addTo(group);
    pts.forEach((p) => {
      if (p.lat == null || p.lon == null) return;
      const c = L.circleMarker([p.lat, p.lon], { radius: p.radius || opts.radius || 6, color: p.color || opts.color || "#c8102e", fillOpacity: 0.8 });
      if (p.label) c.bindTooltip(p.label);
      if (p.onClick) c.on("click", p.onClick);
      c.addTo(group);
    });
    group.addTo(m);
    const fit = opts.bounds || (ll.length ? L.latLngBounds(ll).pad(0.2) : null);
    if (fit && opts.fit !== false) m.fitBounds(fit, { maxZoom: 14, animate: false });
    return group;
  }
  return { create, points, reference, current, focus };
})();
