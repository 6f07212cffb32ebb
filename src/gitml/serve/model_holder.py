"""The model being served, and its atomic swap.

A request reads `holder.current` once and uses that LoadedModel to the end, so a
swap (one reference assignment under a lock) never changes a model under a
request in flight: no request fails or mixes versions during a swap.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gitml.errors import GitmlError
from gitml.serve.schema import ServedSchema


class ModelRejected(GitmlError):
    """A model version failed to load or failed its check; it is not served."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    model: Any
    schema: ServedSchema
    classes: tuple[Any, ...]
    stage: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.time)

    def predict(self, frame: Any) -> tuple[list[Any], np.ndarray]:
        """(predicted class labels, class probabilities) for the rows of frame."""
        with np.errstate(all="ignore"):  # extreme inputs: the model's own checks raise ValueError
            proba = np.asarray(self.model.predict_proba(frame), dtype=np.float64)
        idx = proba.argmax(axis=1)
        classes = self.classes
        return [classes[i] for i in idx.tolist()], proba


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def check_model(model: Any, schema: ServedSchema, source: str) -> tuple[Any, ...]:
    """Refuse a model that cannot serve this schema; return its class labels."""
    if not hasattr(model, "predict_proba"):
        raise ModelRejected(f"{source}: the model has no predict_proba", hint="serve a probabilistic classifier")
    expected = getattr(model, "feature_names_in_", None)
    if expected is not None:
        want, have = [str(x) for x in expected], schema.names
        if set(want) != set(have):
            missing = sorted(set(want) - set(have))
            extra = sorted(set(have) - set(want))
            raise ModelRejected(
                f"{source}: the model's features do not match the served schema"
                + (f" (the schema lacks {missing[0]!r})" if missing else f" (the model does not take {extra[0]!r})"),
                hint="serve the schema recorded with the model's training data",
            )
    try:
        proba = np.asarray(model.predict_proba(schema.probe_frame()), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any failure to score means the version is refused
        raise ModelRejected(f"{source}: the model failed to score a probe row: {type(exc).__name__}: {exc}") from exc
    if proba.ndim != 2 or proba.shape[0] != 1 or not np.isfinite(proba).all() or abs(proba.sum() - 1.0) > 1e-6:
        raise ModelRejected(f"{source}: the model's predict_proba returned {proba!r}; expected one row of probabilities")
    model_classes = getattr(model, "classes_", None)
    classes = tuple(_plain(c) for c in model_classes) if model_classes is not None else tuple(schema.classes)
    if len(classes) != proba.shape[1]:
        raise ModelRejected(f"{source}: the model scores {proba.shape[1]} classes but names {len(classes)}")
    return classes


def load_model(
    model_path: str | Path,
    schema_path: str | Path,
    *,
    name: str,
    version: str,
    stage: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> LoadedModel:
    """Load a joblib model and its served schema, and check that it scores; ModelRejected otherwise."""
    import joblib

    source = f"{name} {version}"
    try:
        schema = ServedSchema.load(schema_path)
    except GitmlError as exc:
        raise ModelRejected(f"{source}: {exc}") from exc
    try:
        model = joblib.load(model_path)
    except Exception as exc:  # noqa: BLE001 - a model that does not load is refused, whatever the reason
        raise ModelRejected(f"{source}: the model file {model_path} does not load: {type(exc).__name__}: {exc}") from exc
    single_threaded(model)
    classes = check_model(model, schema, source)
    return LoadedModel(name, version, model, schema, classes, stage, dict(metadata or {}))


def single_threaded(model: Any) -> None:
    """Score each request on one thread: the server runs requests in parallel, and a thread pool per
    small predict call (scikit-learn's n_jobs=-1) costs more than it saves (a 200-tree forest: 36 ms
    a row with n_jobs=-1, 12 ms with 1, on 2 cores). Results do not change."""
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return
    try:
        keys = [k for k in get_params(deep=True) if k == "n_jobs" or k.endswith("__n_jobs")]
        if keys:
            model.set_params(**dict.fromkeys(keys, 1))
    except Exception:  # noqa: BLE001 - a model that cannot take the setting is served as it is
        return


class ModelHolder:
    """Holds the served model; `swap` replaces it atomically."""

    def __init__(self, initial: LoadedModel) -> None:
        self._current = initial
        self._lock = threading.Lock()
        self.swaps = 0
        self.refusals = 0

    @property
    def current(self) -> LoadedModel:
        return self._current

    def swap(self, new: LoadedModel) -> LoadedModel:
        """Serve `new` from now on; return the model it replaced."""
        with self._lock:
            old, self._current = self._current, new
            self.swaps += 1
        return old

    def refused(self) -> None:
        with self._lock:
            self.refusals += 1
