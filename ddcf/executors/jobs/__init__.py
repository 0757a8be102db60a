"""The shard jobs of the stages that can run on an executor (one module per stage)."""
