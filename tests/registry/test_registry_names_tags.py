"""Names, versions, stages and tag names: validation (injection-proof) and GTO-compatible parsing."""

from __future__ import annotations

import pytest

from gitml.errors import GitmlError
from gitml.registry import names, store
from gitml.registry import tags as T

gto_parse_name = pytest.importorskip("gto.tag", reason="gto is not installed (pip install gto)").parse_name

BAD_NAMES = ["", " model", "my model", "model;rm -rf", "a..b", "-model", "--help", "model@v1", "model#prod",
             "refs/heads/x~1", "model^", "a:b", "model.lock", "a//b", "model/", "x" * 101, "mo\nl", "$(id)", "`id`"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_invalid_names_are_rejected_with_a_clear_message(bad: str) -> None:
    with pytest.raises(GitmlError, match="artifact name"):
        names.validate_name(bad)


@pytest.mark.parametrize("good", ["model", "m", "churn-model", "team/model", "Model_2"])
def test_valid_names(good: str) -> None:
    assert names.validate_name(good) == good


@pytest.mark.parametrize("bad", ["", "prod;", "pr od", "-prod", "a..b", "prod#1", "prod!", "a/b"])
def test_invalid_stages(bad: str) -> None:
    with pytest.raises(GitmlError, match="stage"):
        names.validate_stage(bad)


def test_unknown_stage_names_the_configured_ones() -> None:
    with pytest.raises(GitmlError, match="unknown stage 'qa'.*dev, staging, prod"):
        names.validate_stage("qa", ("dev", "staging", "prod"))


@pytest.mark.parametrize("bad", ["1", "v1.2", "v01.2.3", "1.2.3-rc1", "v1.2.3;x", "latest", "-v1.0.0", ""])
def test_invalid_versions(bad: str) -> None:
    with pytest.raises(GitmlError, match="invalid version"):
        names.parse_version(bad)


def test_bumps() -> None:
    v = names.parse_version("1.4.2")
    assert str(v) == "v1.4.2"
    assert [str(v.bump(p)) for p in names.BUMPS] == ["v2.0.0", "v1.5.0", "v1.4.3"]
    assert str(names.next_version(None, "minor")) == "v0.1.0"
    with pytest.raises(GitmlError, match="invalid bump"):
        names.next_version(v, "huge")


@pytest.mark.parametrize(
    "tag",
    ["model@v1.2.3", "model@v1.2.3!", "model#prod#3", "model#prod!#4", "model@deprecated", "team/model@v0.1.0",
     "dir=model@v1.0.0-rc.1", "m#staging#12"],
)
def test_tag_parsing_agrees_with_gto(tag: str) -> None:
    mine = T.parse(tag)
    theirs = gto_parse_name(tag)
    assert mine is not None
    assert mine.artifact == theirs["name"]
    assert mine.action == theirs["action"].value
    assert mine.version == theirs.get("version")
    assert mine.stage == theirs.get("stage")
    assert mine.counter == theirs.get("counter")


@pytest.mark.parametrize("tag", ["v1.0.0", "release-1", "model@1.0.0", "model#", "model@latest", "model@created"])
def test_non_registry_tags_are_ignored(tag: str) -> None:
    assert T.parse(tag) is None


def test_tag_formatting_validates() -> None:
    v = names.parse_version("v1.0.0")
    assert T.register_tag("model", v) == "model@v1.0.0"
    assert T.deregister_tag("model", v) == "model@v1.0.0!"
    assert T.assign_tag("model", "prod", 3) == "model#prod#3"
    assert T.unassign_tag("model", "prod", 4) == "model#prod!#4"
    assert T.deprecate_tag("model") == "model@deprecated"
    with pytest.raises(GitmlError):
        T.assign_tag("model", "prod;x", 1)


def _ev(tag: str, commit: str, ts: int) -> store.Event:
    p = T.parse(tag)
    assert p is not None
    return store.Event(tag, p.action, p.artifact, commit, ts, p.version, p.stage, p.counter)


def test_store_semantics_follow_gto() -> None:
    events = [
        _ev("m@v0.1.0", "c1", 10), _ev("m@v0.2.0", "c2", 20), _ev("m@v0.10.0", "c3", 30),
        _ev("m#prod#1", "c1", 40), _ev("m#prod#2", "c2", 50),  # latest assignment wins
        _ev("m#staging#3", "c3", 60), _ev("m#staging!#4", "c3", 70),  # unassigned
        _ev("m#dev#5", "c9", 80),  # a stage on an unregistered commit
        _ev("m@v0.3.0", "c4", 90), _ev("m@v0.3.0!", "c4", 95),  # deregistered
    ]
    art = store.build(events)["m"]
    assert art.latest().version == "v0.10.0"  # semver order, not string order
    assert art.stages == {"prod": "v0.2.0", "dev": "c9"}
    assert art.max_counter == 5
    assert [v.version for v in art.sorted_versions()] == ["v0.10.0", "v0.2.0", "v0.1.0"]
    assert not art.versions["v0.3.0"].active
    # rollback: assigning an older version again makes it the holder
    art = store.build([*events, _ev("m#prod#6", "c1", 100)])["m"]
    assert art.stages["prod"] == "v0.1.0"
