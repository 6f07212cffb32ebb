"""params.yaml validation: each kind of mistake gets a message naming key, value and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitml.errors import GitmlError
from pipeline import params as params_mod

ROOT = Path(__file__).resolve().parents[1]


def write_params(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    edit(data)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults_load_into_typed_frozen_object():
    p = params_mod.load(ROOT / "params.yaml")
    assert p.data.source == "breast_cancer"
    assert p.train.model in {"logistic_regression", "random_forest", "hist_gradient_boosting"}
    with pytest.raises(AttributeError):
        p.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["train"].update(learnin_rate=0.1), "unknown key train.learnin_rate"),
        (lambda d: d.update(sede=1), "unknown key sede"),
        (lambda d: d["train"]["random_forest"].update(n_estimators="many"),
         "train.random_forest.n_estimators = 'many' is invalid: expected a value of type integer"),
        (lambda d: d["train"]["random_forest"].update(n_estimators=0),
         "train.random_forest.n_estimators = 0 is invalid: expected a number >= 1"),
        (lambda d: d["split"].update(test_size=1.5), "split.test_size = 1.5 is invalid: expected a number < 1"),
        (lambda d: d["train"].update(model="svm"), "train.model = 'svm' is invalid: expected one of"),
        (lambda d: d["data"].update(source="kaggle"), "data.source = 'kaggle' is invalid"),
        (lambda d: d.pop("train"), "missing key train"),
    ],
)
def test_bad_params_name_key_value_and_expectation(tmp_path, edit, expected):
    path = write_params(tmp_path, edit)
    with pytest.raises(GitmlError) as info:
        params_mod.load(path)
    assert expected in str(info.value)


def test_cross_field_rule_is_checked(tmp_path):
    def edit(d):
        d["data"].update(source="synthetic", synthetic={"n_features": 5, "n_informative": 8})

    with pytest.raises(GitmlError, match="n_informative = 8 is invalid: expected at most data.synthetic.n_features"):
        params_mod.load(write_params(tmp_path, edit))


def test_yaml_syntax_error_is_clear(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(GitmlError, match="params.yaml is not valid YAML"):
        params_mod.load(path)
