"""Recorded nvidia-smi outputs (no GPU, 1 GPU, 8 GPUs, mixed models, MIG) give the expected plans and labels."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from runner_support import DATA, RecordedSmi, missing_smi

from gitml.cli import cli
from gitml.errors import GitmlError
from gitml.runners import gpus
from gitml.runners.plan import DEFAULT_JOB_LABELS, make_plan


def plan_for(scenario: str, **kwargs):  # type: ignore[no-untyped-def]
    return make_plan(gpus.discover(RecordedSmi(DATA / scenario)), host="box", arch="x86_64", **kwargs)


def test_one_h100() -> None:
    plan = plan_for("one-gpu")
    (runner,) = plan.runners
    assert runner.name == "box-gpu0"
    assert runner.labels == ("self-hosted", "linux", "x64", "gpu", "gpu-h100", "gpu-80gb", "cuda-12", "cuda-12.4")
    uuid = plan.inventory.gpus[0].uuid
    assert uuid.startswith("GPU-")
    assert runner.env["CUDA_VISIBLE_DEVICES"] == uuid == runner.env["NVIDIA_VISIBLE_DEVICES"]
    assert plan.inventory.driver_version == "550.54.15"
    assert plan.inventory.gpus[0].memory_mib == 81559


def test_eight_gpus_one_runner_each_pinned_by_uuid() -> None:
    plan = plan_for("eight-gpus")
    assert [r.name for r in plan.runners] == [f"box-gpu{i}" for i in range(8)]
    uuids = [g.uuid for g in plan.inventory.gpus]
    assert [r.devices for r in plan.runners] == [(u,) for u in uuids]
    assert len(set(uuids)) == 8
    for runner in plan.runners:
        assert set(DEFAULT_JOB_LABELS) <= set(runner.labels)


def test_eight_gpus_four_per_runner() -> None:
    plan = plan_for("eight-gpus", gpus_per_runner=4)
    assert [r.name for r in plan.runners] == ["box-gpu0-3", "box-gpu4-7"]
    assert all(len(r.devices) == 4 and "gpus-4" in r.labels for r in plan.runners)
    assert plan.runners[0].env["CUDA_VISIBLE_DEVICES"].count(",") == 3


def test_uneven_split_is_noted() -> None:
    plan = plan_for("eight-gpus", gpus_per_runner=3)
    assert [len(r.devices) for r in plan.runners] == [3, 3, 2]
    assert any("do not divide" in n for n in plan.notes)


def test_mixed_models_get_their_own_labels_and_groups() -> None:
    plan = plan_for("mixed", gpus_per_runner=2)
    a100, rtx = plan.runners
    assert a100.name == "box-gpu0-1" and "gpu-a100" in a100.labels and "gpu-40gb" in a100.labels
    assert rtx.name == "box-gpu2" and "gpu-rtx4090" in rtx.labels and "gpu-24gb" in rtx.labels
    assert "cuda-12.2" in rtx.labels
    assert any("do not divide" in n for n in plan.notes)  # one 4090 cannot make a pair


def test_mig_devices_become_runners() -> None:
    plan = plan_for("mig")
    names = [r.name for r in plan.runners]
    assert names == ["box-gpu0-mig0", "box-gpu0-mig1", "box-gpu2"]
    mig0 = plan.runners[0]
    assert mig0.kind == "mig" and mig0.devices[0].startswith("MIG-")
    assert {"mig", "mig-3g.20gb", "gpu-20gb", "gpu-a100"} <= set(mig0.labels)
    assert mig0.gpu_uuids == (plan.inventory.gpus[0].uuid,)
    assert mig0.env["GITML_RUNNER_MIG"] == "1"
    assert any("GPU 1 has MIG enabled but no MIG devices" in n for n in plan.notes)


@pytest.mark.parametrize("smi", [missing_smi, RecordedSmi(DATA / "no-driver")], ids=["absent", "no-driver"])
def test_no_gpu_gives_cpu_runners_and_says_so(smi) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(gpus.discover(smi), host="box", arch="x86_64", cpu_runners=2)
    assert [r.name for r in plan.runners] == ["box-cpu0", "box-cpu1"]
    assert all("gpu" not in r.labels and "cpu" in r.labels for r in plan.runners)
    assert plan.runners[0].env["CUDA_VISIBLE_DEVICES"] == ""
    assert "no GPU" in plan.render()
    assert any("will not run here" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA H100 PCIe", "h100"),
        ("NVIDIA A100-SXM4-40GB", "a100"),
        ("NVIDIA GeForce RTX 4090", "rtx4090"),
        ("Tesla T4", "t4"),
        ("NVIDIA L40S", "l40s"),
        ("NVIDIA RTX 6000 Ada Generation", "rtx6000ada"),
    ],
)
def test_model_slug(name: str, slug: str) -> None:
    assert gpus.model_slug(name) == slug


@pytest.mark.parametrize(("mib", "gb"), [(81559, 80), (40960, 40), (24564, 24), (143771, 141), (46068, 48), (15360, 16), (95830, 94)])
def test_memory_class(mib: int, gb: int) -> None:
    assert gpus.memory_class(mib) == gb


def test_cuda_version_from_header_and_q() -> None:
    assert gpus.parse_cuda_version((DATA / "mixed" / "header.txt").read_text()) == "12.2"
    assert gpus.parse_cuda_version("Driver Version                            : 550.54.15\nCUDA Version                              : 12.4\n") == "12.4"


def test_bad_query_line_is_a_clear_error() -> None:
    with pytest.raises(GitmlError, match="unexpected nvidia-smi"):
        gpus.parse_gpu_query("0, GPU-x, NVIDIA H100\n")


def test_invalid_options_and_labels() -> None:
    inv = gpus.discover(RecordedSmi(DATA / "one-gpu"))
    with pytest.raises(GitmlError, match="gpus-per-runner"):
        make_plan(inv, gpus_per_runner=0)
    with pytest.raises(GitmlError, match="invalid runner label"):
        make_plan(inv, extra_labels=["has space"])


def test_cli_plan_json_and_text(smi_on_path) -> None:  # type: ignore[no-untyped-def]
    smi_on_path("eight-gpus")
    result = CliRunner().invoke(cli, ["runner", "plan", "--json", "--host", "node7"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["version"] == 1 and data["job_labels"] == list(DEFAULT_JOB_LABELS)
    assert [r["name"] for r in data["runners"]][:2] == ["node7-gpu0", "node7-gpu1"]
    assert data["inventory"]["cuda_version"] == "12.4"
    text = CliRunner().invoke(cli, ["runner", "plan", "--host", "node7", "--label", "team-vision"])
    assert "node7-gpu7" in text.output and "team-vision" in text.output and "CUDA 12.4" in text.output
