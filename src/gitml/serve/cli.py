"""`gitml serve NAME --stage prod`: parses, builds the runtime, runs the server."""

from __future__ import annotations

import click


@click.command("serve")
@click.argument("name")
@click.option("--stage", default=None, help="Serve the version in this stage and follow the stage tag (e.g. prod).")
@click.option("--version", "version", default=None, help="Serve this version (e.g. v1.2.0); no following.")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory (a clone with the registry tags).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--poll", "poll", type=click.FloatRange(min=0.1), default=None,
              help="Seconds between checks of the stage tag on the git remote (default: [tool.gitml.serve].poll_seconds).")
@click.option("--remote", default=None, help="Git remote to poll for tags (default: [tool.gitml.registry].remote).")
@click.option("--log", "log_path", default=None,
              help="Prediction log file (JSON Lines; default: [tool.gitml.serve].log); '' disables it.")
@click.option("--max-batch", type=click.IntRange(min=1), default=None, help="Most rows per request (default: [tool.gitml.serve].max_batch).")
def serve(name: str, stage: str | None, version: str | None, repo: str, host: str, port: int, poll: float | None,
          remote: str | None, log_path: str | None, max_batch: int | None) -> None:
    """Serve a registered model over HTTP (POST /predict, GET /health, /metadata, /metrics, /docs).

    The artifact is fetched through the registry; with --stage, the server follows the stage tag and swaps in a
    newly promoted version without failing a request. Needs the `serve` extra: pip install 'gitml[serve]'.
    """
    from gitml.serve import server

    runtime = server.build_runtime(repo, name, stage=stage, version=version, log_path=log_path,
                                   poll_seconds=poll, remote=remote, max_batch=max_batch)
    cur = runtime.holder.current
    click.echo(f"serving {cur.name} {cur.version}" + (f" ({stage}, following the stage tag)" if stage else "")
               + f" on http://{host}:{port}", err=True)
    server.serve_forever(runtime, host=host, port=port)
