"""Stage 0': the published binary-correctness repo -> per-model verdict tables and model_order.csv."""
