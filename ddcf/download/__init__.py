"""Stage 0: the published seed questions and full corpus from the Hub, as the layout's question tables."""
