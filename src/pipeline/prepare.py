"""Stage prepare: validate the raw data against its schema, then a seeded train/test split."""

from __future__ import annotations

import argparse

import json
from pathlib import Path

import pandas as pd

from pipeline import params as params_mod
from pipeline import schema as schema_mod
from pipeline import sources, stageio
from pipeline.params import SplitParams
from pipeline.schema import DataSchema


def prepare(raw: pd.DataFrame, schema: DataSchema, split: SplitParams, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate raw against schema and split it; the target becomes 0/1 in column `target`."""
    from sklearn.model_selection import train_test_split

    schema_mod.validate(raw, schema, source="raw data")
    clean = schema_mod.coerce(raw, schema)
    if schema.target != sources.TARGET:
        clean = clean.rename(columns={schema.target: sources.TARGET})
    train, test = train_test_split(
        clean,
        test_size=split.test_size,
        random_state=seed,
        stratify=clean[sources.TARGET] if split.stratify else None,
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def stats(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Row counts and class balance: what a reviewer wants to see change in a PR."""
    return {
        "version": 1,
        "rows": {"train": len(train), "test": len(test)},
        "features": train.shape[1] - 1,
        "positive_rate": {
            "train": round(float(train[sources.TARGET].mean()), 6),
            "test": round(float(test[sources.TARGET].mean()), 6),
        },
    }


def arg_parser() -> argparse.ArgumentParser:
    ap = stageio.parser(__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True, help="raw data Parquet file (from ingest)")
    ap.add_argument("--external", default="data/external", help="folder of user-supplied data and its schema")
    ap.add_argument("--out", required=True, help="folder to write train.parquet, test.parquet, schema.json, stats.json")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)

    def body() -> None:
        p = params_mod.load(args.params)
        schema = sources.schema_for(p.data, Path(args.external))
        train, test = prepare(stageio.read_table(args.raw), schema, p.split, p.seed)
        served = DataSchema(columns=schema.columns, target=sources.TARGET, classes=(0, 1))
        with stageio.atomic_dir(args.out) as tmp:
            stageio.write_table(train, tmp / "train.parquet")
            stageio.write_table(test, tmp / "test.parquet")
            (tmp / "schema.json").write_text(json.dumps(served.to_dict(), indent=2) + "\n")
            (tmp / "stats.json").write_text(json.dumps(stats(train, test), indent=2, sort_keys=True) + "\n")
        print(f"prepare: {len(train)} train / {len(test)} test rows -> {Path(args.out)}")

    return stageio.run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
