import io

import pytest

from ddcf.errors import DDCFError
from ddcf.runtime import (
    DeviceError,
    MissingDependencyError,
    PlainProgress,
    check_device,
    is_available,
    progress,
    require,
    resolve_device,
    usable_cores,
)


def test_check_device_accepts_the_documented_forms():
    assert [check_device(d) for d in ("auto", "CPU", " cuda ", "cuda:1")] == ["auto", "cpu", "cuda", "cuda:1"]
    with pytest.raises(DeviceError, match="--chunk_device is 'gpu'"):
        check_device("gpu", flag="--chunk_device")
    assert issubclass(DeviceError, DDCFError)


def test_resolve_device_on_this_machine():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="sees no CUDA GPU"):
            resolve_device("cuda:0")


def test_usable_cores_and_optional_dependencies():
    assert usable_cores() >= 1
    assert is_available("numpy") and not is_available("surely_not_a_package_ddcf")
    require("numpy", "pip install numpy", "this test")
    with pytest.raises(MissingDependencyError) as e:
        require("surely_not_a_package_ddcf", "pip install 'ddcf[vllm]'", "--backend vllm")
    assert "--backend vllm" in str(e.value) and "pip install 'ddcf[vllm]'" in str(e.value)


def test_plain_progress_writes_lines_not_carriage_returns():
    out = io.StringIO()
    bar = PlainProgress(total=10, desc="embedding", unit="q", interval=0.0, file=out)
    for _ in range(3):
        bar.update(2)
    bar.close()
    bar.close()  # idempotent
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 4
    assert text.splitlines()[-1].startswith("embedding: 6/10 q (60%)")


def test_progress_picks_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    assert list(progress(range(3), desc="x", file=out)) == [0, 1, 2]
    assert "x: 3/3" in out.getvalue()
    silent = progress(total=5, enabled=False)
    silent.update(5)
    silent.close()
