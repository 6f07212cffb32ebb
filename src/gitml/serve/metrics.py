"""Prometheus metrics, in the text exposition format, written by hand (no client library needed).

Requests, errors and a latency histogram, each labelled with the model version
that answered; plus the state of the prediction log and of model swaps.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from typing import Any

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _labels(pairs: dict[str, Any]) -> str:
    def esc(v: Any) -> str:
        return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in pairs.items()) + "}" if pairs else ""


class Metrics:
    def __init__(self, model: str) -> None:
        self.model = model
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)  # (version, path, status)
        self.errors: dict[tuple[str, str, str], int] = defaultdict(int)  # (version, path, kind)
        self.rows: dict[str, int] = defaultdict(int)
        self.hist: dict[str, list[int]] = {}
        self.hist_sum: dict[str, float] = defaultdict(float)
        self.hist_count: dict[str, int] = defaultdict(int)

    def observe(self, version: str, path: str, status: int, seconds: float, rows: int = 0) -> None:
        with self._lock:
            self.requests[(version, path, str(status))] += 1
            if status >= 400:
                self.errors[(version, path, "invalid" if status < 500 else "server")] += 1
            if path == "/predict":
                if rows:
                    self.rows[version] += rows
                counts = self.hist.get(version)
                if counts is None:
                    counts = self.hist[version] = [0] * (len(BUCKETS) + 1)
                counts[bisect.bisect_left(BUCKETS, seconds)] += 1
                self.hist_sum[version] += seconds
                self.hist_count[version] += 1

    def render(self, *, current: Any, predlog: Any = None, swaps: int = 0, refusals: int = 0) -> str:
        m = {"model": self.model}
        out: list[str] = []

        def head(name: str, kind: str, text: str) -> None:
            out.append(f"# HELP {name} {text}")
            out.append(f"# TYPE {name} {kind}")

        with self._lock:
            head("gitml_requests_total", "counter", "HTTP requests by model version, path and status.")
            for (v, p, s), n in sorted(self.requests.items()):
                out.append(f"gitml_requests_total{_labels({**m, 'version': v, 'path': p, 'status': s})} {n}")
            head("gitml_request_errors_total", "counter", "Failed requests by model version, path and kind (invalid: 4xx, server: 5xx).")
            for (v, p, k), n in sorted(self.errors.items()):
                out.append(f"gitml_request_errors_total{_labels({**m, 'version': v, 'path': p, 'kind': k})} {n}")
            head("gitml_predicted_rows_total", "counter", "Rows scored by model version.")
            for v, n in sorted(self.rows.items()):
                out.append(f"gitml_predicted_rows_total{_labels({**m, 'version': v})} {n}")
            head("gitml_request_duration_seconds", "histogram", "Latency of /predict by model version.")
            for v, counts in sorted(self.hist.items()):
                acc = 0
                for le, c in zip(BUCKETS, counts):
                    acc += c
                    out.append(f"gitml_request_duration_seconds_bucket{_labels({**m, 'version': v, 'le': repr(le)})} {acc}")
                acc += counts[-1]
                out.append(f"gitml_request_duration_seconds_bucket{_labels({**m, 'version': v, 'le': '+Inf'})} {acc}")
                out.append(f"gitml_request_duration_seconds_sum{_labels({**m, 'version': v})} {self.hist_sum[v]:.6f}")
                out.append(f"gitml_request_duration_seconds_count{_labels({**m, 'version': v})} {self.hist_count[v]}")
        head("gitml_model_info", "gauge", "The model version being served (value 1).")
        info = {**m, "version": current.version, "stage": current.stage or "", "commit": current.metadata.get("commit", "")}
        out.append(f"gitml_model_info{_labels(info)} 1")
        head("gitml_model_swaps_total", "counter", "Model versions swapped in after the stage tag moved.")
        out.append(f"gitml_model_swaps_total{_labels(m)} {swaps}")
        head("gitml_model_refusals_total", "counter", "Model versions refused because they failed to fetch, load or score.")
        out.append(f"gitml_model_refusals_total{_labels(m)} {refusals}")
        if predlog is not None:
            head("gitml_prediction_log_records_total", "counter", "Prediction log records by outcome.")
            for outcome, n in (("written", predlog.written), ("dropped", predlog.dropped), ("failed", predlog.write_errors)):
                out.append(f"gitml_prediction_log_records_total{_labels({**m, 'outcome': outcome})} {n}")
        return "\n".join(out) + "\n"
