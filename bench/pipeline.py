"""Benchmark the example pipeline: wall time and peak memory of each stage, and a no-op `dvc repro`.

Runs on the bundled data and on synthetic sets of 100k and 1M rows x 30 features
(histogram gradient boosting), each in a fresh temporary copy of the project.
Prints one JSON document. Usage: python bench/pipeline.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Runs one stage module in-process and reports its own peak RSS (KiB on Linux).
PROBE = (
    "import resource, runpy, sys; mod = sys.argv[1]; sys.argv = sys.argv[1:];"
    "code = 0\ntry:\n    runpy.run_module(mod, run_name='__main__')\nexcept SystemExit as e:\n    code = e.code or 0\n"
    "sys.stderr.write('PEAK_KIB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)"
)


def make_project(dest: Path, source: str, rows: int) -> Path:
    for rel in ("dvc.yaml", "params.yaml", "pyproject.toml", "data/external/README.md"):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    shutil.copytree(ROOT / "src/pipeline", dest / "src/pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["data"]["source"] = source
    if source == "synthetic":
        params["data"]["synthetic"].update(n_samples=rows, n_features=30, n_informative=10)
        params["train"]["model"] = "hist_gradient_boosting"
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = bench_env(dest)
    for argv in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"]):
        subprocess.run(argv, cwd=dest, env=env, check=True, capture_output=True)
    return dest


def bench_env(home: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}


def run_stages(project: Path) -> dict[str, dict[str, float]]:
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, stage in stages.items():
        argv = shlex.split(stage["cmd"])
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", PROBE, *argv[2:]], cwd=project, env=bench_env(project),
                              text=True, capture_output=True)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"stage {name} failed:\n{proc.stderr}")
        peak = int(proc.stderr.rsplit("PEAK_KIB ", 1)[1].split()[0])
        out[name] = {"seconds": round(seconds, 3), "peak_mib": round(peak / 1024, 1)}
    return out


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=bench_env(cwd), check=True, capture_output=True)
    return round(time.perf_counter() - started, 3)


def bench_case(label: str, source: str, rows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"gitml-bench-{label}-") as tmp:
        project = make_project(Path(tmp), source, rows)
        stages = run_stages(project)
        # The same pipeline through DVC (hashing, lock file, cache) from a clean state.
        for rel in ("data/raw.parquet", "data/prepared", "data/features.parquet", "models", "reports"):
            shutil.rmtree(project / rel, ignore_errors=True) if (project / rel).is_dir() else (project / rel).unlink(missing_ok=True)
        dvc_repro = timed([str(BIN / "dvc"), "repro"], project)
        noop = timed([str(BIN / "dvc"), "repro"], project)
        metrics = json.loads((project / "reports/metrics.json").read_text())
    return {
        "rows": rows,
        "stages": stages,
        "total_seconds": round(sum(s["seconds"] for s in stages.values()), 3),
        "peak_mib": max(s["peak_mib"] for s in stages.values()),
        "dvc_repro_seconds": dvc_repro,
        "noop_dvc_repro_seconds": noop,
        "roc_auc": metrics["roc_auc"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="synthetic row counts, comma-separated")
    args = ap.parse_args()
    results = {"bundled": bench_case("bundled", "breast_cancer", 569)}
    for n in (int(s) for s in args.sizes.split(",") if s):
        results[f"synthetic_{n}"] = bench_case(str(n), "synthetic", n)
    big = results.get("synthetic_1000000")
    targets = {}
    if big:
        targets = {"1M_total_under_60s": big["total_seconds"] < 60, "1M_peak_under_4GiB": big["peak_mib"] < 4096}
    print(json.dumps({"version": 1, "cpu_count": os.cpu_count(), "results": results, "targets": targets}, indent=2))


if __name__ == "__main__":
    main()
