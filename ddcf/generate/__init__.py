"""Stage 1, generate half: seed-question completions from an LLM, checkpointed in shards, then verified.

Entry points: :func:`ddcf.generate.runner.run_generation` (library),
:mod:`ddcf.generate.cli` (``infer.py`` without ``--completions``),
``run_infer_all_models.sh`` (every model of ``DDCF_data/model_order.csv``).
Backends live in :mod:`ddcf.generate.backends`; prompts in
:mod:`ddcf.generate.prompts`; pass rates in :mod:`ddcf.generate.passrate`.
"""
