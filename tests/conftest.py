import os

import pytest

# Tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def layout(tmp_path):
    from ddcf.layout import Layout

    return Layout(tmp_path / "work")
