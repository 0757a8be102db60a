"""The paper's correctness predictor (``--arch paper``, Sec. 3.1 / App. A.1): ``model`` (the residual MLP of the
released code) and ``train`` (its training loop: Adam, warmup + cosine, embedding noise, best epoch by accuracy)."""
