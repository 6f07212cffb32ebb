"""Stage featurize: fit the feature transformer on the training split and transform it."""

from __future__ import annotations

import argparse

import pandas as pd

from pipeline import params as params_mod
from pipeline import sources, stageio
from pipeline.params import FeaturizeParams


def make_featurizer(p: FeaturizeParams):
    from sklearn.preprocessing import FunctionTransformer, RobustScaler, StandardScaler

    transformer = {
        "standard": StandardScaler,
        "robust": RobustScaler,
        "none": lambda: FunctionTransformer(feature_names_out="one-to-one"),
    }[p.scaler]()
    return transformer.set_output(transform="pandas")


def featurize(train: pd.DataFrame, p: FeaturizeParams):
    """The fitted featurizer and the transformed training table (target kept last)."""
    x = train.drop(columns=[sources.TARGET])
    featurizer = make_featurizer(p).fit(x)
    features = featurizer.transform(x)
    features[sources.TARGET] = train[sources.TARGET].to_numpy()
    return featurizer, features


def arg_parser() -> argparse.ArgumentParser:
    ap = stageio.parser(__doc__.splitlines()[0])
    ap.add_argument("--prepared", required=True, help="folder with train.parquet (from prepare)")
    ap.add_argument("--out", required=True, help="training features Parquet file to write")
    ap.add_argument("--featurizer", required=True, help="fitted featurizer (joblib) to write")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)

    def body() -> None:
        p = params_mod.load(args.params)
        featurizer, features = featurize(stageio.read_table(f"{args.prepared}/train.parquet"), p.featurize)
        stageio.write_table(features, args.out)
        stageio.dump_joblib(featurizer, args.featurizer)
        print(f"featurize: {p.featurize.scaler} scaling of {features.shape[1] - 1} features -> {args.out}")

    return stageio.run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
