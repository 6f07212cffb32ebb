"""Plan the runners of one machine: one per GPU (or N GPUs, or one per MIG device), pinned by UUID.

`DEFAULT_JOB_LABELS` is the label set GPU jobs ask for (`runs-on:`); every GPU
runner carries it, CPU runners never carry `gpu`.
"""

from __future__ import annotations

import platform
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitml.errors import GitmlError
from gitml.runners.gpus import Gpu, Inventory, MigDevice

DEFAULT_JOB_LABELS: tuple[str, ...] = ("self-hosted", "linux", "gpu")
CPU_JOB_LABELS: tuple[str, ...] = ("self-hosted", "linux", "cpu")
PLAN_VERSION = 1
_LABEL_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class RunnerSpec:
    """One runner: its name, labels and the devices it may use."""

    name: str
    labels: tuple[str, ...]
    kind: str  # "gpu", "mig" or "cpu"
    devices: tuple[str, ...] = ()  # what CUDA_VISIBLE_DEVICES lists (GPU-... or MIG-... UUIDs)
    gpu_uuids: tuple[str, ...] = ()  # the physical GPUs behind them (health checks)
    gpu_indexes: tuple[int, ...] = ()
    model: str = ""
    memory_gb: int | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment that pins the runner (and its jobs, containers included) to its devices."""
        if self.kind == "cpu":
            # An empty list hides every GPU from CUDA; "void" does the same for the NVIDIA container runtime.
            return {"CUDA_VISIBLE_DEVICES": "", "NVIDIA_VISIBLE_DEVICES": "void", "GITML_RUNNER_GPUS": ""}
        devices = ",".join(self.devices)
        env = {
            "CUDA_VISIBLE_DEVICES": devices,
            "NVIDIA_VISIBLE_DEVICES": devices,
            "GITML_RUNNER_GPUS": ",".join(self.gpu_uuids),
        }
        if self.kind == "mig":
            env["GITML_RUNNER_MIG"] = "1"
        return env

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "labels": list(self.labels),
            "kind": self.kind,
            "devices": list(self.devices),
            "gpu_uuids": list(self.gpu_uuids),
            "gpu_indexes": list(self.gpu_indexes),
            "model": self.model,
            "memory_gb": self.memory_gb,
            "env": self.env,
        }


@dataclass(frozen=True)
class Plan:
    host: str
    runners: tuple[RunnerSpec, ...]
    inventory: Inventory
    notes: tuple[str, ...] = field(default=())

    @property
    def has_gpu(self) -> bool:
        return any(r.kind != "cpu" for r in self.runners)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "host": self.host,
            "job_labels": list(DEFAULT_JOB_LABELS),
            "runners": [r.as_dict() for r in self.runners],
            "inventory": self.inventory.as_dict(),
            "notes": list(self.notes),
        }

    def render(self) -> str:
        inv = self.inventory
        lines = []
        if inv.gpus:
            lines.append(
                f"{self.host}: {len(inv.gpus)} GPU(s), driver {inv.driver_version}, CUDA {inv.cuda_version or 'unknown'}"
            )
            for g in inv.gpus:
                mig = f", MIG enabled ({len(g.mig_devices)} device(s))" if g.mig_enabled else ""
                lines.append(f"  GPU {g.index}: {g.name}, {g.memory_mib} MiB, {g.uuid}{mig}")
        else:
            lines.append(f"{self.host}: no GPU ({inv.note})")
        lines.append(f"{len(self.runners)} runner(s):")
        width = max((len(r.name) for r in self.runners), default=0)
        for r in self.runners:
            pinned = f"CUDA_VISIBLE_DEVICES={','.join(r.devices)}" if r.devices else "no GPU"
            lines.append(f"  {r.name:<{width}}  {pinned}")
            lines.append(f"  {'':<{width}}  labels: {','.join(r.labels)}")
        lines.extend(f"note: {n}" for n in (*inv.warnings, *self.notes))
        return "\n".join(lines)


def host_name(raw: str | None = None) -> str:
    """The short host name, reduced to characters a runner name may hold."""
    name = (raw or socket.gethostname()).split(".")[0].lower()
    name = re.sub(r"[^a-z0-9-]+", "-", name).strip("-")
    return name or "runner"


def arch_label(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    return {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def check_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Validate and de-duplicate labels (GitHub compares them case-insensitively)."""
    seen: dict[str, str] = {}
    for label in labels:
        if not _LABEL_OK.match(label):
            raise GitmlError(
                f"invalid runner label {label!r}",
                hint="labels are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        seen.setdefault(label.lower(), label)
    return tuple(seen.values())


def _cuda_labels(cuda: str | None) -> list[str]:
    if not cuda:
        return []
    major = cuda.split(".")[0]
    return [f"cuda-{major}", f"cuda-{cuda}"] if major != cuda else [f"cuda-{major}"]


def _gpu_runner(host: str, group: Sequence[Gpu], base: list[str], cuda: list[str], extra: Sequence[str]) -> RunnerSpec:
    first = group[0]
    suffix = f"gpu{first.index}" if len(group) == 1 else f"gpu{first.index}-{group[-1].index}"
    labels = [*base, "gpu", f"gpu-{first.model}", f"gpu-{first.memory_gb}gb", *cuda]
    if len(group) > 1:
        labels.append(f"gpus-{len(group)}")
    return RunnerSpec(
        name=f"{host}-{suffix}",
        labels=check_labels([*labels, *extra]),
        kind="gpu",
        devices=tuple(g.uuid for g in group),
        gpu_uuids=tuple(g.uuid for g in group),
        gpu_indexes=tuple(g.index for g in group),
        model=first.model,
        memory_gb=first.memory_gb,
    )


def _mig_runner(host: str, gpu: Gpu, mig: MigDevice, base: list[str], cuda: list[str], extra: Sequence[str]) -> RunnerSpec:
    memory = mig.memory_gb
    labels = [*base, "gpu", f"gpu-{gpu.model}", *([f"gpu-{memory}gb"] if memory else []), *cuda, "mig", f"mig-{mig.profile}"]
    return RunnerSpec(
        name=f"{host}-gpu{gpu.index}-mig{mig.device}",
        labels=check_labels([*labels, *extra]),
        kind="mig",
        devices=(mig.uuid,),
        gpu_uuids=(gpu.uuid,),
        gpu_indexes=(gpu.index,),
        model=gpu.model,
        memory_gb=memory,
    )


def make_plan(
    inventory: Inventory,
    *,
    host: str | None = None,
    gpus_per_runner: int = 1,
    cpu_runners: int = 1,
    extra_labels: Sequence[str] = (),
    arch: str | None = None,
) -> Plan:
    """One runner per GPU (or per `gpus_per_runner` GPUs of one model, or per MIG device); CPU runners without a GPU."""
    if gpus_per_runner < 1:
        raise GitmlError(f"--gpus-per-runner must be 1 or more, not {gpus_per_runner}")
    if cpu_runners < 0:
        raise GitmlError(f"--cpu-runners must be 0 or more, not {cpu_runners}")
    host = host_name(host)
    extra = check_labels(extra_labels)
    base = ["self-hosted", "linux", arch_label(arch)]
    cuda = _cuda_labels(inventory.cuda_version)
    notes: list[str] = []
    runners: list[RunnerSpec] = []

    whole = [g for g in inventory.gpus if not g.mig_enabled]
    for gpu in inventory.gpus:
        if gpu.mig_enabled:
            if not gpu.mig_devices:
                notes.append(
                    f"GPU {gpu.index} has MIG enabled but no MIG devices: create them "
                    "(`nvidia-smi mig -cgi PROFILES -C`) or disable MIG (`nvidia-smi -i N -mig 0`); no runner planned for it"
                )
            runners.extend(_mig_runner(host, gpu, mig, base, cuda, extra) for mig in gpu.mig_devices)

    groups: dict[tuple[str, int], list[Gpu]] = {}
    for gpu in whole:
        groups.setdefault((gpu.model, gpu.memory_gb), []).append(gpu)
    for (model, _), gpus in groups.items():
        for start in range(0, len(gpus), gpus_per_runner):
            chunk = gpus[start : start + gpus_per_runner]
            if len(chunk) < gpus_per_runner:
                notes.append(
                    f"{len(gpus)} {model} GPU(s) do not divide into runners of {gpus_per_runner}: "
                    f"the last runner gets {len(chunk)}"
                )
            runners.append(_gpu_runner(host, chunk, base, cuda, extra))

    if not inventory.gpus:
        notes.append(
            f"no GPU on this machine ({inventory.note}): planning {cpu_runners} CPU runner(s) without the `gpu` label, "
            f"so jobs asking for {list(DEFAULT_JOB_LABELS)} will not run here"
        )
        runners.extend(
            RunnerSpec(name=f"{host}-cpu{i}", labels=check_labels([*base, "cpu", *extra]), kind="cpu")
            for i in range(cpu_runners)
        )
    runners.sort(key=lambda r: (r.gpu_indexes or (10**6,), r.name))
    return Plan(host=host, runners=tuple(runners), inventory=inventory, notes=tuple(notes))
