"""The main job's serving-and-monitoring step: calm on unshifted traffic, a breach on the shifted feature."""

from __future__ import annotations

from typing import Any

from gitml.monitor.demo import serve_and_drift


def test_serve_and_drift_reports_calm_then_the_shifted_feature(served: Any) -> None:
    text = serve_and_drift(served.repo, "model", stage="prod", requests=20)
    lines = text.splitlines()
    assert lines[0].startswith("Serving model v1.0.0 (prod) at http://127.0.0.1:")
    assert "0 dropped" in lines[1]
    assert lines[2].startswith("Drift on unshifted traffic: ok: 0 of 30 features drifted")
    shifted = lines[3]
    feature = shifted.split("Drift after shifting ", 1)[1].split(" ", 1)[0]
    assert f"BREACH: 1 of 30 features drifted ({feature})" in shifted
