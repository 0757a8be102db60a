"""``ddcf distill``: teacher responses for exactly the selected questions (select, then distill)."""
