"""Constants of the distill tests' selection (a corpus of N questions, K selected)."""

MODEL = "org/Target-7B"
N, K = 24, 10


def right(i: int) -> bool:
    """By design: the dummy teacher's answer is the last number of the question, so even questions get a gold
    it can reach and odd ones a gold it never writes."""
    return i % 2 == 0
