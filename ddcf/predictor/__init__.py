"""Stage 4: the correctness predictor.

``config`` (options), ``data`` (split + embeddings), the two architectures in their own subpackages —
``factor`` (the default: ``factor.model``, ``factor.train``) and ``paper`` (the paper's residual MLP,
``--arch paper``: ``paper.model``, ``paper.train``) —, ``train`` (runs one of them), ``inference`` (batched
P(correct)), ``metrics``/``baselines``/``evaluation`` (validation), ``store`` (safetensors + JSON), ``plots``,
``stage`` (``run``) and ``cli``.
"""
