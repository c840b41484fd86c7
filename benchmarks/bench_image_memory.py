"""Peak memory of reading one uploaded image, by its size in megapixels: how the pixel cap in
mnist_cnn/images.py was chosen.

Each size runs in a fresh process (peak RSS never goes down), reading a PNG of a thick grey
stroke on white (flat images compress well: the 2 MB upload cap does not stop them):

    python benchmarks/bench_image_memory.py [--megapixels 1 2 4 8 16 64]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent

MEASURE = """
import resource, sys
sys.path.insert(0, {repo!r})
from mnist_cnn.images import ImageReadError, read_image
data = open({path!r}, "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_image(data, max_pixels=10**9)
except ImageReadError as error:
    print("refused:", error, file=sys.stderr)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024)
"""


def stroke_png(megapixels: float, mode: str) -> bytes:
    side = int((megapixels * 1e6) ** 0.5)
    image = Image.new(mode, (side, side), "white")
    ImageDraw.Draw(image).line(
        [(side // 2, side // 5), (side // 2, 4 * side // 5)], "black", side // 20
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1, 2, 4, 8, 16, 64])
    parser.add_argument("--mode", default="RGB", help="PNG colour mode (RGB, RGBA, L)")
    args = parser.parse_args()
    print(f"| megapixels | PNG size | peak memory of read_image ({args.mode}) |")
    print("|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for megapixels in args.megapixels:
            path = Path(folder) / f"{megapixels}.png"
            data = stroke_png(megapixels, args.mode)
            path.write_bytes(data)
            done = subprocess.run(
                [sys.executable, "-c", MEASURE.format(repo=str(REPO), path=str(path))],
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"| {megapixels:g} | {len(data) / 1024:,.0f} KB | {float(done.stdout):,.0f} MB |")


if __name__ == "__main__":
    main()
