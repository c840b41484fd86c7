"""Read ``.npz`` files that may be hostile: each array's header is checked before its data.

``numpy.load`` trusts a file: an array's header may claim any shape and dtype (a void dtype of
``|V100000000``, a billion images) and the read allocates what it claims before it finds the
data missing; a zip may list the same name many times, and each is decompressed again. Both
readers of untrusted files here, MNIST (`mnist_cnn.data`) and visitors' drawings
(`mnist_cnn.drawings_store`), go through `read_checked_arrays` instead: it reads each wanted
array once, parses its header alone, lets the caller refuse it (with the caller's own error and
words), checks that the member holds exactly the bytes the header claims, and only then reads
the data, never unpickling.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

try:  # a Python built without lzma raises RuntimeError for an LZMA member instead
    from lzma import LZMAError
except ImportError:
    LZMAError = RuntimeError

# What reading a damaged or odd zip can raise, besides the callers' own checks: a truncated or
# corrupt archive (BadZipFile, EOFError, OSError), a bad header (ValueError), a corrupt deflate
# or LZMA stream (zlib.error, LZMAError: neither is one of those), an encrypted member or an
# unknown compression method (RuntimeError, NotImplementedError).
UNREADABLE_ZIP_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
    RuntimeError,
    zlib.error,
    LZMAError,
)
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class NotAnArrayError(ValueError):
    """A member named like an array whose ``.npy`` header cannot be read."""


@dataclass(frozen=True)
class ArrayHeader:
    """What a member's header claims, and how many data bytes the member really holds."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    held_bytes: int

    @property
    def claimed_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def holds_its_claim(self) -> bool:
        return self.claimed_bytes == self.held_bytes


def read_checked_arrays(
    archive: zipfile.ZipFile, names: Iterable[str], check: Callable[[ArrayHeader], None]
) -> dict[str, np.ndarray]:
    """The arrays ``names`` that ``archive`` holds (as ``name.npy``), each read once.

    ``check`` sees each header before any data is read and raises to refuse it; whatever it
    lets through must hold the bytes its header claims, which ``check`` decides how to word
    (``ArrayHeader.holds_its_claim``). An object array is never read, whatever ``check`` says.
    Raises ``NotAnArrayError`` for a member whose header is not a ``.npy`` one.
    """
    present = set(archive.namelist())
    arrays = {}
    for name in names:
        member = f"{name}.npy"
        if member not in present:
            continue
        info = archive.getinfo(member)
        with archive.open(info) as file:
            header = _read_header(file, name, info.file_size)
        check(header)
        if header.dtype.hasobject or not header.holds_its_claim:
            raise ValueError(f"{name} was let through unchecked")  # a caller's check is missing
        with archive.open(info) as file:
            arrays[name] = np.lib.format.read_array(file, allow_pickle=False)
    return arrays


def _read_header(file, name: str, member_size: int) -> ArrayHeader:
    try:
        version = np.lib.format.read_magic(file)
        read_header = _HEADER_READERS.get(version)
        if read_header is None:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, _, dtype = read_header(file)
    except (ValueError, OSError, EOFError) as error:
        raise NotAnArrayError(f"{name} is not a NumPy array ({error})") from error
    return ArrayHeader(name, tuple(shape), np.dtype(dtype), member_size - file.tell())
