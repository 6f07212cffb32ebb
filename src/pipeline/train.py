"""Stage train: fit the classifier chosen in params.yaml; save featurizer + model as one pipeline.

The saved object maps raw feature columns to predictions, so what is evaluated
is exactly what is served.
"""

from __future__ import annotations

import argparse

from typing import Any

import pandas as pd

from pipeline import params as params_mod
from pipeline import sources, stageio
from pipeline.params import TrainParams


def make_estimator(p: TrainParams, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    hp = dict(p.hyperparameters)
    if p.model == "logistic_regression":
        return LogisticRegression(random_state=seed, **hp)
    if p.model == "random_forest":
        return RandomForestClassifier(random_state=seed, n_jobs=-1, **hp)
    return HistGradientBoostingClassifier(random_state=seed, early_stopping=False, **hp)


def train(features: pd.DataFrame, featurizer: Any, p: TrainParams, seed: int) -> Any:
    """Fit the estimator on transformed features; return Pipeline(featurizer, estimator)."""
    from sklearn.pipeline import Pipeline

    x = features.drop(columns=[sources.TARGET])
    estimator = make_estimator(p, seed).fit(x, features[sources.TARGET].to_numpy())
    if "n_jobs" in estimator.get_params():
        # Fit on every core; predict on one: small predict calls (serving, permutation importance)
        # are several times faster without a thread pool, and the predictions are the same.
        estimator.set_params(n_jobs=1)
    return Pipeline([("features", featurizer), ("model", estimator)])


def arg_parser() -> argparse.ArgumentParser:
    ap = stageio.parser(__doc__.splitlines()[0])
    ap.add_argument("--features", required=True, help="training features Parquet file (from featurize)")
    ap.add_argument("--featurizer", required=True, help="fitted featurizer (from featurize)")
    ap.add_argument("--out", required=True, help="model file (joblib) to write")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)

    def body() -> None:
        import joblib

        p = params_mod.load(args.params)
        model = train(stageio.read_table(args.features), joblib.load(args.featurizer), p.train, p.seed)
        stageio.dump_joblib(model, args.out)
        print(f"train: {p.train.model} {p.train.hyperparameters} -> {args.out}")

    return stageio.run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
