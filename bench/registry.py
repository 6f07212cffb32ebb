"""Benchmark of the registry's reads: `gitml registry list` / `show` at 1,000 and 10,000 versions,
side by side with `gto show` at 1,000 on the same repository. Prints JSON.

    python bench/registry.py [--sizes 1000 10000] [--gto-size 1000] [--repeat 5] [--no-gto]

Repositories are built with `git fast-import` (one commit and one annotated tag per
version, carrying a provenance block like gitml writes; a stage tag every 10th version).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitml.registry import provenance

BIN = Path(sys.executable).parent
DVC_YAML = "artifacts:\n  model:\n    path: models/model.joblib\n    type: model\n"
STAGES = ("dev", "staging", "prod")


def build_repo(path: Path, versions: int) -> None:
    """A repository with `versions` registered versions of `model` and stage tags."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    t0 = 1_700_000_000
    lines: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        lines.append(f"data {len(raw)}\n".encode() + raw + b"\n")

    lines.append(b"blob\nmark :1\n")
    data(DVC_YAML)
    counter = 0
    for i in range(versions):
        ts = t0 + 60 * i
        lines.append(f"commit refs/heads/main\nmark :{i + 2}\ncommitter Bench <b@e.x> {ts} +0000\n".encode())
        data(f"train {i}")
        if i == 0:
            lines.append(b"M 100644 :1 dvc.yaml\n")
        else:
            lines.append(f"from :{i + 1}\n".encode())
        v = f"v{i // 100}.{i % 100}.0"
        prov = {
            "version": 1, "gitml": "bench", "artifact": {"name": "model", "path": "models/model.joblib", "hash": f"{i:032x}"},
            "code": {"commit": "0" * 40, "subject": f"train {i}"},
            "data": {"data/raw.csv": f"{i * 7:032x}", "models/model.joblib": f"{i:032x}"},
            "params": {"params.yaml": {"train.C": 1.0 + i, "train.seed": 42}},
            "metrics": {"accuracy": 0.8 + (i % 97) / 1000, "f1": 0.7 + (i % 89) / 1000},
        }
        tags = [(f"model@{v}", ts, provenance.render_message(f"Register model {v}", prov))]
        if i % 10 == 9:
            counter += 1
            stage = STAGES[(i // 10) % 3]
            tags.append((f"model#{stage}#{counter}", ts + 1, f"Promote model {v} to {stage}\n"))
        for name, when, msg in tags:
            lines.append(f"tag {name}\nfrom :{i + 2}\ntagger Bench <b@e.x> {when} +0000\n".encode())
            data(msg)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(lines), check=True, env=env)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=path, check=True, env=env)


def timed(argv: list[str], cwd: Path, repeat: int, timeout: float | None = None) -> dict:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        runs.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr[-2000:]}")
    return {"median_s": round(statistics.median(runs), 4), "min_s": round(min(runs), 4), "runs": len(runs)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="numbers of versions")
    ap.add_argument("--gto-size", type=int, default=1000, help="versions for the gto comparison")
    ap.add_argument("--repeat", type=int, default=5, help="runs per gitml measurement")
    ap.add_argument("--no-gto", action="store_true", help="skip gto (slow)")
    args = ap.parse_args(argv)
    gitml = [str(BIN / "gitml"), "registry"]
    results: dict = {"version": 1, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(set(args.sizes) | ({args.gto_size} if not args.no_gto else set())):
            repo = Path(tmp) / f"r{n}"
            t = time.perf_counter()
            build_repo(repo, n)
            entry = {"build_s": round(time.perf_counter() - t, 2)}
            tags = subprocess.run(["git", "tag", "-l"], cwd=repo, capture_output=True, text=True).stdout.split()
            entry["tags"] = len(tags)
            entry["gitml_list"] = timed([*gitml, "list", "--json"], repo, args.repeat)
            entry["gitml_show"] = timed([*gitml, "show", "model", "--json"], repo, args.repeat)
            entry["gitml_which"] = timed([*gitml, "which", "model", "prod"], repo, args.repeat)
            if not args.no_gto and n == args.gto_size:
                entry["gto_show"] = timed([str(BIN / "gto"), "show"], repo, 1, timeout=900)
                g = entry["gto_show"]["median_s"]
                entry["speedup_list_vs_gto_show"] = round(g / entry["gitml_list"]["median_s"], 1)
                entry["speedup_show_vs_gto_show"] = round(g / entry["gitml_show"]["median_s"], 1)
                mine = json.loads(subprocess.run([*gitml, "list", "--json"], cwd=repo, capture_output=True, text=True).stdout)
                theirs = json.loads(subprocess.run([str(BIN / "gto"), "show", "--json"], cwd=repo, capture_output=True,
                                                   text=True, timeout=900).stdout)
                entry["agree_with_gto"] = (
                    mine["artifacts"][0]["latest"] == theirs["model"]["version"]
                    and mine["artifacts"][0]["stages"] == theirs["model"]["stage"]
                )
            results["sizes"][str(n)] = entry
    big = results["sizes"].get("10000")
    results["targets"] = {
        "list_10000_le_0.5s": big["gitml_list"]["median_s"] <= 0.5 if big else None,
        "speedup_vs_gto_ge_50x": (results["sizes"].get(str(args.gto_size), {}).get("speedup_list_vs_gto_show", 0) >= 50)
        if not args.no_gto else None,
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
