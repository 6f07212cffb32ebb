"""The FastAPI app that serves a model: /predict, /health, /metadata, /metrics and the OpenAPI document.

/predict reads the raw body and checks it against the served schema itself (one
pass, messages that name the row and the feature) instead of building a pydantic
model per request; the OpenAPI document still describes the body exactly, from
the schema of the version being served.
"""

from __future__ import annotations

import re
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from gitml import __version__
from gitml.serve.follower import StageFollower
from gitml.serve.metrics import CONTENT_TYPE, Metrics
from gitml.serve.model_holder import ModelHolder
from gitml.serve.predlog import PredictionLog
from gitml.serve.schema import PayloadError

try:
    import orjson

    def _loads(raw: bytes) -> Any:
        return orjson.loads(raw)

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
except ImportError:  # pragma: no cover - depends on the environment
    import json

    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    def _loads(raw: bytes) -> Any:
        return json.loads(raw, parse_constant=_reject_constant)

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, default=lambda o: o.tolist()).encode()

_INLINE_ROWS = 256
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class Runtime:
    """Everything the app serves with; the app starts and stops the background parts."""

    holder: ModelHolder
    metrics: Metrics
    predlog: PredictionLog | None = None
    follower: StageFollower | None = None
    max_batch: int = 10000
    started: float = field(default_factory=time.time)


class PredictResponse(BaseModel):
    request_id: str
    model: str
    version: str
    predictions: list[Any] = Field(description="Predicted class label per row")
    probabilities: list[list[float]] = Field(description="Probability of each class (in `classes` order) per row")
    classes: list[Any]


class Health(BaseModel):
    status: str
    model: str
    version: str
    stage: str | None
    uptime_seconds: float


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    message: str
    detail: list[ErrorDetail]


class _Observe:
    """Pure ASGI middleware: count every request and time it, labelled with the version that answered."""

    def __init__(self, app: Any, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            state = scope.get("state") or {}
            self.rt.metrics.observe(state.get("gitml_version") or self.rt.holder.current.version, scope["path"], status[0],
                                    time.perf_counter() - started, state.get("gitml_rows", 0))


def create_app(rt: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if rt.predlog is not None:
            rt.predlog.start()
        if rt.follower is not None:
            rt.follower.start()
        try:
            yield
        finally:
            if rt.follower is not None:
                rt.follower.stop()
            if rt.predlog is not None:
                rt.predlog.close()

    app = FastAPI(
        title=f"gitml: {rt.holder.current.name}",
        version=__version__,
        description="Predictions from the model version the registry's stage tag names.",
        lifespan=lifespan,
    )

    app.add_middleware(_Observe, rt=rt)

    def invalid(exc: PayloadError, request_id: str, version: str) -> JSONResponse:
        return JSONResponse({"message": exc.message, "detail": [exc.detail()], "request_id": request_id, "version": version},
                            status_code=422, headers={"X-Request-ID": request_id})

    request_body_schema = {"$ref": "#/components/schemas/PredictRequest"}

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses={422: {"model": ValidationErrorBody, "description": "The rows do not match the model's schema"}},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": request_body_schema}}}},
        summary="Predict a batch of rows",
    )
    async def predict(request: Request) -> Response:
        """Score rows (objects of feature name to value); returns predictions and probabilities with the model version."""
        loaded = rt.holder.current  # this request uses this version to the end, whatever swaps meanwhile
        request.state.gitml_version = loaded.version
        header_id = request.headers.get("x-request-id")
        request_id = header_id if header_id and _REQUEST_ID.match(header_id) else uuid.uuid4().hex
        raw = await request.body()
        try:
            try:
                payload = _loads(raw)
            except ValueError as exc:
                raise PayloadError(f"the request body is not valid JSON: {exc}", ("body",), "json_invalid") from exc
            frame = loaded.schema.parse_payload(payload, rt.max_batch)
            try:
                if len(frame) > _INLINE_ROWS:  # a big batch scores off the event loop: /health stays responsive
                    predictions, proba = await run_in_threadpool(loaded.predict, frame)
                else:  # a small one inline: a thread hop would cost more than the scoring
                    predictions, proba = loaded.predict(frame)
            except ValueError as exc:  # e.g. values the model's numerics cannot take
                raise PayloadError(f"the model cannot score these rows: {exc}", ("body", "rows"), "value_error") from exc
        except PayloadError as exc:
            return invalid(exc, request_id, loaded.version)
        request.state.gitml_rows = len(predictions)
        if rt.predlog is not None:
            rt.predlog.log(request_id, loaded.name, loaded.version, frame, predictions, proba)
        body = {
            "request_id": request_id,
            "model": loaded.name,
            "version": loaded.version,
            "predictions": predictions,
            "probabilities": proba,
            "classes": list(loaded.classes),
        }
        return Response(_dumps(body), media_type="application/json", headers={"X-Request-ID": request_id})

    @app.get("/health", response_model=Health, summary="Liveness and the version served")
    async def health() -> dict[str, Any]:
        cur = rt.holder.current
        return {"status": "ok", "model": cur.name, "version": cur.version, "stage": cur.stage,
                "uptime_seconds": round(time.time() - rt.started, 3)}

    @app.get("/metadata", summary="The served version: name, version, stage, code commit, data hash, offline metrics")
    async def metadata() -> dict[str, Any]:
        cur = rt.holder.current
        md = cur.metadata
        follower = rt.follower
        return {
            "version": 1,
            "name": cur.name,
            "model_version": cur.version,
            "stage": cur.stage,
            "code_commit": md.get("commit"),
            "tag": md.get("tag"),
            "artifact_hash": md.get("artifact_hash"),
            "data_hash": md.get("data_hash"),
            "data": md.get("data", {}),
            "metrics": md.get("metrics", {}),
            "params": md.get("params", {}),
            "schema": cur.schema.to_dict(),
            "classes": list(cur.classes),
            "loaded_at": cur.loaded_at,
            "max_batch": rt.max_batch,
            "following": None if follower is None else {
                "stage": follower.stage, "remote": follower.remote, "interval_seconds": follower.interval,
                "polls": follower.polls, "last_error": follower.last_error,
                "refused": [{"version": v, "commit": c, "reason": why} for (v, c), why in follower.refused.items()],
            },
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def metrics() -> Response:
        text = rt.metrics.render(current=rt.holder.current, predlog=rt.predlog,
                                 swaps=rt.holder.swaps, refusals=rt.holder.refusals)
        return Response(text, media_type=CONTENT_TYPE)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"message": f"internal error: {type(exc).__name__}", "detail": []}, status_code=500)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        cur = rt.holder.current
        if app.openapi_schema is not None and app.openapi_schema.get("x-gitml-version") == cur.version:
            return app.openapi_schema
        app.openapi_schema = None
        doc = base_openapi()
        doc.setdefault("components", {}).setdefault("schemas", {})["PredictRequest"] = cur.schema.request_json_schema(rt.max_batch)
        doc["x-gitml-version"] = cur.version
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
    return app
