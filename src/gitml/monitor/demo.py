"""The serving and monitoring part of the main job: serve the promoted version on loopback, send it traffic,
then show drift calm on unshifted traffic and flagged on a shifted feature.

    from gitml.monitor.demo import serve_and_drift
    print(serve_and_drift(".", "model", stage="prod"))
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
import urllib.request
from typing import Any

import numpy as np

from gitml import config as config_mod
from gitml.monitor import checks
from gitml.monitor import data as data_mod


def _post(url: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    req = urllib.request.Request(url + "/predict", data=json.dumps({"rows": rows}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


def serve_and_drift(
    repo: str | os.PathLike[str] = ".",
    name: str = "model",
    *,
    stage: str = "prod",
    requests: int = 200,
    shift_sd: float = 0.5,
    seed: int = 0,
) -> str:
    """Serve NAME's STAGE version on 127.0.0.1, send `requests` single-row requests and some batches drawn from its
    training data, check drift (expect none), then shift the most variable feature by shift_sd standard deviations,
    send that, and check again (expect that feature flagged). Returns a printable summary."""
    from gitml.serve import server

    server.require_extra()
    cfg = config_mod.load(repo)
    work = cfg.root / ".gitml" / "demo-monitor"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "predictions.jsonl"
    ref = data_mod.load_reference(cfg.root, name, stage=stage, schema_path=cfg.serve.schema, reference_path=cfg.monitor.reference)
    numeric = [f.name for f in ref.model.schema.features if f.dtype != "category"]
    runtime = server.build_runtime(cfg.root, name, stage=stage, log_path=str(log), poll_seconds=3600)
    lines = []
    latencies: list[float] = []
    started = time.perf_counter()
    with server.BackgroundServer(runtime) as srv:
        sample = ref.frame.sample(n=max(requests, len(ref.frame)), replace=True, random_state=seed).reset_index(drop=True)
        records = sample.to_dict(orient="records")
        answer: dict[str, Any] = {}
        for row in records[:requests]:
            t0 = time.perf_counter()
            answer = _post(srv.url, [row])
            latencies.append(time.perf_counter() - t0)
        for start in range(requests, len(records), 100):
            _post(srv.url, records[start:start + 100])
        calm_until = time.time()
        time.sleep(0.01)
        feature = max(numeric, key=lambda n: float(ref.frame[n].std() / (abs(ref.frame[n].mean()) + 1e-12)))
        shifted = ref.frame.sample(n=len(ref.frame), replace=True, random_state=seed + 1).reset_index(drop=True)
        shifted[feature] = shifted[feature] + shift_sd * float(ref.frame[feature].std())
        shifted_records = shifted.to_dict(orient="records")
        for start in range(0, len(shifted_records), 100):
            _post(srv.url, shifted_records[start:start + 100])
        lines.append(f"Serving {name} {answer.get('version')} ({stage}) at {srv.url}: {len(records) + len(shifted_records)} rows "
                     f"in {requests + (len(records) - requests + 99) // 100 + (len(shifted_records) + 99) // 100} requests; "
                     f"single-row latency p50 {statistics.median(latencies) * 1000:.1f} ms "
                     f"(p99 {np.quantile(latencies, 0.99) * 1000:.1f} ms)")
    plog = runtime.predlog
    lines.append(f"Prediction log: {plog.written} records written, {plog.dropped} dropped -> {log}")
    calm = checks.drift(cfg.root, name, stage=stage, log=str(log), until=calm_until, out_dir=work / "calm", figures=False)
    lines.append(f"Drift on unshifted traffic: {'BREACH' if calm['breach'] else 'ok'}: {calm['summary']}")
    drifted = checks.drift(cfg.root, name, stage=stage, log=str(log), since=calm_until, out_dir=work / "shifted")
    lines.append(f"Drift after shifting {feature} by {shift_sd} SD: {'BREACH' if drifted['breach'] else 'ok'}: {drifted['summary']}")
    lines.append(f"Report: {drifted['outputs']['markdown']} ({len(drifted.get('figures', []))} figures); "
                 f"{time.perf_counter() - started:.1f} s in all")
    from gitml.monitor import issue as issue_mod

    breach, title, body = issue_mod.compose(name, work / "shifted")
    if breach:
        lines += ["", f"The issue monitor.yml would open (label `{cfg.monitor.label}`), or update if one is open:", "",
                  f"# {title}", "", body]
    return "\n".join(lines)
