"""Where the raw data comes from, and the schema it is declared to have."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from gitml.errors import GitmlError
from pipeline.params import DataParams
from pipeline.schema import Column, DataSchema

TARGET = "target"


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def breast_cancer() -> pd.DataFrame:
    """scikit-learn's bundled Wisconsin breast-cancer set; target 1 = benign."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns=_snake)
    return frame


def synthetic(p: DataParams, seed: int) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    s = p.synthetic
    x, y = make_classification(
        n_samples=s.n_samples,
        n_features=s.n_features,
        n_informative=s.n_informative,
        n_redundant=min(2, s.n_features - s.n_informative),
        class_sep=s.class_sep,
        weights=[1 - s.positive_share],
        flip_y=0.01,
        random_state=seed,
    )
    width = len(str(s.n_features - 1))
    frame = pd.DataFrame(x, columns=[f"f{i:0{width}d}" for i in range(s.n_features)])
    frame[TARGET] = y
    return frame


def read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise GitmlError(f"data file {path} does not exist", hint="put your CSV there or fix data.csv.file in params.yaml")
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise GitmlError(f"{path} is empty: expected a header row and data rows") from exc
    except pd.errors.ParserError as exc:
        raise GitmlError(f"{path} is not a valid CSV file: {exc}") from exc


def schema_for(p: DataParams, external: Path) -> DataSchema:
    """The schema the raw data of this source is declared to have (a CSV's lies in `external`)."""
    if p.source == "csv":
        return DataSchema.load(external / p.csv.schema)
    if p.source == "breast_cancer":
        names = [c for c in breast_cancer_columns()]
        return DataSchema(columns=tuple(Column(n, "float", min=0.0) for n in names), target=TARGET)
    width = len(str(p.synthetic.n_features - 1))
    cols = tuple(Column(f"f{i:0{width}d}") for i in range(p.synthetic.n_features))
    return DataSchema(columns=cols, target=TARGET)


def breast_cancer_columns() -> list[str]:
    from sklearn.datasets import load_breast_cancer

    return [_snake(n) for n in load_breast_cancer().feature_names]
