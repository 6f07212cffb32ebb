"""Benchmark of `gitml serve`: single-row latency (p50, p99) and requests per second on loopback, and the
throughput of 1,000-row batches, each against calling the model in the same process (the floor). Prints JSON.

    python bench/serve.py [--model models/model.joblib] [--schema data/prepared/schema.json]
                          [--data data/prepared/test.parquet] [--requests 400] [--batches 30] [--clients 4]

The server runs in a child process (uvicorn, prediction log on); the client here uses keep-alive HTTP/1.1.
In-process and HTTP calls are interleaved row by row, so both see the same machine load. Two models:
- `project`: this project's reproduced model (run `gitml repro` or ./dev demo first);
- `fast`: a logistic regression on the same features, whose own cost is tiny, so the difference is the
  server's own overhead (parsing, schema checks, the frame, JSON, HTTP, logging) with little noise.
Targets: median overhead per single-row request <= 2 ms over in-process; 1,000-row batches >= 50% of the
in-process throughput.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from gitml.serve.app import Runtime
from gitml.serve.metrics import Metrics
from gitml.serve.model_holder import LoadedModel, ModelHolder, load_model
from gitml.serve.predlog import PredictionLog
from gitml.serve.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[1]


def quantiles(xs: list[float]) -> dict[str, float]:
    arr = np.array(xs) * 1000
    return {"p50_ms": round(float(np.median(arr)), 3), "p99_ms": round(float(np.quantile(arr, 0.99)), 3)}


class Client:
    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def post(self, body: bytes) -> dict[str, Any]:
        self.conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise SystemExit(f"server answered {resp.status}: {data[:200]!r}")
        return json.loads(data)


def run_server(model: str, schema: str) -> int:
    """Child process: serve the model on a loopback port, print its URL, stop when stdin closes."""
    loaded = load_model(model, schema, name="model", version="bench")
    with tempfile.TemporaryDirectory() as tmp:
        plog = PredictionLog(Path(tmp) / "predictions.jsonl")
        runtime = Runtime(holder=ModelHolder(loaded), metrics=Metrics("model"), predlog=plog, max_batch=10000)
        with BackgroundServer(runtime) as srv:
            print(srv.url, flush=True)
            sys.stdin.read()
        print(json.dumps({"written": plog.written, "dropped": plog.dropped}), flush=True)
    return 0


def interleaved(loaded: LoadedModel, client: Client, pairs: list[tuple[pd.DataFrame, bytes]]) -> tuple[list[float], list[float]]:
    """(in-process seconds, HTTP seconds) per pair, one after the other, so both see the same machine load."""
    inproc, http = [], []
    for frame, body in pairs:
        t0 = time.perf_counter()
        loaded.predict(frame)
        t1 = time.perf_counter()
        client.post(body)
        inproc.append(t1 - t0)
        http.append(time.perf_counter() - t1)
    return inproc, http


def measure(model_path: str, schema: str, data: pd.DataFrame, requests: int, batches: int, clients: int) -> dict[str, Any]:
    loaded: LoadedModel = load_model(model_path, schema, name="model", version="bench")
    names = loaded.schema.names
    rows = data[names].to_dict(orient="records")
    singles = [rows[i % len(rows)] for i in range(requests)]
    frames = [pd.DataFrame([r], columns=names) for r in singles]
    bodies = [json.dumps({"rows": [r]}).encode() for r in singles]
    batch_rows = [rows[i % len(rows)] for i in range(1000)]
    batch_frame = pd.DataFrame(batch_rows, columns=names)
    batch_body = json.dumps({"rows": batch_rows}).encode()
    child = subprocess.Popen([sys.executable, __file__, "--server-process", "--model", model_path, "--schema", schema],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = child.stdout.readline().strip()  # type: ignore[union-attr]
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the server did not start: {url!r}")
        client = Client(url)
        for f, b in zip(frames[:20], bodies[:20]):  # warm up both
            loaded.predict(f)
            client.post(b)
        inproc, http = interleaved(loaded, client, list(zip(frames, bodies)))
        per_client = max(requests // clients, 1)
        lock = threading.Lock()
        done = [0]

        def worker() -> None:
            c = Client(url)
            for b in bodies[:per_client]:
                c.post(b)
                with lock:
                    done[0] += 1

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rps_concurrent = done[0] / (time.perf_counter() - t0)
        client = Client(url)  # the first connection may have idled past the keep-alive timeout
        answer = client.post(batch_body)
        assert np.allclose(answer["probabilities"], loaded.predict(batch_frame)[1], rtol=0, atol=1e-12)
        inproc_b, http_b = interleaved(loaded, client, [(batch_frame, batch_body)] * batches)
    finally:
        out, _ = child.communicate("", timeout=60)
    overhead = statistics.median(http) - statistics.median(inproc)
    tput_in, tput_http = 1000 / statistics.median(inproc_b), 1000 / statistics.median(http_b)
    est = loaded.model.steps[-1][1] if hasattr(loaded.model, "steps") else loaded.model
    return {
        "model": type(est).__name__,
        "single_row": {
            "requests": requests,
            "in_process": quantiles(inproc),
            "http": quantiles(http),
            "median_overhead_ms": round(overhead * 1000, 3),
            "meets_target_2ms": overhead * 1000 <= 2.0,
            "rps_in_process": round(len(inproc) / sum(inproc), 1),
            "rps_http_1_client": round(len(http) / sum(http), 1),
            f"rps_http_{clients}_clients": round(rps_concurrent, 1),
        },
        "batch_1000": {
            "batches": batches,
            "in_process": quantiles(inproc_b),
            "http": quantiles(http_b),
            "in_process_rows_per_s": round(tput_in),
            "http_rows_per_s": round(tput_http),
            "http_share_of_in_process": round(tput_http / tput_in, 3),
            "meets_target_50pct": tput_http / tput_in >= 0.5,
        },
        "prediction_log": json.loads(out.strip().splitlines()[-1]),
    }


def fast_model(data: pd.DataFrame, target: pd.Series, folder: Path) -> str:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data, target)
    path = folder / "fast.joblib"
    joblib.dump(model, path)
    return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "model.joblib"))
    ap.add_argument("--schema", default=str(ROOT / "data" / "prepared" / "schema.json"))
    ap.add_argument("--data", default=str(ROOT / "data" / "prepared" / "test.parquet"))
    ap.add_argument("--requests", type=int, default=400, help="single-row requests (and as many in-process calls)")
    ap.add_argument("--batches", type=int, default=30, help="1,000-row batches")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients for the requests-per-second figure")
    ap.add_argument("--server-process", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.server_process:
        return run_server(args.model, args.schema)
    for p in (args.model, args.schema, args.data):
        if not Path(p).exists():
            print(f"error: {p} does not exist; run `gitml repro` (or ./dev demo) first", file=sys.stderr)
            return 1
    names = [c["name"] for c in json.loads(Path(args.schema).read_text())["columns"]]
    data = pd.read_parquet(args.data)
    result: dict[str, Any] = {"version": 1, "features": len(names), "rows_source": args.data}
    result["project"] = measure(args.model, args.schema, data, args.requests, args.batches, args.clients)
    with tempfile.TemporaryDirectory() as tmp:
        fast = fast_model(data[names], data[json.loads(Path(args.schema).read_text()).get("target", "target")], Path(tmp))
        result["fast"] = measure(fast, args.schema, data, args.requests, args.batches, args.clients)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
