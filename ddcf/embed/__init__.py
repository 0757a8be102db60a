"""Stage 3: sentence embeddings of seed and corpus questions."""
