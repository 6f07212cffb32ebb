"""Planning: who may ask, the issue form, validation against the params schema before anything runs, names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from exp_fakes import FORM_BODY, FakeIssue, comment_event, git, label_event
from github_stub import GitHubStub

from gitml.errors import GitmlError
from gitml.experiments import issue as issue_mod
from gitml.experiments import job
from gitml.experiments import plan as plan_mod
from gitml.experiments.grammar import OverrideError, parse_command
from gitml.forge.github import GitHubClient


def _plan(repo: Path, text: str, **kwargs: object) -> plan_mod.Plan:
    command = parse_command("/experiment " + text)
    assert command is not None
    return plan_mod.make_plan(repo, 7, command.overrides, base="main", **kwargs)  # type: ignore[arg-type]


def test_a_plan_names_and_validates_every_variant(params_repo: Path) -> None:
    plan = _plan(params_repo, "train.random_forest.max_depth=4,8 featurize.scaler='robust'")
    assert plan.names == ["issue-7-1", "issue-7-2"]
    assert plan.base_sha == git(params_repo, "rev-parse", "HEAD")
    assert plan.variants[0].set_args == ("train.random_forest.max_depth=4", "featurize.scaler='robust'")
    assert plan.primary_metric == "roc_auc"  # [tool.gitml.experiment].primary_metric
    assert plan.matrix() == {"name": ["issue-7-1", "issue-7-2"]}
    again = plan_mod.load_plan(plan.to_json())
    assert again.as_dict() == plan.as_dict()


def test_a_key_the_schema_allows_but_params_yaml_lacks_is_added_with_plus(params_repo: Path) -> None:
    plan = _plan(params_repo, "train.model=hist_gradient_boosting train.hist_gradient_boosting.max_depth=null")
    assert plan.variants[0].set_args == ("train.model='hist_gradient_boosting'",
                                         "+train.hist_gradient_boosting.max_depth=null")


@pytest.mark.parametrize(("text", "message"), [
    ("train.random_forest.n_estimators=0", r"variant issue-7-1 \(train.random_forest.n_estimators=0\): "
                                           r"train.random_forest.n_estimators = 0 is invalid: expected a number >= 1"),
    ("train.random_forest.max_depth=4,-1", r"variant issue-7-2 .*max_depth = -1 is invalid"),
    ("train.random_forest.n_trees=5", r"unknown key train.random_forest.n_trees"),
    ("featurize.scaler=minmax", r"featurize.scaler = 'minmax' is invalid: expected one of 'standard', 'robust', 'none'"),
    ("split.stratify='true'", r"split.stratify = 'true' is invalid: expected a value of type boolean"),
    ("seed.value=1", r"seed.value: seed is a value \(42\), not a section"),
    ("bogus=1", r"unknown key bogus"),
])
def test_a_bad_key_or_value_stops_the_plan(params_repo: Path, text: str, message: str) -> None:
    with pytest.raises(GitmlError, match=message):
        _plan(params_repo, text)


def test_the_schema_is_read_at_the_base_commit(params_repo: Path) -> None:
    schema_path = params_repo / "src/pipeline/params.schema.json"
    schema = json.loads(schema_path.read_text())
    schema["properties"]["featurize"]["properties"]["scaler"]["enum"].append("minmax")
    schema_path.write_text(json.dumps(schema))
    git(params_repo, "checkout", "-qb", "minmax")
    git(params_repo, "commit", "-qam", "allow minmax")
    command = parse_command("/experiment featurize.scaler=minmax")
    assert command is not None
    with pytest.raises(GitmlError, match="minmax"):
        plan_mod.make_plan(params_repo, 7, command.overrides, base="main")
    plan = plan_mod.make_plan(params_repo, 7, command.overrides, base="minmax")
    assert plan.base_sha == git(params_repo, "rev-parse", "minmax")


def test_names_count_on_from_the_experiments_in_the_remote(params_repo: Path) -> None:
    origin = Path(git(params_repo, "remote", "get-url", "origin"))
    head = git(params_repo, "rev-parse", "HEAD")
    git(origin, "update-ref", f"refs/exps/{head[:2]}/{head[2:]}/issue-7-3", head)
    git(origin, "update-ref", f"refs/exps/{head[:2]}/{head[2:]}/issue-70-9", head)  # another issue
    assert _plan(params_repo, "seed=1,2").names == ["issue-7-4", "issue-7-5"]


def test_bases_that_are_not_branches_or_tags_are_refused(params_repo: Path) -> None:
    with pytest.raises(GitmlError, match="not a branch or tag of this repository"):
        plan_mod.make_plan(params_repo, 7, parse_command("/experiment seed=1").overrides, base="nope")  # type: ignore[union-attr]
    for bad in ("refs/pull/3/head", "pull/3/head", git(params_repo, "rev-parse", "HEAD"), "main~1", "a..b"):
        with pytest.raises(OverrideError):
            plan_mod.resolve_base(params_repo, bad)


def test_the_issue_form_is_read_from_the_issue_body() -> None:
    form = issue_mod.parse_form(FORM_BODY)
    assert form.hypothesis.startswith("A robust scaler")
    assert [str(o) for o in form.overrides] == ["featurize.scaler=robust", "evaluate.threshold=0.3,0.4"]
    assert form.base == "main"
    empty = FORM_BODY.replace("main\n", "_No response_\n").replace("```text\nevaluate.threshold=0.3,0.4\n```",
                                                                     "_No response_")
    assert issue_mod.parse_form(empty).base is None
    assert [str(o) for o in issue_mod.parse_form(empty).overrides] == ["featurize.scaler=robust"]
    with pytest.raises(OverrideError, match="no param overrides"):
        issue_mod.parse_form("### Hypothesis\n\nsomething\n")


# -- the plan job against the GitHub stand-in -------------------------------------


def _plan_job(repo: Path, event: dict, name: str = "issue_comment") -> tuple[job.PlanOutcome, FakeIssue, list]:
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        outcome = job.plan_job(repo, event, name, client=GitHubClient("t", api_url=gh.url),
                               run_url="https://github.com/o/r/actions/runs/1")
        calls = [(c.method, c.path) for c in gh.calls]
    return outcome, fake, calls


def test_a_collaborators_command_is_planned_labelled_and_announced(params_repo: Path) -> None:
    outcome, fake, _ = _plan_job(params_repo, comment_event("/experiment evaluate.threshold=0.3,0.4"))
    assert outcome.action == "run" and outcome.plan is not None and outcome.plan.names == ["issue-7-1", "issue-7-2"]
    assert fake.labels == ["experiment:running"]
    assert len(fake.comments) == 1
    sticky = fake.bodies[0]
    assert "## 🧪 Experiments for #7: ⏳ running" in sticky and "`issue-7-2` | `evaluate.threshold=0.4`" in sticky
    assert sticky.rstrip().endswith('"CML watermark gitml-experiment")')
    outputs = outcome.outputs()
    assert json.loads(outputs["matrix"]) == {"name": ["issue-7-1", "issue-7-2"]}
    assert plan_mod.load_plan(outputs["plan"]).names == outcome.plan.names


@pytest.mark.parametrize("association", ["NONE", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", None])
def test_a_non_collaborators_comment_runs_nothing(params_repo: Path, association: str | None) -> None:
    outcome, fake, calls = _plan_job(params_repo, comment_event("/experiment seed=1,2", association=association,
                                                                login="mallory"))
    assert outcome.action == "none" and outcome.plan is None
    assert calls == [("POST", "/repos/o/r/issues/7/comments")]  # one polite reply, no label, nothing else
    assert "@mallory" in fake.bodies[0] and "Nothing was run" in fake.bodies[0]
    assert json.loads(outcome.outputs()["matrix"]) == {"name": []}


def test_a_bad_value_is_answered_with_the_error(params_repo: Path) -> None:
    outcome, fake, _ = _plan_job(params_repo, comment_event("/experiment train.random_forest.n_estimators=-3"))
    assert outcome.action == "none" and fake.labels == []
    reply = fake.bodies[0]
    assert reply.startswith("> /experiment train.random_forest.n_estimators=-3")
    assert "train.random_forest.n_estimators = -3 is invalid: expected a number >= 1" in reply


def test_a_malformed_command_is_answered_but_only_for_collaborators(params_repo: Path) -> None:
    outcome, fake, _ = _plan_job(params_repo, comment_event("/experiment featurize.scaler='robust"))
    assert outcome.action == "none" and "unterminated ' quote" in fake.bodies[0]
    outcome, fake, _ = _plan_job(params_repo, comment_event("/experiment k='x", association="NONE"))
    assert "unterminated" not in fake.bodies[0] and "Nothing was run" in fake.bodies[0]


def test_a_grid_over_the_cap_is_explained(params_repo: Path) -> None:
    values = ",".join(str(i) for i in range(1, 12))
    outcome, fake, _ = _plan_job(params_repo, comment_event(f"/experiment seed={values} featurize.scaler=standard,robust,none"))
    assert outcome.action == "none"
    assert "11 (seed) × 3 (featurize.scaler) = 33 variants, more than the cap of 32" in fake.bodies[0]


def test_other_comments_pr_comments_and_help(params_repo: Path) -> None:
    outcome, _, calls = _plan_job(params_repo, comment_event("looks good to me"))
    assert outcome.action == "none" and calls == []
    outcome, _, calls = _plan_job(params_repo, comment_event("/experiment seed=1", pull_request=True))
    assert outcome.action == "none" and calls == []
    bot = comment_event("/experiment seed=1", association="NONE")
    bot["comment"]["user"]["type"] = "Bot"
    outcome, _, calls = _plan_job(params_repo, bot)
    assert outcome.action == "none" and calls == []  # a bot is never answered: no comment loops
    outcome, fake, _ = _plan_job(params_repo, comment_event("/experiment help"))
    assert outcome.action == "none" and "Usage:" in fake.bodies[0]
    outcome, _, calls = _plan_job(params_repo, comment_event("/experiment cancel"))
    assert outcome.action == "cancel" and calls == []
    outcome, _, calls = _plan_job(params_repo, comment_event("/experiment promote issue-7-2"))
    assert (outcome.action, outcome.name, calls) == ("promote", "issue-7-2", [])


def test_the_experiment_label_runs_the_issue_form(params_repo: Path) -> None:
    outcome, fake, _ = _plan_job(params_repo, label_event(FORM_BODY), "issues")
    assert outcome.action == "run" and outcome.plan is not None
    assert [v.overrides for v in outcome.plan.variants] == [
        {"featurize.scaler": "robust", "evaluate.threshold": 0.3},
        {"featurize.scaler": "robust", "evaluate.threshold": 0.4}]
    assert outcome.plan.hypothesis.startswith("A robust scaler") and "A robust scaler" in fake.bodies[0]
    outcome, _, calls = _plan_job(params_repo, label_event(FORM_BODY, label="bug"), "issues")
    assert outcome.action == "none" and calls == []
