"""Render a report (the dict from `compare.build`) as GitHub-flavoured Markdown.

Charts render inside GitHub with no image host: Mermaid `xychart-beta` blocks for the
curves (base in grey, PR in colour) and plain tables for confusion matrices. PNG
figures are linked (workflow artifacts), never embedded from a third-party host.
"""

from __future__ import annotations

from typing import Any

GITHUB_COMMENT_LIMIT = 65_536
CURVE_POINTS = 21  # Mermaid spreads y values evenly over the x range: resample on a fixed grid
_MARK = {"better": "🟢 better", "worse": "🔴 worse", "same": "⚪ same", "new": "🆕 new", "removed": "➖ removed"}
_FATE = {"ran": "🔨 ran", "restored": "♻️ restored", "unchanged": "✔️ unchanged"}


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    return str(value)


def _signed(value: float | None, digits: int = 4, suffix: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:+.{digits}f}{suffix}"


def _code(value: Any) -> str:
    text = "—" if value is None else str(value)
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _short(sha: str | None) -> str:
    return sha[:8] if sha else "—"


def verdict(report: dict[str, Any]) -> str:
    gate = report["gate"]
    if not gate["checks"]:
        head = "ℹ️ **Quality gate: no rules configured**"
    elif gate["passed"]:
        head = f"✅ **Quality gate passed**: {gate['summary']}"
    else:
        head = f"❌ **Quality gate failed**: {gate['summary']}"
    if not report["baseline"]:
        head += " — no baseline on the base branch yet, so nothing is compared (regression checks skipped)"
    return head


def _metrics(report: dict[str, Any]) -> list[str]:
    rows = report["metrics"]
    if not rows:
        return [f"No metrics found in `{report['metrics_file']}`."]
    if not report["baseline"]:
        lines = ["| metric | PR |", "|---|---:|"]
        lines += [f"| {r['name']} | {_fmt(r['pr'])} |" for r in rows]
        return lines
    lines = ["| metric | base | PR | Δ | Δ% | |", "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        arrow = "↑" if r["direction"] == "higher" else "↓"
        lines.append(
            f"| {r['name']} ({arrow}) | {_fmt(r['base'])} | {_fmt(r['pr'])} | {_signed(r['delta'])} | "
            f"{_signed(r['delta_pct'], 2, '%')} | {_MARK.get(r['change'], r['change'])} |"
        )
    return lines


def _params(report: dict[str, Any]) -> list[str]:
    rows = report["params"]
    if not report["base"]["rev"]:
        return []
    if not rows:
        return ["### Params", "", "No params changed."]
    lines = ["### Params changed", "", "| param | base | PR |", "|---|---|---|"]
    lines += [f"| {r['key']} | {_code(r['base']) if not r['added'] else '*(new)*'} | "
              f"{_code(r['pr']) if not r['removed'] else '*(removed)*'} |" for r in rows]
    return lines


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return ""


def _data(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    rows = report["data"]
    stats = [s for s in report["stats"] if s["changed"] or not report["base"]["rev"]]
    if not report["base"]["rev"]:
        return []
    lines += ["### Data", ""]
    if not rows and not stats:
        return [*lines, "No data or outputs changed."]
    if rows:
        inputs = [r for r in rows if r["kind"] == "input"]
        lines.append(f"{len(inputs)} input(s) and {len(rows) - len(inputs)} output(s) changed "
                     "(DVC md5; `.dir` hashes for folders).")
        lines += ["", "| path | kind | base | PR | size (PR) |", "|---|---|---|---|---:|"]
        for r in rows:
            files = f", {r['pr_files']} files" if r["pr_files"] else ""
            lines.append(f"| `{r['path']}` | {r['kind']} | {_code(_short(r['base']))} | {_code(_short(r['pr']))} | "
                         f"{_size(r['pr_size'])}{files} |")
    if stats:
        lines += ["", "| statistic | base | PR | Δ |", "|---|---:|---:|---:|"]
        for s in stats:
            key = s["key"].split(":", 1)[-1]
            delta = "—" if s["delta"] is None else (f"{s['delta']:+d}" if isinstance(s["delta"], int) else _signed(s["delta"]))
            lines.append(f"| {key} | {_fmt(s['base'])} | {_fmt(s['pr'])} | {delta} |")
    return lines


def _stages(report: dict[str, Any]) -> list[str]:
    stages = report["stages"]
    if not stages:
        return []
    counts: dict[str, list[float]] = {}
    for s in stages:
        counts.setdefault(s["status"], []).append(float(s["seconds"]))
    summary = ", ".join(f"{len(v)} {k} ({sum(v):.1f} s)" for k, v in counts.items())
    lines = ["### Stages", "", summary, "", "| stage | | time |", "|---|---|---:|"]
    lines += [f"| {s['name']} | {_FATE.get(s['status'], s['status'])} | {float(s['seconds']):.1f} s |" for s in stages]
    return lines


def resample(points: list[list[float]], n: int = CURVE_POINTS) -> list[float]:
    """y at n evenly spaced x in [0, 1], as a step curve.

    For a rising curve (ROC: tpr over fpr) the value at x is the best y reached at or
    before x; for a falling one (precision over recall) the best y at or after x
    (interpolated precision). Mermaid needs values on a fixed grid.
    """
    if not points:
        return []
    pts = sorted(points)
    half = len(pts) // 2 or 1
    rising = sum(p[1] for p in pts[half:]) / max(len(pts) - half, 1) >= sum(p[1] for p in pts[:half]) / half
    out = []
    for i in range(n):
        x = i / (n - 1)
        ys = [y for px, y in pts if (px <= x + 1e-12 if rising else px >= x - 1e-12)]
        out.append(max(ys) if ys else (pts[0][1] if rising else pts[-1][1]))
    return [round(min(max(y, 0.0), 1.0), 4) for y in out]


def mermaid_curve(curve: dict[str, Any]) -> str:
    base = resample(curve["base"] or [])
    pr = resample(curve["pr"] or [])
    palette = "#9e9e9e, #d62728" if base else "#d62728"
    lines = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%',
        "xychart-beta",
        f'  title "{curve["title"]}"',
        f'  x-axis "{curve["x"]}" 0 --> 1',
        f'  y-axis "{curve["y"]}" 0 --> 1',
    ]
    if base:
        lines.append(f"  line {base}")
    lines.append(f"  line {pr}")
    lines.append("```")
    return "\n".join(lines)


def _confusion_table(conf: dict[str, Any]) -> list[str]:
    labels = conf["labels"]
    lines = ["| actual \\ predicted | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for i, a in enumerate(labels):
        cells = []
        for j in range(len(labels)):
            p = conf["pr"][i][j] if conf["pr"] else None
            b = conf["base"][i][j] if conf["base"] else None
            if b is None:
                cells.append(str(p))
            elif p == b:
                cells.append(f"{p}")
            else:
                cells.append(f"{b} → **{p}** ({p - b:+d})")
        lines.append(f"| **{a}** | " + " | ".join(cells) + " |")
    return lines


def _charts(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    curves = [c for c in report["curves"] if c["pr"]]
    if curves:
        who = "grey: base, red: PR" if report["baseline"] else "PR only"
        lines += ["<details open><summary>Curves (" + who + ")</summary>", ""]
        for c in curves:
            lines += [mermaid_curve(c), ""]
        lines += ["</details>", ""]
    confs = [c for c in report["confusion"] if c["pr"]]
    for c in confs:
        note = "base → **PR**" if c["base"] else "PR"
        lines += [f"<details><summary>{c['title']} ({note})</summary>", "", *_confusion_table(c), "", "</details>", ""]
    return lines


def _figures(report: dict[str, Any], artifacts_url: str | None) -> list[str]:
    figures = report.get("figures") or []
    if not figures:
        return []
    names = ", ".join(f"`{f}`" for f in figures)
    if artifacts_url:
        return [f"📎 PNG figures ({names}) are in the [workflow run's artifacts]({artifacts_url})."]
    return [f"📎 PNG figures in the checkout: {names}."]


def _reproduce(report: dict[str, Any], pr_number: int | None) -> list[str]:
    branch = report["head"].get("label")
    if pr_number:
        fetch = f"git fetch origin pull/{pr_number}/head:pr-{pr_number} && git checkout pr-{pr_number}"
    else:
        fetch = f"git fetch origin && git checkout {branch}" if branch else "git checkout <this branch>"
    base = report["base"]["label"] or report["base"]["rev"] or "main"
    return [
        "<details><summary>Reproduce locally</summary>", "",
        "```bash", fetch,
        "gitml repro          # dvc repro --pull: cached stages are restored from the remote, not retrained",
        f"gitml ci pr --base {base} --poster none   # this report, in reports/pr/",
        "```", "", "</details>",
    ]


def render(report: dict[str, Any], *, pr_number: int | None = None, artifacts_url: str | None = None,
           title: str = "gitml model report", limit: int = GITHUB_COMMENT_LIMIT - 512) -> str:
    """The comment body (without the watermark: the poster appends it). Cut to `limit` characters with a note."""
    head = report["head"]
    base = report["base"]
    against = (f" vs `{base['label'] or base['rev']}` ({_short(base['sha'])})" if base["rev"] else "")
    parts: list[str] = [
        f"## {title}: `{_short(head['sha'])}`{against}", "", verdict(report), "",
    ]
    if not report["baseline"]:
        parts += ["> **No baseline:** the base branch has no metrics yet (a first PR). This PR's results are "
                  "shown on their own; the next PR will be compared against them once this one is merged.", ""]
    parts += ["### Metrics", "", *_metrics(report), ""]
    if report["gate"]["checks"]:
        parts += ["<details><summary>Gate checks</summary>", "", "| metric | rule | result |", "|---|---|---|"]
        parts += [f"| {c['metric']} | {c['rule']} | {'✅' if c['passed'] else '❌'} {c['message']} |"
                  for c in report["gate"]["checks"]]
        parts += ["", "</details>", ""]
    for section in (_params(report), _data(report), _stages(report)):
        if section:
            parts += [*section, ""]
    parts += _charts(report)
    figs = _figures(report, artifacts_url)
    if figs:
        parts += [*figs, ""]
    if report.get("missing"):
        parts += ["⚠️ Could not read: " + ", ".join(f"`{m}`" for m in report["missing"]) +
                  " (not in the DVC cache or remote).", ""]
    parts += _reproduce(report, pr_number)
    return truncate("\n".join(parts).rstrip() + "\n", limit)


def truncate(body: str, limit: int = GITHUB_COMMENT_LIMIT - 512) -> str:
    """Cut body at a line boundary to fit `limit`, close an open code fence and <details>, and say so."""
    if len(body) <= limit:
        return body
    note = (f"\n\n> ✂️ **Report truncated**: it is {len(body):,} characters, over GitHub's "
            f"{GITHUB_COMMENT_LIMIT:,}-character comment limit. The full report is in the job summary and in the "
            "workflow's report artifact (`reports/pr/report.md`).\n")
    cut = body[: max(limit - len(note) - 64, 0)]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    closing = ""
    if cut.count("```") % 2:
        closing += "```\n"
    opened = cut.count("<details") - cut.count("</details>")
    closing += "\n</details>\n" * max(opened, 0)
    return cut + closing + note
