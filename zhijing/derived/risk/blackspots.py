"""Road black-spots (道安监管): accidents per H3 cell against exposure, ranked by the
empirical-Bayes estimate (Hauer; Highway Safety Manual) from a negative-binomial safety
performance function fitted with statsmodels; raw counts are the baseline.

Exposure: standard addresses in the cell (where people live and drive), a stand-in until
road segments and traffic counts are in the lake."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import statsmodels.api as sm

from zhijing.config import Settings
from zhijing.derived.risk import data

NAME, VERSION = "blackspots", "1"
RESOLUTION = 9  # cells of about 0.1 km²


def cells(settings: Settings) -> pd.DataFrame:
    """Accidents (the model's ``accident`` events with a place) and standard addresses per cell."""
    acc = data.query(settings, "SELECT lat, lon FROM a WHERE lon IS NOT NULL AND lat IS NOT NULL", a="accident")
    addr = data.query(
        settings,
        "SELECT TRY_CAST(lat AS DOUBLE) AS lat, TRY_CAST(lon AS DOUBLE) AS lon FROM s WHERE TRY_CAST(lat AS DOUBLE) IS NOT NULL",
        s="places/address",
    )
    if acc.empty:
        return pd.DataFrame(columns=["cell", "accidents", "exposure"])
    a = pd.Series(
        [h3.latlng_to_cell(y, x, RESOLUTION) for y, x in zip(acc.lat, acc.lon, strict=True)]
    ).value_counts()
    e = pd.Series(
        [h3.latlng_to_cell(y, x, RESOLUTION) for y, x in zip(addr.lat, addr.lon, strict=True)]
    ).value_counts()
    f = (
        pd.concat([a.rename("accidents"), e.rename("exposure")], axis=1)
        .fillna(0)
        .rename_axis("cell")
        .reset_index()
    )
    return f


def rank(settings: Settings) -> pd.DataFrame:
    """Cells ranked by the EB estimate of expected accidents (with the SPF's prediction and
    the raw count beside it)."""
    f = cells(settings)
    if len(f) < 5:
        return f.assign(spf=f.accidents, eb=f.accidents, excess=0.0)
    x = sm.add_constant(np.log1p(f.exposure.to_numpy()))
    model = sm.NegativeBinomial(f.accidents.to_numpy(), x)
    # Newton diverges on many zeros: simplex first. The simplex tries dispersions where a
    # cell's NB probability is exactly 0 or 1; the log-likelihood there is -inf (log 0 and
    # 0 × -inf), which the search rejects as it should, so numpy's warnings are noise.
    with np.errstate(divide="ignore", invalid="ignore"):
        start = model.fit(disp=0, method="nm", maxiter=4000)
        nb = model.fit(disp=0, method="bfgs", start_params=start.params, maxiter=500)
    alpha = float(nb.params[-1])
    mu = np.exp(x @ nb.params[:-1])
    w = 1 / (1 + alpha * mu)
    f["spf"] = mu
    f["eb"] = w * mu + (1 - w) * f.accidents
    f["excess"] = f.eb - f.spf
    lat_lon = [h3.cell_to_latlng(c) for c in f.cell]
    f["lat"], f["lon"] = [p[0] for p in lat_lon], [p[1] for p in lat_lon]
    f.attrs["alpha"] = alpha
    return f.sort_values(["excess", "accidents"], ascending=False).reset_index(drop=True)


def warnings(settings: Settings, as_of: pd.Timestamp, top: int = 10) -> list[dict]:
    r = rank(settings).head(top)
    return [{"subject_kind": "area", "subject": c.cell, "label": "事故黑点", "score": float(c.excess),
             "evidence": {"accidents": int(c.accidents), "expected_spf": round(float(c.spf), 3), "eb": round(float(c.eb), 3),
                          "lon": round(float(c.lon), 6), "lat": round(float(c.lat), 6)}} for c in r.itertuples()]  # fmt: skip
