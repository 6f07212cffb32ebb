"""Putting it together: build the runtime from the project's config, and run uvicorn (blocking or in a thread)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml.errors import GitmlError
from gitml.registry.settings import load as registry_settings
from gitml.serve.follower import StageFollower, sync_tags
from gitml.serve.loader import prepare_version
from gitml.serve.metrics import Metrics
from gitml.serve.model_holder import ModelHolder
from gitml.serve.predlog import PredictionLog


# The standard asyncio loop, even where uvloop is installed: measured with bench/serve.py, a scikit-learn
# forest predicting with n_jobs=-1 inside a uvloop loop took ~10 ms longer per single-row request.
LOOP = "asyncio"


def require_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise GitmlError("serving needs FastAPI and uvicorn, which are not installed",
                         hint="pip install 'gitml[serve]'")


def build_runtime(
    repo: str | os.PathLike[str],
    name: str,
    *,
    stage: str | None = None,
    version: str | None = None,
    log_path: str | None = None,
    poll_seconds: float | None = None,
    remote: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_batch: int | None = None,
) -> Any:
    """The Runtime for `gitml serve`: the first version loaded, the prediction log, and a follower when serving a stage."""
    require_extra()
    from gitml.serve.app import Runtime

    cfg = config_mod.load(repo)
    root = cfg.root
    scfg = cfg.serve
    if (stage is None) == (version is None):
        raise GitmlError("give exactly one of --stage or --version", hint="e.g. gitml serve model --stage prod")

    def prepare(v: str) -> Any:
        return prepare_version(root, name, v, stage=stage, schema_path=scfg.schema, cache_dir=cache_dir)

    from gitml.registry import api as registry

    remote = remote or registry_settings(root).remote
    if stage is not None:  # the remote may have moved the stage since the last fetch
        sync_tags(root, name, remote)

    first = registry.resolve(root, name, version=version, stage=stage)
    holder = ModelHolder(prepare(first.version))
    path = scfg.log if log_path is None else log_path
    predlog = None
    if path:
        full = Path(path) if Path(path).is_absolute() else root / path
        predlog = PredictionLog(full, max_bytes=scfg.log_max_bytes, backups=scfg.log_backups, queue_size=scfg.log_queue)
    follower = None
    if stage is not None:
        follower = StageFollower(root, name, stage, holder, prepare, remote=remote,
                                 interval=scfg.poll_seconds if poll_seconds is None else poll_seconds)
    return Runtime(holder=holder, metrics=Metrics(name), predlog=predlog, follower=follower,
                   max_batch=max_batch or scfg.max_batch)


def serve_forever(runtime: Any, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    from gitml.serve.app import create_app

    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info", access_log=False, loop=LOOP)


class BackgroundServer:
    """Uvicorn in a thread on a loopback port (tests, benchmarks, the demo)."""

    def __init__(self, runtime: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        require_extra()
        import uvicorn

        from gitml.serve.app import create_app

        self.runtime = runtime
        self.app = create_app(runtime)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level="warning",
                                                     access_log=False, lifespan="on", loop=LOOP))
        self._thread = threading.Thread(target=self._server.run, name="gitml-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        sock = self._server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise GitmlError("the server did not start", hint="see its log above")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
