"""Read a PNG or JPEG of a digit (an upload, a file) into an RGBA array for ``canvas_to_mnist``.

Image files are untrusted: anything that is not a readable PNG or JPEG, or that would decode into
too many pixels (a small file can hold a "decompression bomb"), becomes an ``ImageReadError``
whose message a page or the command line shows as it is. The size comes from the file's header,
before a single pixel is decoded.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG")
# 4 megapixels (2000x2000): a digit needs far fewer, and a photo can be cropped. Decoding one
# costs at most ~36 MB (RGBA; benchmarks/bench_image_memory.py), so three visitors uploading at
# once stay under 150 MB; 8 megapixels would cost ~70 MB each, 64 megapixels ~500 MB.
MAX_PIXELS = 4_000_000
# canvas_to_mnist ends at 28x28; a larger working copy only costs time.
WORKING_SIZE = 560


class ImageReadError(ValueError):
    """A file cannot be used as a digit image; the message says why."""


def read_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode PNG/JPEG bytes into an (H, W, 4) uint8 array at most ``WORKING_SIZE`` on a side.

    Images over ``max_pixels`` are refused from their header, before decoding.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            if image.format not in ACCEPTED_FORMATS:
                raise ImageReadError(
                    f"This is a {image.format or 'unknown'} file; upload a PNG or JPEG image."
                )
            width, height = image.size
            if width * height > max_pixels:
                raise ImageReadError(
                    f"The image is {width:,} x {height:,} pixels ({width * height / 1e6:.0f} "
                    f"megapixels), more than the {max_pixels / 1e6:g} megapixels this app reads. "
                    "Crop it to the digit or scale it down, then try again."
                )
            # Shrink first (JPEGs decode straight at a reduced scale), then turn: phone photos
            # are often stored sideways, and turning the small copy costs nothing.
            image.thumbnail((WORKING_SIZE, WORKING_SIZE))
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGBA"))
    except ImageReadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(
            "This file is not an image that can be read; upload a PNG or JPEG of a digit."
        ) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(f"The image could not be read ({error}); it may be damaged.") from None
