"""The toolkit every resumable model-running stage shares (generate, evaluate, distill, score).

* :mod:`ddcf.runs.engine`: :class:`EngineOptions` / :class:`ModelOptions` / :class:`SamplingOptions`, the engine
  and sampling options written once (each stage's config inherits them), and :func:`open_engine`;
* :mod:`ddcf.runs.folder`: :func:`open_run`, the one resume check (a run folder keyed on the settings that
  produced its shards; another setting is refused, naming it, or with ``--overwrite`` started over) and the
  shard files it holds (Parquet ``shard-NNNNN.parquet``, whose metadata is the completion marker);
* :mod:`ddcf.runs.shard`: :func:`generate_shard`, one shard's completions for any :class:`ShardRecipe` (stage 1
  and evaluation differ only in prompts and follow-up rule), and :func:`run_shard`, the unit of work
  "(model, shard index) -> shard file", a plain function another process (a Ray worker) can call.

Imports nothing heavy at package level: configs import :mod:`ddcf.runs.engine` and ``--help`` must stay instant.
"""
