"""Where TensorFlow computes: the device it will use, how VGG19 computes there (the convolutions'
formulation and number format), and what to tell a person about it.

TensorFlow is imported only inside the functions that need it, so the CLI can import the
library (to validate its inputs) before TensorFlow is loaded.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nst.options import DEVICE_DEFAULTS, DeviceDefaults

Formulation = Literal["transposed", "direct"]
FORMULATIONS: tuple[Formulation, ...] = ("transposed", "direct")
NVIDIA_PROBE_PATHS = ("/proc/driver/nvidia/version",)
# VGG19's number format, resolved from `nst.options.PRECISIONS` by `precision`.
Precision = Literal["float32", "bfloat16"]
# The CPU flags (as Linux names them) of instructions that compute bfloat16: AVX512_BF16 (AMD Zen 4
# and later, Intel Cooper Lake) and AMX (Intel Sapphire Rapids and later). TensorFlow's oneDNN
# kernels use them; without them its bfloat16 convolutions fall back to slow generic code (on an
# AVX2 AMD EPYC, an evaluation at 256 px took 7x float32's: benchmarks/precision.py).
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class Device:
    """The device TensorFlow computes on: ``kind`` is "CPU" or "GPU"."""

    kind: Literal["CPU", "GPU"]
    name: str  # "NVIDIA T4", or the CPU model when it is cheap to read, else ""
    threads: int  # CPU threads TensorFlow's thread pools use

    @property
    def label(self) -> str:
        """Where a result was computed, for a person: "CPU, 2 threads" or "GPU, NVIDIA T4"."""
        if self.kind == "GPU":
            return f"GPU, {self.name}" if self.name else "GPU"
        return f"CPU, {self.threads} thread{'' if self.threads == 1 else 's'}"


def cpu_threads() -> int:
    """The CPU threads TensorFlow's thread pools use: one per CPU available to this process,
    or fewer where TensorFlow's own ``TF_NUM_INTRAOP_THREADS`` asks for fewer."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    asked = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    return min(available, int(asked)) if asked.isdigit() and int(asked) > 0 else available


@dataclass(frozen=True)
class CpuInfo:
    """This CPU as Linux describes it in /proc/cpuinfo (empty where it does not)."""

    model: str  # e.g. "AMD EPYC 9R14"
    flags: frozenset[str]  # feature flags, e.g. "avx512_bf16"
    generation: str = ""  # "family 25, model 17": which one, when the model name is generic

    def features(
        self, names: Iterable[str] = ("avx2", "avx512f", "avx512_vnni", *BFLOAT16_FLAGS)
    ) -> list[str]:
        """Which of ``names`` (the instruction sets that decide TensorFlow's speed here) it has."""
        return [name for name in names if name in self.flags]


@functools.cache
def cpu_info() -> CpuInfo:
    """This machine's CPU, read once."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), " ".join(value.split()))
                if not line.strip():  # the first processor's block is enough
                    break
    except OSError:
        pass
    generation = ""
    if "cpu family" in fields:
        generation = f"family {fields['cpu family']}, model {fields.get('model', '?')}"
    return CpuInfo(
        fields.get("model name", ""), frozenset(fields.get("flags", "").split()), generation
    )


def native_bfloat16(flags: Iterable[str]) -> bool:
    """Whether a CPU with these feature flags computes bfloat16 natively (`BFLOAT16_FLAGS`)."""
    return not set(BFLOAT16_FLAGS).isdisjoint(flags)


def _visible_gpus() -> list[tuple[str, str]]:
    from nst.runtime import tf

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except Exception:  # details are a nicety; the GPU is used either way
            details = {}
        gpus.append((gpu.name, str(details.get("device_name", "GPU"))))
    return gpus


def choose_device(gpus: Sequence[tuple[str, str]] | None = None) -> Device:
    """The device TensorFlow will use: the first GPU it sees, else the CPU.

    ``gpus`` is a list of (TensorFlow device name, human name) pairs; by default it is read from
    TensorFlow (which imports it).
    """
    if gpus is None:
        gpus = _visible_gpus()
    if gpus:
        return Device("GPU", gpus[0][1], cpu_threads())
    return cpu()


@functools.cache
def current() -> Device:
    """The device of this process, found once (TensorFlow's devices do not change)."""
    return choose_device()


def defaults(where: Device | None = None) -> DeviceDefaults:
    """What a good result costs on ``where`` (by default this process's device): the one lookup
    of `nst.options.DEVICE_DEFAULTS`."""
    return DEVICE_DEFAULTS[(where or current()).kind]


def cpu() -> Device:
    """This machine's CPU, where onnxruntime runs the lite network."""
    return Device("CPU", cpu_info().model, cpu_threads())


def nvidia_driver_present(
    probe_paths: Sequence[str | os.PathLike] = NVIDIA_PROBE_PATHS,
    command: str | None = "nvidia-smi",
) -> bool:
    """Whether an NVIDIA driver is installed: a ``probe_paths`` entry exists or ``command`` runs."""
    if any(Path(path).exists() for path in probe_paths):
        return True
    return command is not None and shutil.which(command) is not None


def _cuda_requirement() -> str:
    try:  # the installed version, read without importing TensorFlow
        return f"tensorflow[and-cuda]=={importlib.metadata.version('tensorflow')}"
    except importlib.metadata.PackageNotFoundError:
        return "tensorflow[and-cuda]"


def gpu_warning(device: Device, driver_present: bool) -> str | None:
    """One line a person can act on when an NVIDIA GPU is there but TensorFlow computes on CPU."""
    if not driver_present or device.kind != "CPU":
        return None
    requirement = _cuda_requirement()
    return (
        "An NVIDIA GPU is present but TensorFlow sees none, so this runs on the CPU: install "
        f"TensorFlow's CUDA build (`pip install '{requirement}'`, or put `{requirement}` in "
        "requirements.txt on a Space)."
    )


def onednn() -> bool:
    """Whether TensorFlow runs its CPU kernels through oneDNN (imports TensorFlow; see
    `nst/__init__.py` for why the library turns it on)."""
    import tensorflow as tf  # noqa: F401  (loads the library the check below reads)
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def formulation(device: Device, onednn_on: bool | None = None) -> Formulation:
    """How VGG19's convolutions are written on ``device`` (see `nst.vgg._convolution`), given
    whether TensorFlow's CPU kernels are oneDNN's (by default, as `onednn` finds).

    "transposed" on a CPU with oneDNN: each convolution runs as oneDNN's backward-data kernel,
    the faster one there. "direct" elsewhere: plain ``tf.nn.conv2d`` with TensorFlow's own
    gradient. Without oneDNN the trick is a loss (Eigen's backward-data kernel is the slower
    one), and on a GPU cuDNN's forward kernels are the tuned ones (docs/measurements.md,
    "Convolution formulation").
    """
    if device.kind == "GPU":
        return "direct"
    return "transposed" if (onednn() if onednn_on is None else onednn_on) else "direct"


def precision(requested: str, device: Device, flags: Iterable[str] | None = None) -> Precision:
    """The number format VGG19 computes in on ``device`` for the ``requested`` one
    (`nst.options.PRECISIONS`): "auto" is bfloat16 on a CPU that computes it natively (by its
    ``flags``, by default this machine's), else float32; on a GPU float32, which
    TensorFlow already runs as TF32 where the GPU has it.
    """
    if requested == "auto":
        native = device.kind == "CPU" and native_bfloat16(
            cpu_info().flags if flags is None else flags
        )
        return "bfloat16" if native else "float32"
    if requested not in ("float32", "bfloat16"):
        raise ValueError(f"unknown precision {requested!r}")
    return requested
