"""Serving a registered model over HTTP: `gitml serve NAME --stage prod`.

The model is fetched through the registry, checked, and served by a FastAPI app
(the `serve` extra). A follower polls the git remote's tags and swaps in the new
version when the stage tag moves. FastAPI and uvicorn are imported only by `app`
and `server`, so importing this package is cheap and does no I/O.
"""
