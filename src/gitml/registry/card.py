"""The model card of a release, in Markdown: metrics, params, data, lineage and a metric trend chart."""

from __future__ import annotations

import time
from typing import Any

TREND_POINTS = 12


def _num(x: float) -> str:
    return f"{x:.4g}"


def _trend_chart(metric: str, points: list[tuple[str, float]]) -> list[str]:
    """A Mermaid xychart (GitHub renders it) of one metric over versions."""
    xs = ", ".join(f'"{v}"' for v, _ in points)
    ys = ", ".join(_num(y) for _, y in points)
    return ["```mermaid", "xychart-beta", f'    title "{metric} by version"', f"    x-axis [{xs}]",
            f'    y-axis "{metric}"', f"    line [{ys}]", "```"]


def render(
    name: str,
    version: str,
    prov: dict[str, Any],
    *,
    description: str | None = None,
    previous: list[dict[str, Any]] | None = None,
    repo_url: str | None = None,
) -> str:
    """Markdown for the GitHub Release of NAME VERSION.

    `previous` holds older versions (newest first) as `gitml registry show --json` gives them.
    """
    previous = previous or []
    code = prov.get("code") or {}
    commit = code.get("commit", "")
    art = prov.get("artifact") or {}
    lines = [f"# {name} {version}", ""]
    if description:
        lines += [description, ""]
    link = f"[`{commit[:12]}`]({repo_url}/commit/{commit})" if repo_url and commit else f"`{commit[:12]}`"
    lines += [
        f"- **Artifact:** `{art.get('path', '?')}`" + (f" ({art['type']})" if art.get("type") else ""),
        f"- **Artifact hash:** `{art.get('hash') or '?'}`",
        f"- **Code:** {link} {code.get('subject', '')}".rstrip(),
        f"- **Registered with:** gitml {prov.get('gitml', '?')}",
        "",
    ]
    prev = next((p for p in previous if p.get("metrics")), None)
    metrics = prov.get("metrics") or {}
    lines += ["## Metrics", ""]
    if metrics:
        head = "| metric | value |" + (f" {prev['version']} | change |" if prev else "")
        lines += [head, "|---|---:|" + ("---:|---:|" if prev else "")]
        for k, v in sorted(metrics.items()):
            row = f"| {k} | {_num(v)} |"
            if prev:
                old = prev["metrics"].get(k)
                row += f" {_num(old)} | {v - old:+.4g} |" if old is not None else " - | - |"
            lines.append(row)
    else:
        lines.append("No metrics were recorded.")
    lines.append("")
    params = prov.get("params") or {}
    lines += ["## Params", ""]
    if params:
        lines += ["| file | param | value |", "|---|---|---|"]
        for fname, values in sorted(params.items()):
            for k, v in sorted(values.items()):
                lines.append(f"| {fname} | {k} | `{v}` |")
    else:
        lines.append("No params were recorded.")
    lines.append("")
    data = prov.get("data") or {}
    lines += ["## Data", ""]
    if data:
        lines += ["| path | hash |", "|---|---|"] + [f"| `{p}` | `{h}` |" for p, h in sorted(data.items())]
    else:
        lines.append("No DVC-tracked data.")
    lines += ["", "## Lineage", ""]
    if previous:
        lines += ["| version | commit | registered | stages |", "|---|---|---|---|"]
        lines.append(f"| **{version}** | `{commit[:12]}` | now | |")
        for p in previous[:TREND_POINTS]:
            when = time.strftime("%Y-%m-%d", time.gmtime(p["created_at"])) if p.get("created_at") else "-"
            lines.append(f"| {p['version']} | `{p['commit'][:12]}` | {when} | {', '.join(p.get('stages') or [])} |")
    else:
        lines.append("The first version of this artifact.")
    lines.append("")
    chart_metrics = sorted(metrics)[:2]
    history = [p for p in reversed(previous[: TREND_POINTS - 1]) if p.get("metrics")]
    if chart_metrics and history:
        lines += ["## Charts", ""]
        for m in chart_metrics:
            points = [(p["version"], p["metrics"][m]) for p in history if m in p["metrics"]] + [(version, metrics[m])]
            lines += _trend_chart(m, points) + [""]
    lines += ["---", f"Fetch it: `gitml registry fetch {name} --version {version} -o {art.get('path', 'model')}`", ""]
    return "\n".join(lines)
