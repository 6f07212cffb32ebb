"""Data checked against its declared schema in prepare; bad data leaves earlier outputs untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import ingest, prepare, sources

ROOT = Path(__file__).resolve().parents[1]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def csv_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work dir with params for the csv source, a good CSV and its schema."""
    monkeypatch.chdir(tmp_path)
    frame = sources.breast_cancer().head(120)
    (tmp_path / "data/external").mkdir(parents=True)
    frame.to_csv("data/external/data.csv", index=False)
    columns = [{"name": c, "dtype": "float", "min": 0} for c in frame.columns if c != "target"]
    Path("data/external/schema.yaml").write_text(yaml.safe_dump({"target": "target", "classes": [0, 1], "columns": columns}))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["source"] = "csv"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def run_stages(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = ingest.main(["--out", "data/raw.parquet"])
    if code == 0:
        code = prepare.main(["--raw", "data/raw.parquet", "--out", "data/prepared"])
    return code, capsys.readouterr().err


def test_good_csv_is_split_with_schema_and_stats(csv_project, capsys):
    code, err = run_stages(capsys)
    assert code == 0, err
    train = pd.read_parquet("data/prepared/train.parquet")
    test = pd.read_parquet("data/prepared/test.parquet")
    assert len(train) + len(test) == 120 and len(test) == 24
    assert set(train["target"]) == {0, 1}
    assert (csv_project / "data/prepared/schema.json").exists()


def _missing_column(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["mean_area"])


def _nan(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[7, "worst_texture"] = np.nan
    return df


def _text(df: pd.DataFrame) -> pd.DataFrame:
    df["mean_radius"] = df["mean_radius"].astype(object)
    df.loc[3, "mean_radius"] = "twelve"
    return df


def _negative(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[9, "mean_perimeter"] = -4.0
    return df


def _bad_label(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[2, "target"] = 7
    return df


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_missing_column, "missing column 'mean_area'"),
        (_nan, "column 'worst_texture' has 1 missing value(s), first at row 7; expected no missing values"),
        (_text, "column 'mean_radius' row 3 has 'twelve'; expected a float number"),
        (_negative, "column 'mean_perimeter' row 9 has -4; expected a value >= 0"),
        (_bad_label, "target column 'target' row 2 has 7; expected one of [0, 1]"),
    ],
)
def test_bad_data_gives_clear_message_and_keeps_previous_outputs(csv_project, capsys, corrupt, expected):
    assert run_stages(capsys)[0] == 0
    before = digest(csv_project / "data/prepared")
    frame = pd.read_csv("data/external/data.csv")
    corrupt(frame).to_csv("data/external/data.csv", index=False)
    code, err = run_stages(capsys)
    assert code == 1
    assert expected in err
    assert err.count("\n") == 1, "one line, not a traceback"
    assert digest(csv_project / "data/prepared") == before


def test_empty_file_is_reported(csv_project, capsys):
    Path("data/external/data.csv").write_text("")
    code, err = run_stages(capsys)
    assert code == 1
    assert "data/external/data.csv is empty" in err


def test_header_only_file_is_reported(csv_project, capsys):
    Path("data/external/data.csv").write_text("mean_radius,target\n")
    code, err = run_stages(capsys)
    assert code == 1
    assert "raw data is empty" in err
