"""Reading untrusted PNG/JPEG files (uploads on the Draw page, files for the CLI)."""

import io

import numpy as np
import pytest
from PIL import Image

from mnist_cnn.images import MAX_PIXELS, ImageReadError, read_image


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_reader_returns_rgba_pixels() -> None:
    pixels = read_image(png_bytes(np.zeros((40, 30), dtype=np.uint8)))
    assert pixels.shape == (40, 30, 4) and pixels.dtype == np.uint8


def test_reader_explains_damaged_files() -> None:
    with pytest.raises(ImageReadError, match="not an image that can be read"):
        read_image(b"not an image")


def test_reader_refuses_decompression_bombs() -> None:
    side = int(MAX_PIXELS**0.5) + 1  # a tiny file that would decode to > 64 megapixels
    bomb = io.BytesIO()
    Image.new("1", (side, side)).save(bomb, format="PNG")
    with pytest.raises(ImageReadError, match=r"more than the 4 megapixels this app reads"):
        read_image(bomb.getvalue())


def test_pixel_cap_is_checked_from_the_header_before_decoding() -> None:
    """Only the header survives here: decoding would fail, so the refusal came before it."""
    header_only = png_bytes(np.zeros((2001, 2000), dtype=np.uint8))[:64]
    with pytest.raises(ImageReadError, match=r"2,000 x 2,001 pixels \(4 megapixels\)"):
        read_image(header_only)
    at_the_cap = png_bytes(np.zeros((2000, 2000), dtype=np.uint8))
    assert read_image(at_the_cap).shape == (560, 560, 4)
    with pytest.raises(ImageReadError, match="could not be read"):
        read_image(png_bytes(np.zeros((2000, 2000), dtype=np.uint8))[:64])


def test_reader_refuses_other_formats() -> None:
    gif = io.BytesIO()
    Image.new("L", (28, 28)).save(gif, format="GIF")
    with pytest.raises(ImageReadError, match="PNG or JPEG"):
        read_image(gif.getvalue())


def test_reader_shrinks_large_photos() -> None:
    pixels = read_image(png_bytes(np.full((2000, 1000, 3), 255, dtype=np.uint8)))
    assert pixels.shape == (560, 280, 4)
