"""Stage 4: the correctness predictor.

``config`` (options), ``data`` (split + embeddings), ``model`` (the network), ``train`` (the loop),
``metrics``/``baselines``/``evaluation`` (validation), ``store`` (safetensors + JSON), ``plots``,
``stage`` (``run``) and ``cli``.
"""
