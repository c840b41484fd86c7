"""Read a PNG or JPEG of a digit (an upload, a file) into an RGBA array for ``canvas_to_mnist``.

Image files are untrusted: anything that is not a readable PNG or JPEG, or that would decode into
an enormous number of pixels (a small file can hold a "decompression bomb"), becomes an
``ImageReadError`` whose message a page or the command line shows as it is.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG")
# Far above any phone photo (~50 MP), far below what would exhaust the server's memory.
MAX_PIXELS = 64_000_000
# canvas_to_mnist ends at 28x28; a larger working copy only costs time.
WORKING_SIZE = 560


class ImageReadError(ValueError):
    """A file cannot be used as a digit image; the message says why."""


def read_image(data: bytes) -> np.ndarray:
    """Decode PNG/JPEG bytes into an (H, W, 4) uint8 array at most ``WORKING_SIZE`` on a side."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageReadError(
                    f"This is a {image.format or 'unknown'} file; upload a PNG or JPEG image."
                )
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageReadError(
                    f"The image is {width:,} x {height:,} pixels, too large to process; "
                    "upload one under 64 megapixels (a crop of the digit is best)."
                )
            image = ImageOps.exif_transpose(image)  # phone photos are often stored sideways
            image.thumbnail((WORKING_SIZE, WORKING_SIZE))
            return np.asarray(image.convert("RGBA"))
    except ImageReadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(
            "This file is not an image that can be read; upload a PNG or JPEG of a digit."
        ) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(f"The image could not be read ({error}); it may be damaged.") from None
