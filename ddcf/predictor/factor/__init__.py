"""The default correctness predictor (``--arch factor``): ``model`` (an ensemble of question-factor models) and
``train`` (each member trained on dense per-question targets, early-stopped on validation log loss)."""
