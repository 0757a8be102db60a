"""``ddcf pull predictor REPO``: a published correctness predictor into the layout, checked against its embeddings."""
