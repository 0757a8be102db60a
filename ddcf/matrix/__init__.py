"""Stage 2: the long-format correctness matrix, the model order and the by-question split.

``config.py`` holds the options, ``sources.py`` reads the verdicts (infer.py's tables, a user
table, or pass-rate tables), ``split.py`` orders the models and splits the questions,
``build.py`` collapses and writes the matrix, ``stage.py`` is the stage's ``run``.
"""
