/* The city map (Leaflet, vendored, no tiles): the city's own GeoJSON reference layers from
   /api/geo (station jurisdictions, and the district and road layers by geography role —
   whatever the server offers) under
   the screen's points. Without Leaflet the screens keep their tables. */
"use strict";
zj.map = (() => {
  const LAYERS = [  // reference layers the server may offer; a missing one is skipped
    ["/api/geo/stations", { color: "#355f9c", weight: 0.8, fillColor: "#e4ecf7", fillOpacity: 0.6 }],
    ["/api/geo/layers/road", { color: "#9aa7b8", weight: 1 }],
    ["/api/geo/layers/district", { color: "#123f7a", weight: 2, fill: false }],
  ];
  let cache = null;
  async function reference() {
    cache ||= Promise.all(LAYERS.map(async ([path, style]) => {
      try { return [await zj.api(path, { quiet: true }), style, path]; } catch (e) { return null; }
    }));
    return (await cache).filter(Boolean);
  }
  /** A map in ``el`` with the reference layers; returns the Leaflet map (or null). */
  async function create(el) {
    const box = typeof el === "string" ? document.getElementById(el) : el;
    if (!window.L || !box) return null;
    const m = L.map(box, { preferCanvas: true, attributionControl: false, zoomSnap: 0.25 }).setView([29.87, 121.55], 10);
    for (const [geo, style, path] of await reference()) {
      if (!geo || !geo.features || !geo.features.length) continue;
      const layer = L.geoJSON(geo, { style, interactive: path.endsWith("stations"),
        onEachFeature: (f, l) => f.properties?.name && l.bindTooltip(zj.esc(f.properties.name)) }).addTo(m);
      if (!path.endsWith("road")) m.fitBounds(layer.getBounds(), { maxZoom: 12, animate: false });
    }
    box.classList.add("drawn");
    zj.map.current = m;  // for the browser tests
    return m;
  }
  /** Points [{lat, lon, label, color}] as circles, optionally joined in order; fits the view. */
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
    if (ll.length) m.fitBounds(L.latLngBounds(ll).pad(0.2), { maxZoom: 14, animate: false });
    return group;
  }
  return { create, points, reference };
})();
