"""Evaluation of a (fine-tuned) model on the ten math benchmarks of the paper's Table 2 (``eval/evaluate.py``),
and the comparison of several evaluation runs (``eval/compare.py``)."""
