"""GPU discovery with nvidia-smi: models, memory, UUIDs, MIG devices, CUDA version, health.

Every function takes a `smi` callable (argv -> (exit code, output)) so the
recorded outputs in the tests stand in for a real driver.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gitml.errors import GitmlError

QUERY_FIELDS = ("index", "uuid", "name", "memory.total", "driver_version", "mig.mode.current", "pci.bus_id")
HEALTH_FIELDS = ("index", "uuid", "temperature.gpu", "memory.used", "ecc.errors.uncorrected.volatile.total")
APPS_FIELDS = ("gpu_uuid", "pid", "used_memory", "process_name")

Smi = Callable[[Sequence[str]], tuple[int, str]]

# Marketed memory sizes (GB); a card's MiB total maps to the smallest size it reaches.
_MEMORY_CLASSES = (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 16, 20, 24, 32, 40, 48, 64, 80, 94, 96, 141, 144, 180, 192, 288)
_DROP_TOKENS = re.compile(r"^(nvidia|geforce|tesla|quadro|generation|\d+gb|sxm\d*|pcie|hbm\d*e?|nvl|mig|oam)$")
_MIG_LINE = re.compile(r"^\s+MIG\s+(?P<profile>\S+)\s+Device\s+(?P<dev>\d+):\s+\(UUID:\s*(?P<uuid>MIG-[^)\s]+)\)")
_GPU_LINE = re.compile(r"^GPU\s+(?P<index>\d+):.*\(UUID:\s*(?P<uuid>GPU-[^)\s]+)\)")
_NO_DRIVER = ("couldn't communicate with the nvidia driver", "no devices were found", "driver/library version mismatch")


def run_nvidia_smi(argv: Sequence[str]) -> tuple[int, str]:
    """Run the real nvidia-smi; (127, message) when it is not installed."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 127, "nvidia-smi: command not found"
    try:
        proc = subprocess.run([exe, *argv], text=True, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return 124, "nvidia-smi did not answer within 60 s (a hung GPU or driver)"
    return proc.returncode, (proc.stdout or "") + (proc.stderr or "")


@dataclass(frozen=True)
class MigDevice:
    uuid: str
    profile: str  # e.g. "3g.20gb"
    device: int

    @property
    def memory_gb(self) -> int | None:
        match = re.search(r"\.(\d+)gb", self.profile)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Gpu:
    index: int
    uuid: str
    name: str
    memory_mib: int
    driver_version: str
    mig_enabled: bool
    pci_bus_id: str = ""
    mig_devices: tuple[MigDevice, ...] = ()

    @property
    def model(self) -> str:
        """A label-friendly model name: "NVIDIA H100 80GB HBM3" -> "h100", "NVIDIA GeForce RTX 4090" -> "rtx4090"."""
        return model_slug(self.name)

    @property
    def memory_gb(self) -> int:
        return memory_class(self.memory_mib)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(model=self.model, memory_gb=self.memory_gb)
        return data


@dataclass(frozen=True)
class Inventory:
    gpus: tuple[Gpu, ...]
    driver_version: str | None = None
    cuda_version: str | None = None
    note: str = ""
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "gpus": [g.as_dict() for g in self.gpus],
            "driver_version": self.driver_version,
            "cuda_version": self.cuda_version,
            "note": self.note,
            "warnings": list(self.warnings),
        }


def model_slug(name: str) -> str:
    tokens = [t for t in re.split(r"[\s\-_/]+", name.lower()) if t]
    kept = [t for t in tokens if not _DROP_TOKENS.match(t)]
    slug = re.sub(r"[^a-z0-9]", "", "".join(kept or tokens))
    return slug or "unknown"


def memory_class(mib: int) -> int:
    """The marketed size in GB: 81559 MiB -> 80, 40960 -> 40, 24564 -> 24, 143771 -> 141."""
    gib = mib / 1024
    for size in _MEMORY_CLASSES:
        if size >= gib * 0.98:
            return size
    return round(gib)


def _value(raw: str) -> str | None:
    raw = raw.strip()
    return None if not raw or raw.startswith("[") else raw  # "[N/A]", "[Not Supported]"


def _int(raw: str) -> int | None:
    value = _value(raw)
    if value is None:
        return None
    match = re.match(r"-?\d+", value)
    return int(match.group(0)) if match else None


def _rows(output: str, width: int, what: str) -> list[list[str]]:
    rows = []
    for line in output.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != width:
            raise GitmlError(
                f"unexpected nvidia-smi {what} line: {line.strip()!r} ({len(cells)} fields, expected {width})",
                hint="update the NVIDIA driver, or report this output to the gitml maintainers",
            )
        rows.append(cells)
    return rows


def parse_gpu_query(output: str) -> list[Gpu]:
    """Parse `nvidia-smi --query-gpu=QUERY_FIELDS --format=csv,noheader,nounits`."""
    gpus = []
    for index, uuid, name, memory, driver, mig, bus in _rows(output, len(QUERY_FIELDS), "--query-gpu"):
        gpus.append(
            Gpu(
                index=int(index),
                uuid=uuid,
                name=name,
                memory_mib=_int(memory) or 0,
                driver_version=driver,
                mig_enabled=(_value(mig) or "").lower() == "enabled",
                pci_bus_id=bus,
            )
        )
    return gpus


def parse_cuda_version(output: str) -> str | None:
    """The "CUDA Version: 12.4" of the plain `nvidia-smi` header (or of `nvidia-smi -q`)."""
    match = re.search(r"CUDA Version\s*:\s*([0-9]+(?:\.[0-9]+)*)", output)
    return match.group(1) if match else None


def parse_mig_list(output: str) -> dict[str, tuple[MigDevice, ...]]:
    """Parse `nvidia-smi -L`: GPU UUID -> its MIG devices."""
    found: dict[str, list[MigDevice]] = {}
    current: str | None = None
    for line in output.splitlines():
        gpu = _GPU_LINE.match(line)
        if gpu:
            current = gpu.group("uuid")
            found.setdefault(current, [])
            continue
        mig = _MIG_LINE.match(line)
        if mig and current:
            found[current].append(MigDevice(mig.group("uuid"), mig.group("profile"), int(mig.group("dev"))))
    return {k: tuple(v) for k, v in found.items()}


def discover(smi: Smi = run_nvidia_smi) -> Inventory:
    """Every GPU on this machine; an empty inventory (with the reason) when there is none."""
    code, out = smi(["--query-gpu=" + ",".join(QUERY_FIELDS), "--format=csv,noheader,nounits"])
    if code == 127:
        return Inventory((), note="nvidia-smi is not installed: no NVIDIA GPU or driver on this machine")
    if code != 0 or any(s in out.lower() for s in _NO_DRIVER):
        first = next((line.strip() for line in out.splitlines() if line.strip()), f"exit code {code}")
        return Inventory((), note=f"nvidia-smi found no usable GPU: {first}")
    gpus = parse_gpu_query(out)
    if not gpus:
        return Inventory((), note="nvidia-smi lists no GPU")
    _, header = smi([])
    cuda = parse_cuda_version(header)
    warnings: list[str] = []
    if cuda is None:
        warnings.append("could not read the CUDA version from the nvidia-smi header; no cuda-* label is planned")
    if any(g.mig_enabled for g in gpus):
        code, listing = smi(["-L"])
        migs = parse_mig_list(listing) if code == 0 else {}
        gpus = [
            Gpu(**{**asdict(g), "mig_devices": migs.get(g.uuid, ())}) if g.mig_enabled else g
            for g in gpus
        ]
    return Inventory(tuple(gpus), driver_version=gpus[0].driver_version, cuda_version=cuda, warnings=tuple(warnings))


# -- health ------------------------------------------------------------------


@dataclass(frozen=True)
class GpuHealth:
    uuid: str
    index: int
    temperature_c: int | None
    memory_used_mib: int | None
    ecc_uncorrected: int | None
    processes: tuple[tuple[int, int, str], ...] = ()  # (pid, used MiB, name)


@dataclass(frozen=True)
class HealthLimits:
    max_temperature_c: int = 85
    max_memory_used_mib: int = 2048
    allow_ecc_errors: int = 0


def read_health(smi: Smi = run_nvidia_smi) -> list[GpuHealth]:
    """Temperature, memory in use, uncorrected ECC errors and compute processes of every GPU."""
    code, out = smi(["--query-gpu=" + ",".join(HEALTH_FIELDS), "--format=csv,noheader,nounits"])
    if code != 0:
        raise GitmlError(
            f"nvidia-smi failed while checking GPU health: {out.strip().splitlines()[0] if out.strip() else code}",
            hint="the GPU or its driver is not answering; check `nvidia-smi` and `dmesg` on the runner machine",
        )
    code, apps_out = smi(["--query-compute-apps=" + ",".join(APPS_FIELDS), "--format=csv,noheader,nounits"])
    apps: dict[str, list[tuple[int, int, str]]] = {}
    if code == 0 and "no running" not in apps_out.lower():
        for uuid, pid, used, name in _rows(apps_out, len(APPS_FIELDS), "--query-compute-apps"):
            apps.setdefault(uuid, []).append((_int(pid) or 0, _int(used) or 0, name))
    return [
        GpuHealth(
            uuid=uuid,
            index=int(index),
            temperature_c=_int(temp),
            memory_used_mib=_int(used),
            ecc_uncorrected=_int(ecc),
            processes=tuple(apps.get(uuid, ())),
        )
        for index, uuid, temp, used, ecc in _rows(out, len(HEALTH_FIELDS), "--query-gpu")
    ]


def health_problems(health: GpuHealth, limits: HealthLimits) -> list[str]:
    """What is wrong with one GPU, each as a sentence naming the GPU; empty when healthy."""
    gpu = f"GPU {health.index} ({health.uuid})"
    problems = []
    if health.ecc_uncorrected is not None and health.ecc_uncorrected > limits.allow_ecc_errors:
        problems.append(
            f"{gpu} has {health.ecc_uncorrected} uncorrected ECC error(s) since the driver loaded: "
            "drain this runner and reset the GPU (`nvidia-smi -r`) or replace it"
        )
    if health.temperature_c is not None and health.temperature_c >= limits.max_temperature_c:
        problems.append(
            f"{gpu} is at {health.temperature_c} C (limit {limits.max_temperature_c} C): check cooling before training"
        )
    if health.processes:
        held = ", ".join(f"pid {pid} {name} ({used} MiB)" for pid, used, name in health.processes)
        problems.append(f"{gpu} is in use by other processes: {held}; stop them or wait for them to finish")
    elif health.memory_used_mib is not None and health.memory_used_mib > limits.max_memory_used_mib:
        problems.append(
            f"{gpu} has {health.memory_used_mib} MiB in use by processes this runner cannot see "
            f"(limit {limits.max_memory_used_mib} MiB): another container or user holds it"
        )
    return problems
