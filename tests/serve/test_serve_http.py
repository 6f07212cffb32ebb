"""The server with the real example model over real HTTP on loopback."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from gitml.serve import server
from gitml.serve.predlog import log_files

MAX_BATCH = 200


def call(url: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
            status = resp.status
            ctype = resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        text, status, ctype = exc.read(), exc.code, exc.headers.get("Content-Type", "")
    return status, (json.loads(text) if "json" in ctype else text.decode())


@pytest.fixture(scope="module")
def live(served: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    logdir = tmp_path_factory.mktemp("predlog")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(logdir))
        runtime = server.build_runtime(served.repo, "model", stage="prod", cache_dir=served.cache, poll_seconds=3600,
                                       log_path=str(logdir / "predictions.jsonl"), max_batch=MAX_BATCH)
    with server.BackgroundServer(runtime) as srv:
        yield srv


@pytest.fixture(scope="module")
def test_rows(served: Any) -> pd.DataFrame:
    return pd.read_parquet(served.repo / "data" / "prepared" / "test.parquet").drop(columns="target")


def test_predictions_equal_offline_predictions(live: Any, served: Any, test_rows: pd.DataFrame) -> None:
    model = joblib.load(served.repo / "models" / "model.joblib")
    offline = model.predict_proba(test_rows)
    status, body = call(live.url + "/predict", {"rows": test_rows.to_dict(orient="records")})
    assert status == 200, body
    assert body["version"] == "v1.0.0" and body["model"] == "model"
    # equal up to the summation order of the forest's parallel trees (n_jobs=-1): 1e-17, not a different answer
    np.testing.assert_allclose(np.array(body["probabilities"]), offline, rtol=0, atol=1e-12)
    assert body["predictions"] == model.predict(test_rows).tolist()
    for i in (0, 7):  # single rows give the same answers as the batch
        status, one = call(live.url + "/predict", {"rows": [test_rows.iloc[i].to_dict()]})
        assert status == 200 and one["predictions"] == [body["predictions"][i]]
        np.testing.assert_allclose(one["probabilities"], [offline[i]], rtol=0, atol=1e-12)


def _row(test_rows: pd.DataFrame) -> dict[str, Any]:
    return test_rows.iloc[0].to_dict()


BAD = {
    "missing feature": (lambda r: {"rows": [{k: v for k, v in r.items() if k != "mean_radius"}]},
                        "rows[0]: missing feature 'mean_radius'"),
    "wrong type": (lambda r: {"rows": [{**r, "mean_texture": "high"}]},
                   "rows[0].mean_texture: expected a number (float), got string \"high\""),
    "boolean": (lambda r: {"rows": [r, {**r, "mean_area": True}]}, "rows[1].mean_area: expected a number (float), got boolean"),
    "null": (lambda r: {"rows": [{**r, "mean_area": None}]}, "rows[0].mean_area: null is not allowed"),
    "extra field": (lambda r: {"rows": [{**r, "patient_id": 7}]}, "rows[0]: unexpected field 'patient_id'"),
    "extra top-level field": (lambda r: {"rows": [r], "debug": True}, "unexpected field 'debug' in the request"),
    "empty batch": (lambda r: {"rows": []}, "'rows' is empty: send 1 to 200 rows"),
    "oversized batch": (lambda r: {"rows": [r] * (MAX_BATCH + 1)}, "'rows' holds 201 rows; at most 200 are allowed"),
    "no rows": (lambda r: {"data": [r]}, "unexpected field 'data'"),
    "not an object": (lambda r: [r], "expected a JSON object with a 'rows' list, got array"),
    "row not an object": (lambda r: {"rows": [[1, 2, 3]]}, "rows[0] must be an object"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_payload_is_422_naming_the_problem(live: Any, test_rows: pd.DataFrame, case: str) -> None:
    make, message = BAD[case]
    status, body = call(live.url + "/predict", make(_row(test_rows)))
    assert status == 422, body
    assert message in body["message"], body
    assert body["detail"][0]["msg"] == body["message"]


def test_invalid_json_is_422(live: Any) -> None:
    status, body = call(live.url + "/predict", raw=b'{"rows": [')
    assert status == 422 and "not valid JSON" in body["message"]


def test_health_metadata_metrics_openapi(live: Any, served: Any, test_rows: pd.DataFrame) -> None:
    status, health = call(live.url + "/health")
    assert status == 200 and health["version"] == "v1.0.0" and health["stage"] == "prod"
    status, md = call(live.url + "/metadata")
    tag_commit = served.repo.joinpath(".git").exists() and __import__("subprocess").run(
        ["git", "rev-parse", "model@v1.0.0^{commit}"], cwd=served.repo, capture_output=True, text=True).stdout.strip()
    assert md["name"] == "model" and md["model_version"] == "v1.0.0" and md["stage"] == "prod"
    assert md["code_commit"] == tag_commit
    assert md["data_hash"] and md["data_hash"].endswith(".dir")
    offline = json.loads((served.repo / "reports" / "metrics.json").read_text())
    assert md["metrics"]["roc_auc"] == pytest.approx(offline["roc_auc"])
    call(live.url + "/predict", {"rows": [_row(test_rows)]})
    call(live.url + "/predict", {"rows": []})
    status, text = call(live.url + "/metrics")
    assert status == 200
    assert 'gitml_requests_total{model="model",version="v1.0.0",path="/predict",status="200"}' in text
    assert 'gitml_request_errors_total{model="model",version="v1.0.0",path="/predict",kind="invalid"}' in text
    assert 'gitml_request_duration_seconds_bucket{model="model",version="v1.0.0",le="+Inf"}' in text
    assert 'gitml_model_info{model="model",version="v1.0.0",stage="prod"' in text
    status, doc = call(live.url + "/openapi.json")
    body_schema = doc["components"]["schemas"]["PredictRequest"]
    assert body_schema["properties"]["rows"]["maxItems"] == MAX_BATCH
    assert set(body_schema["properties"]["rows"]["items"]["required"]) == set(test_rows.columns)


def test_every_prediction_is_logged(live: Any, test_rows: pd.DataFrame) -> None:
    status, body = call(live.url + "/predict", {"rows": test_rows.head(3).to_dict(orient="records")})
    assert status == 200
    path = live.runtime.predlog.path
    deadline = time.monotonic() + 10
    record = None
    while record is None and time.monotonic() < deadline:
        for f in log_files(path):
            for line in f.read_text().splitlines():
                r = json.loads(line)
                if r["request_id"] == body["request_id"]:
                    record = r
        time.sleep(0.05)
    assert record is not None, "the request never reached the prediction log"
    assert record["version"] == "v1.0.0" and record["predictions"] == body["predictions"]
    assert record["probabilities"] == body["probabilities"]
    assert record["inputs"]["mean_radius"] == test_rows["mean_radius"].head(3).tolist()


def test_openapi_fuzzing_finds_no_server_error(live: Any) -> None:
    """Schemathesis generates requests from the served OpenAPI document (valid and invalid); none gets a 5xx."""
    api = schemathesis.openapi.from_url(live.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /predict", "GET /health", "GET /metadata", "GET /metrics"}
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=25 if op.method.upper() == "POST" else 3, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        fuzz()
