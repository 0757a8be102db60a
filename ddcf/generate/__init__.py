"""Stage 1, generate half: seed-question completions from an LLM, checkpointed in shards, then verified.

Entry points: :mod:`ddcf.generate.stage` (``infer.py`` without ``--completions``, ``ddcf generate``;
options in :mod:`ddcf.generate.config`), :func:`ddcf.generate.runner.run_generation` (library),
``run_infer_all_models.sh`` (every model of ``DDCF_data/model_order.csv``).
Backends live in :mod:`ddcf.runs.backends`; prompts in :mod:`ddcf.generate.prompts`; seed
questions in :mod:`ddcf.generate.questions`; one shard's completions in :mod:`ddcf.generate.completions`;
checkpoints in :mod:`ddcf.runs.folder`; pass rates in :mod:`ddcf.generate.passrate`
(``ddcf passrate``).  Grading is :mod:`ddcf.verify.generated`.
"""
