"""PNG figures of a report (matplotlib, no metadata): curves base vs PR, confusion matrices, metric deltas.

They are uploaded as workflow artifacts and linked from the comment; never sent to an image host.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "plot"


def draw(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the figures under out_dir; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=90, metadata={"Software": None})
        plt.close(fig)
        written.append(path)

    for curve in report["curves"]:
        if not curve["pr"]:
            continue
        fig, ax = plt.subplots(figsize=(5, 4))
        for side, style in (("base", {"color": "#9e9e9e", "ls": "--"}), ("pr", {"color": "#d62728"})):
            pts = sorted(curve[side] or [])
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label="base" if side == "base" else "PR", **style)
        ax.set(xlabel=curve["x"], ylabel=curve["y"], title=curve["title"], xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(loc="best")
        save(fig, f"{_slug(curve['title'])}.png")

    for conf in report["confusion"]:
        sides = [s for s in ("base", "pr") if conf[s]]
        if not sides:
            continue
        fig, axes = plt.subplots(1, len(sides), figsize=(3.6 * len(sides), 3.4), squeeze=False)
        for ax, side in zip(axes[0], sides):
            mat = conf[side]
            ax.imshow(mat, cmap="Blues")
            for i, row in enumerate(mat):
                for j, v in enumerate(row):
                    ax.text(j, i, str(v), ha="center", va="center")
            n = len(conf["labels"])
            ax.set(xticks=range(n), yticks=range(n), xticklabels=conf["labels"], yticklabels=conf["labels"],
                   xlabel="predicted", ylabel="actual", title="base" if side == "base" else "PR")
        fig.suptitle(conf["title"])
        save(fig, f"{_slug(conf['title'])}.png")

    rows = [r for r in report["metrics"] if r["delta"] is not None]
    if rows:
        fig, ax = plt.subplots(figsize=(6, 0.35 * len(rows) + 1.2))
        colors = {"better": "#2ca02c", "worse": "#d62728"}
        ax.barh([r["name"] for r in rows], [r["delta"] for r in rows],
                color=[colors.get(r["change"], "#9e9e9e") for r in rows])
        ax.axvline(0, color="black", lw=0.8)
        ax.set(xlabel="PR − base", title="Metric changes (green: better, red: worse)")
        save(fig, "metric-deltas.png")
    return written
