"""Which handwriting style an unsure answer probably comes from, in words.

MNIST's writers mostly wrote a 1 as a plain stick, a 7 without a bar, a 4 open at the top and
a 9 with a straight stem; much of the world writes otherwise. When the model hesitates between
two digits that such a style confuses, the Draw page says so and offers to teach the model the
visitor's way (Your drawings), rather than only showing a low probability. The pairs are the
confusions measured on handwriting from other writers (issue 18) and on the pen set
(``benchmarks/bench_accuracy.py``, ``benchmarks/bench_other_hands.py``).
"""

from __future__ import annotations

STYLE_HINTS: dict[frozenset[int], str] = {
    frozenset({1, 7}): "1s written with a flag are often read as 7, and 7s written without a "
    "bar as 1",
    frozenset({1, 4}): "1s written with a long flag and a base are sometimes read as 4",
    frozenset({4, 9}): "4s closed at the top are often read as 9, and 9s left open as 4",
    frozenset({3, 9}): "9s with a curved tail are sometimes read as 3",
    frozenset({4, 6}): "open 4s are sometimes read as 6",
    frozenset({2, 7}): "2s without a loop or a flat base are sometimes read as 7",
}


def style_hint(digit: int, runner_up: int) -> str | None:
    """Why the model may hesitate between ``digit`` and ``runner_up``, when a writing style
    explains it; None for pairs no style explains."""
    return STYLE_HINTS.get(frozenset({int(digit), int(runner_up)}))
