"""Server memory while three visitors upload the largest image the Draw page accepts, at once.

Starts `streamlit run` (on the MNIST sample), opens three browser sessions on the Draw page's
upload tab, measures the server's resident memory when idle, then uploads a PNG of a digit
(RGBA, ``--side`` pixels square) in all three and samples the server's memory every 20 ms until
each session shows its answer (a prediction or a refusal):

    python benchmarks/bench_upload_memory.py [--side 2000]

2000x2000 is the largest accepted image (mnist_cnn/images.py: 4 megapixels); 7999x7999 is the
issue's 64-megapixel example, refused from its header since.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from browser_support import VIEWPORT, launch_chromium, open_app  # noqa: E402
from streamlit_server import start_server, stop_server  # noqa: E402

VISITORS = 3
# The first page run loads TensorFlow and the model: slow on a busy machine.
expect.set_options(timeout=120_000)
SAMPLE_EVERY_S = 0.02
ANSWER_TIMEOUT_MS = 120_000


def digit_png(side: int) -> bytes:
    """A thick dark 7 on white, RGBA: the most memory per pixel a PNG decodes to."""
    image = Image.new("RGBA", (side, side), "white")
    draw = ImageDraw.Draw(image)
    width = side // 12
    draw.line([(side // 4, side // 4), (3 * side // 4, side // 4)], "black", width)
    draw.line([(3 * side // 4, side // 4), (side // 2, 4 * side // 5)], "black", width)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def server_rss(process: psutil.Process) -> int:
    return process.memory_info().rss + sum(
        child.memory_info().rss for child in process.children(recursive=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2000)
    args = parser.parse_args()
    data = digit_png(args.side)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        server = start_server(Path(folder) / "models", Path(folder) / "streamlit.log")
        process = psutil.Process(server.process.pid)
        browser = launch_chromium(playwright)
        try:
            pages = []
            for _ in range(VISITORS):
                page = browser.new_context(viewport=VIEWPORT).new_page()
                open_app(page, server)
                page.get_by_role("tab", name="Upload an image").click()
                expect(page.get_by_text("Upload a picture of a digit")).to_be_visible()
                pages.append(page)
            time.sleep(2)
            idle = server_rss(process)
            peak = [idle]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], server_rss(process))
                    time.sleep(SAMPLE_EVERY_S)

            sampler = threading.Thread(target=sample)
            sampler.start()
            payload = {"name": "digit.png", "mimeType": "image/png", "buffer": data}
            for page in pages:
                page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files=[payload])
            answers = []
            for page in pages:
                answer = page.get_by_test_id("stMetricLabel").filter(has_text="Prediction")
                answer = answer.or_(page.get_by_text("megapixels this app reads"))
                expect(answer.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
                answers.append(answer.first.inner_text().split("\n")[0][:60])
            time.sleep(1)
            done.set()
            sampler.join()
        finally:
            browser.close()
            stop_server(server)
    mb = 1024 * 1024
    print(
        f"image: {args.side}x{args.side} RGBA PNG, {len(data) / 1024:,.0f} KB; answers: {answers}"
    )
    print(
        f"server idle: {idle / mb:,.0f} MB; peak during {VISITORS} uploads: {peak[0] / mb:,.0f} MB"
    )
    print(f"above idle: {(peak[0] - idle) / mb:,.0f} MB")


if __name__ == "__main__":
    main()
