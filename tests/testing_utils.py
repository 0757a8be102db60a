"""Skip markers that really skip, for tests of optional and GPU-only paths.

    from testing_utils import require_cuda, require_vllm

    @require_vllm
    @require_cuda
    def test_vllm_generates(): ...

Each marker checks its condition without importing the package (``find_spec``), so collecting
the suite stays fast; ``slow`` tests run only with ``DDCF_RUN_SLOW=1`` (see conftest.py).
"""

from __future__ import annotations

import os

import pytest

from ddcf.runtime import cuda_available, is_available

require_cuda = pytest.mark.skipif(not cuda_available(), reason="needs a CUDA GPU")
require_vllm = pytest.mark.skipif(not is_available("vllm"), reason="needs vllm (make gpu-env ENGINE=vllm)")
require_sglang = pytest.mark.skipif(not is_available("sglang"), reason="needs sglang (make gpu-env ENGINE=sglang)")
require_trl = pytest.mark.skipif(not is_available("trl"), reason="needs trl (make gpu-env ENGINE=train)")
slow = pytest.mark.skipif(os.environ.get("DDCF_RUN_SLOW") != "1", reason="slow opt-in test; set DDCF_RUN_SLOW=1")
