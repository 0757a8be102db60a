"""Stage 4: the correctness predictor.

``config`` (options), ``data`` (split + embeddings), ``model`` (the network), ``fastpath``
(the fused training step), ``train`` (the loop), ``metrics``/``baselines``/``evaluation``
(validation), ``store`` (safetensors + JSON), ``plots``, ``stage`` (``run``) and ``cli``.
"""
