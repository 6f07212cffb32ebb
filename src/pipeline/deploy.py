"""Deploy command of the example project (`[tool.gitml.registry].deploy`).

Run by `gitml registry deploy` with the fetched artifact in GITML_ARTIFACT_PATH: it
checks the model loads and predicts, then installs it atomically as
DEPLOY_DIR/ARTIFACT/STAGE/model.joblib with a release.json naming the version, so
a server reading that folder always sees one whole release.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from gitml.errors import GitmlError
from gitml.fsutil import write_bytes_atomic, write_json_atomic

DEFAULT_DIR = "~/.cache/gitml/deployments"


def smoke_test(model_path: Path) -> int:
    """Load the model and predict one all-zero row; return the number of features it takes."""
    import joblib
    import pandas as pd

    try:
        model = joblib.load(model_path)
        names = list(model.feature_names_in_)
        model.predict_proba(pd.DataFrame([[0.0] * len(names)], columns=names))
    except Exception as exc:  # any failure means: do not deploy this file
        raise GitmlError(f"{model_path} is not a working model: {exc}") from exc
    return len(names)


def deploy(model_path: Path, target: Path, release: dict[str, str]) -> Path:
    smoke_test(model_path)
    write_bytes_atomic(target / "model.joblib", model_path.read_bytes())
    write_json_atomic(target / "release.json", {"version": 1, **release})
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.environ.get("GITML_DEPLOY_DIR", DEFAULT_DIR),
                    help="deployments folder (default: $GITML_DEPLOY_DIR or ~/.cache/gitml/deployments)")
    args = ap.parse_args(argv)
    try:
        env = {k: os.environ[k] for k in ("GITML_ARTIFACT", "GITML_VERSION", "GITML_STAGE", "GITML_COMMIT",
                                          "GITML_ARTIFACT_PATH")}
    except KeyError as exc:
        print(f"error: {exc.args[0]} is not set; run this through `gitml registry deploy`", file=sys.stderr)
        return 1
    target = Path(args.dir).expanduser() / env["GITML_ARTIFACT"] / env["GITML_STAGE"]
    release = {"artifact": env["GITML_ARTIFACT"], "model_version": env["GITML_VERSION"],
               "stage": env["GITML_STAGE"], "commit": env["GITML_COMMIT"]}
    try:
        deploy(Path(env["GITML_ARTIFACT_PATH"]), target, release)
    except GitmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"deployed {env['GITML_ARTIFACT']} {env['GITML_VERSION']} ({env['GITML_STAGE']}) to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
