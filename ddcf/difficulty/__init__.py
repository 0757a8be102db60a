"""Stage 5: predicted correctness of every corpus question for one or all models.

``config`` (options), ``compat`` (do predictor, corpus and model names fit together), ``scoring``
(the chunked scoring), ``plots`` (histograms), ``stage`` (``run``) and ``cli``.
"""
