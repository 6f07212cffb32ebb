"""The PR loop with no GitHub (the main job's extension): bare origin, sandbox DVC remote, a branch that
changes a param, `gitml ci pr` on it, the comment saved and returned; the user's DVC remote untouched."""

from __future__ import annotations

from pathlib import Path

from testkit import git

from gitml.cli import main as gitml_main
from gitml.sandbox import pr_loop, set_param


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_pr_loop_in_a_sandbox(pipeline_project: tuple[Path, Path], tmp_path: Path) -> None:
    repo, remote = pipeline_project
    before = _files(remote)
    result = pr_loop(repo, tmp_path / "sbx", param="evaluate.threshold", value=0.2, echo=False)
    assert result.comment_path == repo / "reports" / "pr-comment.md"
    assert result.comment_path.read_text() == result.markdown
    assert "| evaluate.threshold | `0.5` | `0.2` |" in result.markdown
    assert "gitml model report" in result.markdown and "```mermaid" in result.markdown
    fates = {s["name"]: s["status"] for s in result.pr.report["stages"]}
    assert fates["evaluate"] == "ran" and fates["train"] in ("unchanged", "restored")
    origin = tmp_path / "sbx" / "origin.git"
    assert git(origin, "log", "-1", "--format=%an", result.branch) == "github-actions[bot]"
    assert _files(tmp_path / "sbx" / "dvc-remote")  # the sandbox's own remote got the outputs
    assert _files(remote) == before  # the project's remote was not written to


def test_set_param_keeps_comments_and_layout() -> None:
    text = "train:\n  model: rf   # which model\n  rf:\n    n: 200  # trees\n  other:\n    n: 5\n"
    new, old = set_param(text, "train.rf.n", 50)
    assert old == 200 and new == text.replace("n: 200  # trees", "n: 50  # trees")
    assert gitml_main(["sandbox", "pr", "--help"]) == 0
