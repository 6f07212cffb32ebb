"""Benchmark of `gitml monitor drift` on a large prediction log: 1M logged rows x 30 features. Prints JSON.

    python bench/drift.py [--rows 1000000] [--features 30] [--rows-per-request 100] [--reference-rows 20000]

A synthetic reference (the training data) and a prediction log written in the server's format (JSON Lines,
column-major inputs, requests of --rows-per-request rows; one feature shifted by half a standard deviation)
are built first (not timed). Timed: reading the log, per-feature PSI + KS, prediction drift and the
data-quality checks, writing drift.json + drift.md, and separately the PNG figures.
Target: the drift check on 1M rows x 30 features in <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gitml.config import MonitorConfig
from gitml.monitor import checks
from gitml.monitor.data import Reference, read_prediction_log
from gitml.serve.model_holder import LoadedModel, check_model
from gitml.serve.predlog import PredictionLog, _Entry, log_files
from gitml.serve.schema import ServedSchema


def build(folder: Path, rows: int, features: int, per_request: int, ref_rows: int) -> tuple[Reference, Path, str]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    names = [f"f{i:02d}" for i in range(features)]
    scale = rng.uniform(0.5, 10, features)
    reference = pd.DataFrame(rng.normal(size=(ref_rows, features)) * scale, columns=names)
    y = (reference.iloc[:, :3].sum(axis=1) + rng.normal(size=ref_rows) > 0).astype(int)
    model = LogisticRegression(max_iter=500).fit(reference, y)
    schema = ServedSchema.from_dict({"columns": [{"name": n, "dtype": "float"} for n in names]})
    loaded = LoadedModel("model", "v1.0.0", model, schema, check_model(model, schema, "bench"), "prod")
    shifted = names[features // 2]
    log = folder / "predictions.jsonl"
    parts: list[Path] = []
    fh = None
    for start in range(0, rows, per_request):  # rotated at 64 MB, as the server's log is by default
        if fh is None or fh.tell() >= 64 << 20:
            if fh is not None:
                fh.close()
            parts.append(folder / f"part{len(parts)}")
            fh = open(parts[-1], "wb")  # noqa: SIM115
        n = min(per_request, rows - start)
        frame = pd.DataFrame(rng.normal(size=(n, features)) * scale, columns=names)
        frame[shifted] += 0.5 * scale[features // 2]
        proba = model.predict_proba(frame)
        fh.write(PredictionLog.encode(_Entry(time.time(), f"r{start}", "model", "v1.0.0", frame,
                                             proba.argmax(axis=1).tolist(), proba)))
    if fh is not None:
        fh.close()
    for i, part in enumerate(parts):  # oldest gets the highest number, the newest is the log itself
        part.rename(log if i == len(parts) - 1 else log.with_name(f"{log.name}.{len(parts) - 1 - i}"))
    return Reference(loaded, reference, "reference", "model@v1.0.0", "0" * 40), log, shifted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=30)
    ap.add_argument("--rows-per-request", type=int, default=100)
    ap.add_argument("--reference-rows", type=int, default=20_000)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        ref, log, shifted = build(folder, args.rows, args.features, args.rows_per_request, args.reference_rows)
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        cur = read_prediction_log(log, features=[(f.name, f.dtype) for f in ref.model.schema.features])
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        result, ref_scores, cur_scores = checks.compare(ref, cur, MonitorConfig())
        t_compare = time.perf_counter() - t0
        t0 = time.perf_counter()
        checks.finish(result, ref.frame, cur.frame, ref_scores, cur_scores, folder / "out", figures=False)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        from gitml.monitor import report

        figs = report.histogram_figures(ref.frame, cur.frame, result, folder / "out" / "figures", ref_scores, cur_scores)
        t_figures = time.perf_counter() - t0
        total = t_read + t_compare + t_write
        print(json.dumps({
            "version": 1,
            "rows": cur.rows,
            "features": args.features,
            "rows_per_request": args.rows_per_request,
            "log_mb": round(sum(f.stat().st_size for f in log_files(log)) / 1e6, 1),
            "log_files": len(log_files(log)),
            "reference_rows": args.reference_rows,
            "setup_seconds": round(setup, 2),
            "seconds": {"read_log": round(t_read, 2), "drift_and_quality": round(t_compare, 2),
                        "write_json_md": round(t_write, 2), "total": round(total, 2), "figures_png": round(t_figures, 2)},
            "target_seconds": 10.0,
            "meets_target": total <= 10.0,
            "drifted_features": result["drifted_features"],
            "expected": [shifted],
            "figures": len(figs),
        }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
