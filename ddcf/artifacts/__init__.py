"""The files that pass between stages, one module each: where a file lives (from :class:`ddcf.layout.Layout`),
its columns, its one reader (with its validation) and its one writer (atomic, through :mod:`ddcf.io`).

==============  ==========================================================  ========================
module          file(s)                                                     written by -> read by
==============  ==========================================================  ========================
``seed``        DDCF_data/seed/questions.parquet                            stage 0/1/2 -> 1, 2, 3, probe
``corpus``      DDCF_data/corpus/questions.parquet                          stage 0 -> 3, 5, 6, score, distill, report
``verdicts``    DDCF_data/verdicts/<model>.parquet                          stage 1 -> 2, select (seed pools), probe
``matrix``      DDCF_data/correctness/{matrix,train,val,test}.parquet       stage 2 -> 4, probe, push, summary
``embeddings``  DDCF_data/embeddings/{seed,corpus}.npy (+ ids, manifest)    stage 3 -> 4, 5, 6, report, probe
``predictor``   DDCF_data/predictor/{model.safetensors,config,metrics}.json stage 4 -> 5, probe, push, select
``difficulty``  factorized_data/<model>.parquet                             stage 5 -> 6, report, summary
``selection``   DDCF_data/selection/<model>/<run>/                          stage 6 -> report, distill, sft, push
``sft_run``     DDCF_data/sft/<model>/<run>/sft_report.json, run config     stage 7 -> run.sh, evaluate
``eval_run``    <eval dir>/predictions.parquet, results.{json,md,csv}       evaluate -> compare, run.sh
==============  ==========================================================  ========================

Stages import these modules and libraries, never another stage's ``stage.py``.  Import a module, not this
package's names: ``from ddcf.artifacts import corpus; corpus.read_corpus(layout, columns=...)``.
"""
