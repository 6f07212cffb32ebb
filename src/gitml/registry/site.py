"""The registry page: one static index.html (inline CSS and SVG, nothing fetched) and registry.json."""

from __future__ import annotations

import html
import os
import time
from pathlib import Path
from typing import Any

from gitml.fsutil import write_json_atomic, write_text_atomic
from gitml.registry import api, store

MAX_CHART_METRICS = 4
MAX_ROWS = 200

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.85em}
.stage{display:inline-block;border-radius:1em;padding:0 .6em;margin-right:.3em;background:#ddf4ff;color:#0969da;font-size:.8rem}
.muted{color:#656d76}.charts{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0}figcaption{font-size:.85rem;color:#656d76}
details{margin:.2rem 0}summary{cursor:pointer}
"""

FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           '<rect width="16" height="16" rx="3" fill="#0969da"/><path d="M4 11l3-4 2 2 3-5" stroke="#fff" fill="none"/></svg>\n')


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _date(ts: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts else "-"


def trend_svg(metric: str, points: list[tuple[str, float]], width: int = 420, height: int = 180) -> str:
    """An inline SVG line chart of one metric over versions (oldest first)."""
    pad_l, pad_r, pad_t, pad_b = 52, 12, 14, 34
    ys = [y for _, y in points]
    lo, hi = min(ys), max(ys)
    if hi == lo:
        lo, hi = lo - 0.5 if lo else -0.5, hi + 0.5 if hi else 0.5
    n = len(points)
    iw, ih = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i: int, y: float) -> tuple[float, float]:
        x = pad_l + (iw * i / (n - 1) if n > 1 else iw / 2)
        return round(x, 1), round(pad_t + ih * (1 - (y - lo) / (hi - lo)), 1)

    coords = [xy(i, y) for i, (_, y) in enumerate(points)]
    parts = [
        f'<svg width="{width}" height="{height}" role="img" aria-label="{_e(metric)} by version">',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + ih}" stroke="#8c959f"/>',
        f'<line x1="{pad_l}" y1="{pad_t + ih}" x2="{pad_l + iw}" y2="{pad_t + ih}" stroke="#8c959f"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 4}" font-size="10" text-anchor="end">{hi:.4g}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + ih}" font-size="10" text-anchor="end">{lo:.4g}</text>',
    ]
    if n > 1:
        parts.append('<polyline fill="none" stroke="#0969da" stroke-width="2" points="'
                     + " ".join(f"{x},{y}" for x, y in coords) + '"/>')
    step = max(1, n // 8)
    for i, ((label, y), (cx, cy)) in enumerate(zip(points, coords)):
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="#0969da"><title>{_e(label)}: {y:.6g}</title></circle>')
        if i % step == 0 or i == n - 1:
            parts.append(f'<text x="{cx}" y="{height - 12}" font-size="10" text-anchor="middle">{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _artifact_section(name: str, listed: dict[str, Any], view: dict[str, Any] | None) -> str:
    out = [f'<section id="{_e(name)}"><h2>{_e(name)}' + (' <span class="muted">(deprecated)</span>' if listed["deprecated"] else "") + "</h2>"]
    meta = [f"path <code>{_e(listed['path'])}</code>" if listed.get("path") else None,
            f"type {_e(listed['type'])}" if listed.get("type") else None,
            f"latest <strong>{_e(listed['latest'])}</strong>" if listed.get("latest") else "no versions yet"]
    out.append("<p>" + " · ".join(m for m in meta if m) + "</p>")
    stages = listed["stages"]
    if stages:
        out.append("<table><tr><th>stage</th><th>version</th></tr>"
                   + "".join(f"<tr><td>{_e(s)}</td><td>{_e(v)}</td></tr>" for s, v in stages.items()) + "</table>")
    if not view:
        out.append("</section>")
        return "".join(out)
    versions = view["versions"]
    metric_names = sorted({k for v in versions for k in v["metrics"]})
    chron = [v for v in reversed(versions) if v["active"] and v["metrics"]]
    charts = []
    for m in metric_names[:MAX_CHART_METRICS]:
        pts = [(v["version"], v["metrics"][m]) for v in chron if m in v["metrics"]][-50:]
        if pts:
            charts.append(f"<figure>{trend_svg(m, pts)}<figcaption>{_e(m)} by version</figcaption></figure>")
    if charts:
        out.append('<h3>Metric trend</h3><div class="charts">' + "".join(charts) + "</div>")
    out.append("<h3>Versions</h3><table><tr><th>version</th><th>stages</th><th>commit</th><th>registered</th><th>by</th>"
               + "".join(f"<th>{_e(m)}</th>" for m in metric_names) + "<th>lineage</th></tr>")
    for v in versions[:MAX_ROWS]:
        badges = "".join(f'<span class="stage">{_e(s)}</span>' for s in v["stages"])
        state = "" if v["active"] else ' <span class="muted">(deregistered)</span>'
        cells = "".join(f'<td class="num">{v["metrics"][m]:.4g}</td>' if m in v["metrics"] else "<td></td>" for m in metric_names)
        code = v.get("code") or {}
        lineage = [f"<div>code <code>{_e(v['commit'][:12])}</code> {_e(code.get('subject', ''))}</div>"]
        lineage += [f"<div>data <code>{_e(p)}</code> <code>{_e(h)}</code></div>" for p, h in sorted(v["data"].items())]
        lineage += [f"<div>params {_e(f)}: " + _e(", ".join(f"{k}={x}" for k, x in sorted(ps.items()))) + "</div>"
                    for f, ps in sorted(v["params"].items())]
        out.append(f"<tr><td><strong>{_e(v['version'])}</strong>{state}</td><td>{badges}</td><td><code>{_e(v['commit'][:12])}</code></td>"
                   f"<td>{_e(_date(v['created_at']))}</td><td>{_e(v['author'] or '')}</td>{cells}"
                   f"<td><details><summary>details</summary>{''.join(lineage)}</details></td></tr>")
    out.append("</table>")
    if len(versions) > MAX_ROWS:
        out.append(f'<p class="muted">{len(versions) - MAX_ROWS} older versions are in <a href="registry.json">registry.json</a>.</p>')
    out.append("</section>")
    return "".join(out)


def build(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write OUT/index.html, OUT/registry.json and OUT/.nojekyll; return what was written."""
    listed = api.list_artifacts(root)
    state = store.load(root, messages=True)
    views: dict[str, dict[str, Any]] = {}
    for a in listed["artifacts"]:
        art = state.get(a["name"])
        if art is not None and art.events:
            views[a["name"]] = api.show_state(art)
    title = Path(os.path.abspath(root)).name
    body = [f"<h1>Model registry: {_e(title)}</h1>",
            f'<p class="muted">Built {_e(_date(int(time.time())))} from Git tags · <a href="registry.json">registry.json</a></p>']
    if listed["artifacts"]:
        body.append("<table><tr><th>artifact</th><th>latest</th><th>versions</th><th>stages</th></tr>")
        for a in listed["artifacts"]:
            st = " ".join(f'<span class="stage">{_e(s)}: {_e(v)}</span>' for s, v in a["stages"].items())
            body.append(f'<tr><td><a href="#{_e(a["name"])}">{_e(a["name"])}</a></td><td>{_e(a["latest"] or "-")}</td>'
                        f'<td class="num">{a["versions"]}</td><td>{st}</td></tr>')
        body.append("</table>")
    else:
        body.append("<p>No artifacts yet: declare them under <code>artifacts:</code> in dvc.yaml.</p>")
    body += [_artifact_section(a["name"], a, views.get(a["name"])) for a in listed["artifacts"]]
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="favicon.svg" type="image/svg+xml">'
            f"<title>Model registry: {_e(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    target = Path(out)
    index = write_text_atomic(target / "index.html", page)
    write_json_atomic(target / "registry.json", {"version": 1, "artifacts": listed["artifacts"], "details": views})
    write_text_atomic(target / "favicon.svg", FAVICON)
    write_text_atomic(target / ".nojekyll", "")
    return {"index": str(index), "artifacts": len(listed["artifacts"]),
            "versions": sum(len(v["versions"]) for v in views.values())}
