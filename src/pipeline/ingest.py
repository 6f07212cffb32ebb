"""Stage ingest: materialise the raw data chosen in params.yaml as one Parquet file.

A fresh clone with an empty DVC remote reproduces from here: the bundled and
synthetic sources need no download; a CSV must live under data/external/.
"""

from __future__ import annotations

import argparse

from pathlib import Path

import pandas as pd

from pipeline import params as params_mod
from pipeline import sources, stageio
from pipeline.params import DataParams


def ingest(data: DataParams, seed: int, external: Path) -> pd.DataFrame:
    """The raw table for this data source (not yet validated: prepare does that)."""
    if data.source == "breast_cancer":
        return sources.breast_cancer()
    if data.source == "synthetic":
        return sources.synthetic(data, seed)
    return sources.read_csv(external / data.csv.file)


def arg_parser() -> argparse.ArgumentParser:
    ap = stageio.parser(__doc__.splitlines()[0])
    ap.add_argument("--external", default="data/external", help="folder of user-supplied data (a DVC dependency)")
    ap.add_argument("--out", required=True, help="raw data Parquet file to write")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)

    def body() -> None:
        p = params_mod.load(args.params)
        frame = ingest(p.data, p.seed, Path(args.external))
        stageio.write_table(frame, args.out)
        print(f"ingest: {len(frame)} rows x {frame.shape[1]} columns from {p.data.source} -> {args.out}")

    return stageio.run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
