"""ddcf: Difficulty-Diversity Collaborative Filtering for data-efficient LLM fine-tuning."""

__version__ = "0.1.0"
