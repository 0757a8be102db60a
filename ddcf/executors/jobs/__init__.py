"""Shard jobs that belong to no single stage package (generation: the run toolkit's unit of work)."""
