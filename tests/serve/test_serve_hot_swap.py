"""Following the stage: a promotion swaps the served version under load, and a broken version is refused."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from served_project import copy

from gitml.registry import api
from gitml.serve import server


def _post(url: str, body: bytes) -> tuple[int, str | None]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())["version"]
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError as exc:  # a refused or reset connection is a failed request too
        return -1, str(exc)


def test_promotion_swaps_version_under_concurrent_load_without_a_failed_request(served: Any, tmp_path: Path) -> None:
    proj = copy(served, tmp_path)
    rows = pd.read_parquet(proj.repo / "data" / "prepared" / "test.parquet").drop(columns="target").head(5)
    body = json.dumps({"rows": rows.to_dict(orient="records")}).encode()
    runtime = server.build_runtime(proj.repo, "model", stage="prod", cache_dir=proj.cache, poll_seconds=0.2, log_path="")
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    stop = threading.Event()

    with server.BackgroundServer(runtime) as srv:

        def client() -> None:  # bounded: stops when told, after 1500 requests, or after 60 s
            deadline = time.monotonic() + 60
            for _ in range(1500):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                r = _post(srv.url + "/predict", body)
                with lock:
                    results.append(r)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        while len(results) < 40 and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        promoted = api.promote(proj.promoter(tmp_path), "model", "v1.1.0", "prod", push=True)
        assert promoted.tag and promoted.pushed
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not any(v == "v1.1.0" for _, v in list(results)):
            time.sleep(0.05)
        seen_new = len(results)
        while len(results) < seen_new + 40 and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(60)

    statuses = Counter(s for s, _ in results)
    versions = Counter(v for _, v in results)
    assert statuses == {200: len(results)}, f"failed requests: {statuses}"
    assert versions["v1.0.0"] >= 40 and versions["v1.1.0"] >= 1, versions
    assert runtime.holder.current.version == "v1.1.0" and runtime.holder.swaps == 1
    last = [v for _, v in results[-20:]]
    assert set(last) == {"v1.1.0"}, "after the swap, requests are answered by the new version"


def test_a_version_that_fails_to_load_is_refused_and_the_old_one_keeps_serving(served: Any, tmp_path: Path) -> None:
    proj = copy(served, tmp_path)
    cache = tmp_path / "cache"
    shutil.copytree(proj.cache, cache)
    broken = cache / "model" / "v1.1.0"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "model").write_bytes(b"not a model")
    shutil.copy(cache / "model" / "v1.0.0" / "schema.json", broken / "schema.json")
    (broken / ".ready").touch()
    runtime = server.build_runtime(proj.repo, "model", stage="prod", cache_dir=cache, poll_seconds=3600, log_path="")
    follower = runtime.follower
    assert follower.poll_once() is None  # nothing moved
    api.promote(proj.promoter(tmp_path), "model", "v1.1.0", "prod", push=True)
    assert follower.poll_once() is None
    assert runtime.holder.current.version == "v1.0.0"
    assert runtime.holder.refusals == 1
    (why,) = follower.refused.values()
    assert "v1.1.0" in why and "does not load" in why
    assert follower.poll_once() is None and runtime.holder.refusals == 1  # not retried until the tags move again
    rows = pd.read_parquet(proj.repo / "data" / "prepared" / "test.parquet").drop(columns="target").head(1)
    with server.BackgroundServer(runtime) as srv:
        status, version = _post(srv.url + "/predict", json.dumps({"rows": rows.to_dict(orient="records")}).encode())
        metrics = urllib.request.urlopen(srv.url + "/metrics", timeout=10).read().decode()
    assert (status, version) == (200, "v1.0.0")
    assert 'gitml_model_refusals_total{model="model"} 1' in metrics
