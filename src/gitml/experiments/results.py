"""The issue's sticky results comment: each experiment against its base, the best highlighted, how to reproduce it.

The comment is found and updated by its CML watermark (`gitml.forge.comment`), one per issue:
[tool.gitml.experiment].watermark, distinct from the PR report's, so both can live on one thread.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from gitml.experiments import grammar, grid
from gitml.experiments.collect import Collection, Experiment
from gitml.experiments.issue import quote
from gitml.experiments.plan import Plan
from gitml.report.markdown import _MARK, _fmt, _signed, truncate

MAX_METRIC_COLUMNS = 4
_STATE = {"running": "⏳ running", "done": "✅ done", "failed": "❌ failed", "cancelled": "🚫 cancelled"}


def _short(sha: str | None) -> str:
    return sha[:8] if sha else "—"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _header(issue: int, state: str, hypothesis: str) -> list[str]:
    lines = [f"## 🧪 Experiments for #{issue}: {_STATE.get(state, state)}", ""]
    if hypothesis.strip():
        lines += ["**Hypothesis**", "", quote(hypothesis), ""]
    return lines


def render_running(plan: Plan, *, run_url: str | None = None) -> str:
    """The comment while the variants run: what was asked and each variant's params."""
    lines = _header(plan.issue, "running", plan.hypothesis)
    where = f" ([workflow run]({run_url}))" if run_url else ""
    lines += [f"{len(plan.variants)} variant(s) on the GPU runners from `{plan.base}` ({_short(plan.base_sha)})"
              f"{where}; the best by **{plan.primary_metric}** will be highlighted here.", "",
              "| experiment | params | |", "|---|---|---|"]
    lines += [f"| `{v.name}` | {_code(v.description)} | ⏳ |" for v in plan.variants]
    if plan.command:
        lines += ["", f"Asked with {_code(plan.command)}."]
    return "\n".join(lines) + "\n"


def _metric_names(collection: Collection, gate_metrics: list[str]) -> list[str]:
    present = {r["name"] for e in collection.experiments for r in e.metrics}
    names = [collection.primary_metric] + [m for m in gate_metrics if m != collection.primary_metric and m in present]
    names += sorted(present - set(names))
    return [n for n in names if n in present or n == collection.primary_metric][:MAX_METRIC_COLUMNS]


def _cell(row: dict[str, Any] | None, bold: bool = False) -> str:
    if row is None or row["pr"] is None:
        return "—"
    value = f"**{_fmt(row['pr'])}**" if bold else _fmt(row["pr"])
    if row["base"] is None:
        return value
    return f"{value} ({_signed(row['delta'])} {_MARK.get(row['change'], row['change']).split(' ')[0]})"


def _params_text(e: Experiment) -> str:
    if e.overrides:
        return grid.describe(e.overrides)
    changed = [r for r in e.params if not r["removed"]]
    return " ".join(f"{r['key']}={grammar.format_value(r['pr'])}" for r in changed) or "(no params changed)"


def _shell_arg(arg: str) -> str:
    """A shell word that reads well: bare, "double-quoted" when safe, else shlex's single quotes."""
    if re.fullmatch(r"[\w.=+:/@%,-]+", arg):
        return arg
    if not any(c in arg for c in '"$`!\\'):
        return f'"{arg}"'
    return shlex.quote(arg)


def _run_command(e: Experiment) -> str:
    items = e.overrides or {r["key"]: r["pr"] for r in e.params if not r["removed"]}
    args = " ".join(f"-S {_shell_arg(f'{k}={grammar.hydra_value(v)}')}" for k, v in items.items())
    return f"dvc exp run --pull {args}".rstrip()


def render(collection: Collection, *, run_url: str | None = None, gate_metrics: list[str] | None = None,
           base_label: str | None = None) -> str:
    """The results comment body (the poster appends the watermark)."""
    plan = collection.plan
    state = collection.state
    lines = _header(collection.issue, state, plan.hypothesis if plan else "")
    exps = collection.experiments
    if not exps:
        return "\n".join([*lines, "No experiments found for this issue yet.", ""])
    names = _metric_names(collection, list(gate_metrics or []))
    arrows = {n: ("↑" if (collection.direction if n == collection.primary_metric else
                          next((r["direction"] for e in exps for r in e.metrics if r["name"] == n), "higher"))
                  == "higher" else "↓") for n in names}
    done = [e for e in collection.current if e.status == "done"]
    failed = [e for e in collection.current if e.status != "done"]
    summary = f"{len(done)} of {len(collection.current)} variant(s) of this run finished"
    if failed:
        summary += f"; {len(failed)} failed or were cancelled (see the workflow run)"
    where = f" ([workflow run]({run_url}))" if run_url else ""
    lines += [f"{summary}{where}. Best by **{collection.primary_metric}** "
              f"({'higher' if collection.direction == 'higher' else 'lower'} is better) is marked 🏆.", ""]

    baselines = list(dict.fromkeys(e.baseline for e in exps if e.baseline))
    head = "| | experiment | params | " + " | ".join(f"{n} ({arrows[n]})" for n in names) + " |"
    lines += [head, "|---|---|---|" + "---:|" * len(names)]
    for b in baselines:
        ref = next(e for e in exps if e.baseline == b)
        label = base_label or (plan.base if plan and plan.base_sha == b else "base")
        cells = " | ".join(_fmt(r["base"]) if (r := ref.row(n)) else "—" for n in names)
        lines.append(f"| base | `{label}` @ `{_short(b)}` | | {cells} |")
    for e in exps:
        mark = "🏆" if e.name == collection.best else ("❌" if e.status != "done" else "")
        if e.status != "done":
            cells = " | ".join("failed" if i == 0 else "—" for i in range(len(names)))
        else:
            cells = " | ".join(_cell(e.row(n), bold=(e.name == collection.best and n == collection.primary_metric))
                               for n in names)
        lines.append(f"| {mark} | `{e.name}` | {_code(_params_text(e))} | {cells} |")
    lines.append("")

    winner = next((e for e in exps if e.name == collection.best), None)
    if winner is not None:
        row = winner.row(collection.primary_metric)
        versus = ""
        if row and row["delta"] is not None:
            versus = f", {_signed(row['delta'])} against its base ({_MARK.get(row['change'], row['change'])})"
        lines += [f"**Best: `{winner.name}`** — {collection.primary_metric} {_fmt(winner.metric(collection.primary_metric))}"
                  f"{versus}. Comment `/experiment promote {winner.name}` to open a pull request from it.", ""]
    lines += ["<details><summary>Reproduce or apply an experiment</summary>", "", "```bash",
              "git fetch origin '+refs/exps/*:refs/exps/*'   # the experiments (or: dvc exp pull origin NAME)"]
    for e in exps:
        if e.status == "done":
            lines += [f"# {e.name}", f"dvc exp apply {e.name} && dvc checkout   # its params, dvc.lock and outputs",
                      f"{_run_command(e)}   # or run it again"]
    lines += ["```", "", "</details>"]
    missing = sorted({m for e in exps for m in e.missing})
    if missing:
        lines += ["", "⚠️ Could not read: " + ", ".join(f"`{m}`" for m in missing) + " (not in the DVC cache or remote)."]
    return truncate("\n".join(lines).rstrip() + "\n")


def render_cancelled(issue: int, cancelled: list[dict[str, Any]]) -> str:
    if not cancelled:
        return f"🚫 `/experiment cancel`: no experiment run of #{issue} was queued or in progress."
    runs = ", ".join(f"[{r.get('id')}]({r.get('html_url')})" if r.get("html_url") else str(r.get("id"))
                     for r in cancelled)
    return f"🚫 Cancelled {len(cancelled)} experiment run(s) of #{issue}: {runs}. Variants that already finished stay in the remote."


def command_text(overrides: list[grammar.Override] | tuple[grammar.Override, ...]) -> str:
    return " ".join(str(o) for o in overrides)
