"""The map's reference layers: compressed, cached by the browser under a versioned address
(still behind the login), simplified per zoom and cut into street tiles — a screen's layers
stay under 300 KB the first time and cost nothing the next (the issue's walk downloaded
2.9 MB of streets and 0.73 MB of stations and districts on every map screen)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import shapely

from zhijing.derived import maplayers
from zhijing.derived.geo import reference_layer

BUDGET = 300_000  # bytes of map layers a screen may download


@pytest.fixture(scope="module")
def layers(resolved_city, tmp_path_factory):
    """(api, officer headers, manifest) over the session's resolved city."""
    from fastapi.testclient import TestClient

    from zhijing.access.seed import seed_demo
    from zhijing.api.app import create_app
    from zhijing.config import Settings, get_settings, reset_settings

    settings = resolved_city[0]
    home = tmp_path_factory.mktemp("maps") / "home"
    home.mkdir()
    (home / "lake").symlink_to(settings.lake_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(home))
        reset_settings()
        logins = {u: p for u, p, _ in seed_demo(get_settings())}
        api = TestClient(create_app())
        tok = api.post("/api/auth/token", data={"username": "xingzhen01", "password": logins["xingzhen01"]}).json()
        h = {"Authorization": f"Bearer {tok['access_token']}", "Accept-Encoding": "gzip"}
        man = api.get("/api/geo/map", headers=h)
        assert man.status_code == 200 and man.headers["cache-control"] == "no-store"  # the version itself is asked each screen
        yield api, h, man.json(), Settings(home=home)
    reset_settings()


def _get(api, h, path):
    """(status, bytes on the wire, headers, parsed body) of a layer file, as a browser fetches it."""
    r = api.get(path, headers=h)
    return r.status_code, r.num_bytes_downloaded, r.headers, (r.json() if r.status_code == 200 else None)


def _screen(api, h, man, level: int, view: tuple[float, float, float, float]) -> tuple[int, list[str]]:
    """Bytes a map screen downloads at ``level`` for a view (west, south, east, north): the two
    whole layers and the street tiles of the view, as map.js asks for them."""
    paths = [f"/api/geo/v/{man['version']}/{name}/{level}.json" for name in ("station", "district")]
    if level == maplayers.LEVELS[0]:  # the main roads of the city in one file
        paths.append(f"/api/geo/v/{man['version']}/road/{level}.json")
    else:
        x0, x1, y0, y1 = (int(v[0]) for v in maplayers._tiles(np.array([shapely.box(*view)]), level))
        paths += [f"/api/geo/v/{man['version']}/road/{level}/{x}/{y}.json" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    total = 0
    for p in paths:
        status, wire, headers, _ = _get(api, h, p)
        assert status == 200, p
        total += wire
    return total, paths


def test_layers_are_compressed_cached_and_behind_the_login(layers):
    api, h, man, _ = layers
    assert man["version"] and man["levels"] == list(maplayers.LEVELS) and man["layers"] == {"station": True, "district": True, "road": True}
    path = f"/api/geo/v/{man['version']}/station/10.json"
    status, _, headers, body = _get(api, h, path)
    assert status == 200 and body["features"] and set(body["features"][0]["properties"]) == {"code", "name", "district_code"}
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert headers["cache-control"] == "private, max-age=31536000, immutable" and headers["etag"]
    again = api.get(path, headers={**h, "If-None-Match": headers["etag"]})
    assert again.status_code == 304 and not again.content  # a browser that asks again gets nothing new
    plain = api.get(path, headers={**h, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == body
    assert api.get(path).status_code == 401  # cacheable, still behind the login
    gone = api.get(f"/api/geo/v/{'0' * 20}/station/10.json", headers=h)
    assert gone.status_code == 404 and gone.headers["cache-control"] == "no-store"
    for bad in ("/api/geo/v/xyz/station/10.json", f"/api/geo/v/{man['version']}/station/11.json",
                f"/api/geo/v/{man['version']}/road/12/9999/1.json", f"/api/geo/v/{man['version']}/person/10.json",
                f"/api/geo/v/{man['version']}/road/12/-1/1.json", f"/api/geo/v/{man['version']}/road/10/851/420.json",
                f"/api/geo/v/{man['version']}/road/12.json"):  # fmt: skip
        r = api.get(bad, headers=h)
        assert r.status_code in (404, 422) and set(r.json()) == {"detail"}, bad


def test_a_screen_downloads_under_budget_once_and_nothing_after(layers):
    api, h, man, settings = layers
    (south, west), (north, east) = man["bounds"]
    old = sum(len(json.dumps(reference_layer(settings, r), ensure_ascii=False).encode()) for r in ("road", "district"))
    city, _ = _screen(api, h, man, 10, (west, south, east, north))  # the whole city at zoom 10
    centre = ((west + east) / 2, (south + north) / 2)
    street, paths = _screen(api, h, man, 14, (centre[0] - 0.03, centre[1] - 0.02, centre[0] + 0.03, centre[1] + 0.02))
    print(f"map layers: whole city {city} B, one street view {street} B; before: roads + districts {old} B uncompressed")
    assert city <= BUDGET and street <= BUDGET and old > 5 * city
    etags = {p: api.get(p, headers=h).headers["etag"] for p in paths}
    second = sum(api.get(p, headers={**h, "If-None-Match": e}).num_bytes_downloaded for p, e in etags.items())
    assert second == 0  # the next screen: every file from the browser's cache (immutable: not even asked)


def test_each_level_draws_what_is_legible_and_every_street_at_the_top(layers):
    api, h, man, settings = layers
    roads = reference_layer(settings, "road")["features"]
    main = {f["properties"]["segment_id"] for f in roads if f["properties"]["road_class"] in ("快速路", "主干路")}
    root = maplayers.computed.ready(settings, maplayers.KIND, man["version"])

    def shown(level):
        files = [root / "road" / f"{level}.json.gz"] if level == maplayers.LEVELS[0] else (root / "road" / str(level)).rglob("*.json.gz")
        feats = [f for p in files for f in json.loads(gzip.decompress(p.read_bytes()))["features"]]
        return {(f["properties"]["name"], json.dumps(f["geometry"]["coordinates"])) for f in feats}, feats

    low, low_feats = shown(10)
    top, _ = shown(14)
    assert {f["properties"]["road_class"] for f in low_feats} <= {"快速路", "主干路"} and len(low) == len(main)
    assert len(top) == len(roads)  # every street at the top level (each once, though in every tile it crosses)
    coarse = json.loads(gzip.decompress((root / "station" / "10.json.gz").read_bytes()))
    fine = json.loads(gzip.decompress((root / "station" / "14.json.gz").read_bytes()))
    vertices = lambda g: len(json.dumps(g["features"]))  # noqa: E731
    assert vertices(coarse) < vertices(fine) and len(coarse["features"]) == len(fine["features"])
