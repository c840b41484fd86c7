"""The held-out "not a digit" kinds: canvases of the right form, with ink, the same for a seed."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn import canvas_to_mnist
from sketchbook.unseen_kinds import UNSEEN_KINDS, render_unseen, unseen_set


@pytest.mark.parametrize("kind", UNSEEN_KINDS)
def test_each_kind_is_a_canvas_with_ink(kind: str) -> None:
    for seed in range(3):
        canvas = render_unseen(kind, seed=seed)
        assert canvas.shape == (280, 280, 4)
        assert canvas.dtype == np.uint8
        assert canvas_to_mnist(canvas) is not None


@pytest.mark.parametrize("kind", UNSEEN_KINDS)
def test_a_seed_gives_the_same_canvas_and_other_seeds_others(kind: str) -> None:
    first = render_unseen(kind, seed=7)
    assert np.array_equal(first, render_unseen(kind, seed=7))
    assert not np.array_equal(first, render_unseen(kind, seed=8))


def test_the_set_holds_every_kind_in_order_and_is_deterministic() -> None:
    canvases, kinds = unseen_set(2, seed=3)
    assert canvases.shape == (2 * len(UNSEEN_KINDS), 280, 280, 4)
    assert kinds == [kind for kind in UNSEEN_KINDS for _ in range(2)]
    again, _ = unseen_set(2, seed=3)
    assert np.array_equal(canvases, again)


def test_an_unknown_kind_is_refused_with_the_kinds_named() -> None:
    with pytest.raises(ValueError, match="serif letter"):
        render_unseen("doodle")
