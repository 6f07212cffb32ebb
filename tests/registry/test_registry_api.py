"""The registry API and CLI on a real project: git, DVC, a local DVC remote, a bare origin."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gitml.cli import main
from gitml.errors import GitmlError
from gitml.registry import api, provenance


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def tags(project) -> list[str]:
    return sorted(project.git("tag", "-l").split())


def test_register_writes_an_annotated_tag_with_provenance(project, capsys) -> None:
    c1, c2, c3 = project.commits()
    code, out, err = cli(capsys, "registry", "register", "model", "--rev", c2, "-C", str(project.repo), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["tag"] == "model@v0.1.0" and data["commit"] == c2
    assert project.git("cat-file", "-t", "model@v0.1.0") == "tag"  # annotated
    prov = provenance.parse_message(project.git("tag", "-l", "--format=%(contents)", "model@v0.1.0"))
    assert prov["code"]["commit"] == c2
    assert prov["params"] == {"params.yaml": {"seed": 2}}
    assert prov["metrics"] == pytest.approx({"accuracy": 0.82, "f1": 0.74})
    lock = provenance.lock_entries(provenance.lock_at(project.repo, c2))[0]
    assert prov["data"]["models/model.bin"] == lock["models/model.bin"] == prov["artifact"]["hash"]
    assert prov["gitml"]
    # show answers: which code, data, params and metrics produced the version
    shown = api.show(project.repo, "model", version="v0.1.0")["versions"][0]
    assert shown["code"]["commit"] == c2 and shown["params"]["params.yaml"]["seed"] == 2
    assert shown["data"]["models/model.bin"] == lock["models/model.bin"]
    assert shown["metrics"]["accuracy"] == pytest.approx(0.82)


def test_versions_stages_and_reads(project, capsys) -> None:
    c1, c2, _ = project.commits()
    repo = str(project.repo)
    assert api.register(repo, "model", rev=c1, version="v1.0.0").tag == "model@v1.0.0"
    assert api.register(repo, "model", rev=c2, bump="patch").tag == "model@v1.0.1"
    # order rule: prod only after staging
    with pytest.raises(GitmlError, match="cannot go to prod before staging"):
        api.promote(repo, "model", "v1.0.1", "prod")
    assert api.promote(repo, "model", "v1.0.1", "staging").tag == "model#staging#1"
    assert api.promote(repo, "model", "1.0.1", "prod").tag == "model#prod#2"
    again = api.promote(repo, "model", "v1.0.1", "prod")
    assert again.tag is None and "already holds prod" in again.note

    code, out, _ = cli(capsys, "registry", "which", "model", "prod", "-C", repo)
    assert api.promote(repo, "model", "v1.0.0", "dev").tag == "model#dev#3"
    assert (code, out) == (0, "v1.0.1\n")
    code, out, _ = cli(capsys, "registry", "list", "--json", "-C", repo)
    listed = json.loads(out)["artifacts"]
    assert listed == [{"name": "model", "declared": True, "path": "models/model.bin", "type": "model", "latest": "v1.0.1",
                       "versions": 2, "stages": {"dev": "v1.0.0", "prod": "v1.0.1", "staging": "v1.0.1"}, "deprecated": False}]
    code, out, _ = cli(capsys, "registry", "list", "-C", repo)
    assert "model: latest v1.0.1 (2 versions); dev=v1.0.0, prod=v1.0.1, staging=v1.0.1" in out
    code, out, _ = cli(capsys, "registry", "show", "model", "--json", "-C", repo)
    shown = json.loads(out)
    assert [v["version"] for v in shown["versions"]] == ["v1.0.1", "v1.0.0"]
    assert shown["versions"][0]["stages"] == ["prod", "staging"] and shown["versions"][0]["author"] == "Test User"
    code, out, _ = cli(capsys, "registry", "show", "model", "-C", repo)
    assert "v1.0.1 [prod, staging]" in out and "accuracy=0.82" in out
    code, out, _ = cli(capsys, "registry", "history", "model", "--json", "-C", repo)
    events = json.loads(out)["events"]
    assert [(e["action"], e["version"]) for e in events] == [
        ("register", "v1.0.0"), ("register", "v1.0.1"), ("assign", "v1.0.1"), ("assign", "v1.0.1"), ("assign", "v1.0.0")]
    code, out, _ = cli(capsys, "registry", "history", "model", "-C", repo)
    assert "assign prod" in out

    # fetch through DVC, by version and by stage
    out_v = project.base / "v100.bin"
    api.fetch(repo, "model", out_v, version="v1.0.0")
    assert out_v.read_text() == "model trained with seed 1\n"
    code, out, err = cli(capsys, "registry", "fetch", "model", "--stage", "prod", "-o", str(project.base / "prod.bin"), "-C", repo)
    assert code == 0, err
    assert (project.base / "prod.bin").read_text() == "model trained with seed 2\n"
    with pytest.raises(GitmlError, match="already exists"):
        api.fetch(repo, "model", out_v, version="v1.0.0")

    # the deploy job: fetch what the stage holds and run the configured command
    result = api.deploy(repo, tag="refs/tags/model#prod#2")
    assert result["deployed"] and result["version"] == "v1.0.1"
    assert (project.repo / "deployed-prod.bin").read_text() == "model trained with seed 2\n"
    assert api.deploy(repo, name="model", stage="staging", command="true")["version"] == "v1.0.1"
    # an unassignment tag also triggers a deploy of whatever the stage holds then
    assert api.deploy(repo, tag="model#prod!#9", command="true")["version"] == "v1.0.1"
    with pytest.raises(GitmlError, match="deploy command failed"):
        api.deploy(repo, name="model", stage="dev", command="exit 3")

    # deprecate, then nothing more can be promoted
    assert api.deprecate(repo, "model").tag == "model@deprecated"
    with pytest.raises(GitmlError, match="deprecated"):
        api.promote(repo, "model", "v1.0.0", "staging")
    code, out, _ = cli(capsys, "registry", "list", "-C", repo)
    assert "[deprecated]" in out


def test_push_sends_tags_to_origin(project) -> None:
    c1, c2, _ = project.commits()
    api.register(project.repo, "model", rev=c2, push=True)
    api.promote(project.repo, "model", "v0.1.0", "dev", push=True)
    remote = project.git("ls-remote", "--tags", "origin")
    assert "refs/tags/model@v0.1.0" in remote and "refs/tags/model#dev#1" in remote


@pytest.mark.parametrize(
    "argv, message",
    [
        (["register", "model;rm"], "invalid artifact name"),
        (["register", "--", "-model"], "invalid artifact name"),
        (["register", "../model"], "invalid artifact name"),
        (["register", "refs/tags/x@{1}"], "invalid artifact name"),
        (["register", "my model"], "invalid artifact name"),
        (["register", "model", "--version", "1.2"], "invalid version"),
        (["register", "model", "--version", "v1.0.0;x"], "invalid version"),
        (["register", "nomodel"], "not declared in dvc.yaml"),
        (["register", "model", "--rev", "--all"], "invalid revision"),
        (["register", "model", "--rev", "nosuchbranch"], "no commit"),
        (["promote", "model", "v9.9.9", "prod"], "has no version v9.9.9"),
        (["promote", "model", "v1.0.0", "qa"], "unknown stage 'qa'"),
        (["promote", "model", "v1.0.0", "prod;x"], "invalid stage"),
        (["promote", "model", "latest", "prod"], "invalid version"),
        (["which", "model", "prod"], "no version of model is in prod"),
        (["show", "ghost"], "has no registered versions"),
        (["fetch", "model", "--version", "v9.0.0", "-o", "x"], "has no version"),
        (["fetch", "model", "-o", "x"], "exactly one of a version or a stage"),
        (["deprecate", "ghost"], "has no registered versions"),
    ],
)
def test_bad_input_is_rejected_and_nothing_is_written(module_project, capsys, argv, message) -> None:
    before = tags(module_project)
    code, _, err = cli(capsys, "registry", *argv[:1], "-C", str(module_project.repo), *argv[1:])
    assert code == 1
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert tags(module_project) == before


def test_dirty_tree_is_rejected(project) -> None:
    (project.repo / "params.yaml").write_text("seed: 5\n")
    with pytest.raises(GitmlError, match="uncommitted changes.*params.yaml"):
        api.register(project.repo, "model")
    assert tags(project) == []


def test_outputs_missing_from_the_remote_are_rejected(project) -> None:
    shutil.rmtree(project.remote)
    project.remote.mkdir()
    with pytest.raises(GitmlError, match=r"2 output\(s\) of commit .* are not in the DVC remote.*models/model.bin"):
        api.register(project.repo, "model")
    assert tags(project) == []


def test_existing_version_and_registered_commit_are_rejected(project) -> None:
    c1, c2, _ = project.commits()
    api.register(project.repo, "model", rev=c1, version="v1.0.0", check_remote=False)
    with pytest.raises(GitmlError, match="already exists"):
        api.register(project.repo, "model", rev=c2, version="v1.0.0", check_remote=False)
    with pytest.raises(GitmlError, match="already registered as model v1.0.0"):
        api.register(project.repo, "model", rev=c1, check_remote=False)
    with pytest.raises(GitmlError, match="either a version or a bump"):
        api.register(project.repo, "model", rev=c2, version="v2.0.0", bump="major")
    assert tags(project) == ["model@v1.0.0"]


def test_settings_errors_name_the_key(project) -> None:
    py = project.repo / "pyproject.toml"
    for text, match in [
        ('[tool.gitml.registry]\nstages = ["dev", "pr od"]\n', "invalid stage"),
        ('[tool.gitml.registry]\norder = { prod = ["qa"] }\n', "unknown stage 'qa'"),
        ('[tool.gitml.registry]\nbump = "huge"\n', "invalid bump"),
        ('[tool.gitml.registry]\ncolour = "red"\n', r"unknown key \[tool.gitml.registry\].colour"),
    ]:
        py.write_text(text)
        with pytest.raises(GitmlError, match=match):
            api.promote(project.repo, "model", "v1.0.0", "dev")


def test_custom_stages(project) -> None:
    c1, _, _ = project.commits()
    (project.repo / "pyproject.toml").write_text('[tool.gitml.registry]\nstages = ["canary", "live"]\n')
    project.git("commit", "-qam", "stages")
    api.register(project.repo, "model", rev=c1, check_remote=False)
    assert api.promote(project.repo, "model", "v0.1.0", "live").tag == "model#live#1"
    with pytest.raises(GitmlError, match="unknown stage 'prod'"):
        api.promote(project.repo, "model", "v0.1.0", "prod")
    nothing = api.deploy(project.repo, name="model", stage="canary", command="false")
    assert not nothing["deployed"] and "nothing to deploy" in nothing["note"]


def test_artifact_path_must_exist_in_commit(project) -> None:
    assert Path(project.repo / "dvc.yaml").exists()
    with pytest.raises(GitmlError, match="not declared in dvc.yaml at"):
        api.register(project.repo, "other", check_remote=False)
