"""params.yaml, validated against params.schema.json, as one typed frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.params import load_validated

SCHEMA_PATH = Path(__file__).with_name("params.schema.json")


@dataclass(frozen=True)
class SyntheticParams:
    n_samples: int = 10000
    n_features: int = 30
    n_informative: int = 10
    class_sep: float = 1.0
    positive_share: float = 0.5


@dataclass(frozen=True)
class CsvParams:
    """A user's CSV and its schema, both relative to the external data folder."""

    file: str = "data.csv"
    schema: str = "schema.yaml"


@dataclass(frozen=True)
class DataParams:
    source: str = "breast_cancer"
    synthetic: SyntheticParams = field(default_factory=SyntheticParams)
    csv: CsvParams = field(default_factory=CsvParams)


@dataclass(frozen=True)
class SplitParams:
    test_size: float = 0.2
    stratify: bool = True


@dataclass(frozen=True)
class FeaturizeParams:
    scaler: str = "standard"


@dataclass(frozen=True)
class TrainParams:
    model: str = "random_forest"
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # of the chosen model only


@dataclass(frozen=True)
class EvaluateParams:
    threshold: float = 0.5
    importance_rows: int = 2000


@dataclass(frozen=True)
class Params:
    seed: int
    data: DataParams
    split: SplitParams
    featurize: FeaturizeParams
    train: TrainParams
    evaluate: EvaluateParams


def load(path: str | Path = "params.yaml") -> Params:
    """Validate params.yaml against the schema, then build the typed object."""
    raw = load_validated(path, SCHEMA_PATH)
    data = raw["data"]
    if data["source"] == "synthetic":
        syn = SyntheticParams(**data.get("synthetic", {}))
        if syn.n_informative > syn.n_features:
            from gitml.errors import GitmlError

            raise GitmlError(
                f"{Path(path).name}: data.synthetic.n_informative = {syn.n_informative} is invalid: "
                f"expected at most data.synthetic.n_features ({syn.n_features})"
            )
    train = raw["train"]
    return Params(
        seed=raw["seed"],
        data=DataParams(
            source=data["source"],
            synthetic=SyntheticParams(**data.get("synthetic", {})),
            csv=CsvParams(**data.get("csv", {})),
        ),
        split=SplitParams(**raw["split"]),
        featurize=FeaturizeParams(**raw["featurize"]),
        train=TrainParams(model=train["model"], hyperparameters=dict(train.get(train["model"], {}))),
        evaluate=EvaluateParams(**raw["evaluate"]),
    )
