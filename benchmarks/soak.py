"""Disk soak: many maximum-size uploads and many results against the app on localhost, while
the cache folder's size and the server's memory are sampled.

The app runs with its cache in a temporary folder and its own upload limit (80 MB by default);
the age and the total are shrunk (by the same environment variables a Space owner sets) so that
a run of minutes crosses both. Reports the folder's peak and final size against the bound, and
the server's memory after a warm-up, at peak and at the end. Writes its section of
docs/measurements.md.

    .venv/bin/python benchmarks/soak.py [--uploads 40] [--results 40] [--size 1024] \\
        [--total-mb 512] [--age 20] [--sweep 2] [--deadline 900]

Traffic goes only to 127.0.0.1; every loop is bounded in count and the run in time
(--deadline); the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # a client per visitor
from page_inputs import visitor

from benchmarks.load import CONTENT, free_port, inputs, rss_mib, start_server
from benchmarks.notes import record
from nst.images import load_image
from web.cache import folder_size
from web.settings import MB, ServerSettings

UPLOAD = ServerSettings().max_image_upload  # the largest image upload the page takes

WORKERS = 4  # clients at once


class Sampler(threading.Thread):
    """Samples the folder's size and the server's memory until stopped; keeps the peaks."""

    def __init__(self, folder: Path, pid: int) -> None:
        super().__init__(daemon=True)
        self.folder, self.pid = folder, pid
        self.peak_bytes = self.peak_rss = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            self.peak_bytes = max(self.peak_bytes, folder_size(self.folder))
            self.peak_rss = max(self.peak_rss, rss_mib(self.pid))


def upload(url: str, index: int) -> int:
    """One upload of the largest size allowed (random bytes: each one a new file)."""
    data = os.urandom(UPLOAD)
    files = {"files": (f"soak{index}.png", data)}
    return httpx.post(f"{url}gradio_api/upload", files=files, timeout=120).status_code


def grainy_photo(path: Path, size: int) -> Path:
    """The cat photo at ``size`` px with a camera's grain (noise of 8 levels): its results keep
    fine detail, so their PNGs are as large as a detailed photo's, not a smooth enlargement's."""
    image = load_image(CONTENT, size) * 255
    noisy = image + np.random.default_rng(0).normal(0, 8, image.shape)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path)
    return path


def result(url: str, size: int, index: int, photo: Path) -> tuple[str, int]:
    """One fast result at ``size`` px (a different strength each time: a new file each): the
    line under it (the ⚠️ line of a failure), and its PNG's bytes."""
    client = visitor(url)
    try:
        image, numbers = client.predict(**inputs(size, index, photo).api("fast"), api_name="/fast")
    except httpx.HTTPStatusError as error:  # the photo's upload refused (507: no room)
        return f"⚠️ the photo's upload was refused: {error.response.status_code}", 0
    return numbers, Path(image).stat().st_size if image else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=40, help="uploads of the largest size")
    parser.add_argument("--results", type=int, default=40, help="fast results")
    parser.add_argument("--size", type=int, default=1024, help="the results' long side, px")
    parser.add_argument("--total-mb", type=int, default=512, help="the cache's bound, MB")
    parser.add_argument("--age", type=float, default=20, help="the cache's age, seconds")
    parser.add_argument("--sweep", type=float, default=2, help="seconds between sweeps")
    parser.add_argument("--deadline", type=float, default=900, help="stop after S seconds")
    args = parser.parse_args()
    if args.total_mb * MB < ServerSettings().max_upload:  # the app refuses to start
        parser.error(
            f"--total-mb must be at least the upload limit, {ServerSettings().max_upload / MB:g}"
        )

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory(prefix="soak-") as temporary:
        folder = Path(temporary) / "cache"
        photo = grainy_photo(Path(temporary) / "photo.png", args.size)
        server = start_server(
            port,
            GRADIO_TEMP_DIR=str(folder),
            NST_CACHE_MAX_MB=str(args.total_mb),
            NST_CACHE_MAX_AGE=str(args.age),
            NST_CACHE_SWEEP_INTERVAL=str(args.sweep),
        )
        try:
            # Warm up at the run's concurrency (the engine loaded, per-thread arenas made).
            with ThreadPoolExecutor(WORKERS) as pool:
                list(pool.map(lambda i: result(url, args.size, i, photo), range(WORKERS)))
            time.sleep(2)
            warm_rss = rss_mib(server.pid)
            sampler = Sampler(folder, server.pid)
            sampler.start()
            started = time.monotonic()
            with ThreadPoolExecutor(WORKERS) as pool:
                uploads = [pool.submit(upload, url, i) for i in range(args.uploads)]
                results = [
                    pool.submit(result, url, args.size, WORKERS + i, photo)
                    for i in range(args.results)
                ]
                deadline = started + args.deadline
                statuses = [job.result(max(deadline - time.monotonic(), 1)) for job in uploads]
                numbers = [job.result(max(deadline - time.monotonic(), 1)) for job in results]
            busy = time.monotonic() - started
            time.sleep(args.age + 2 * args.sweep)  # everything is past the age, and swept
            sampler.stopped.set()
            sampler.join()
            final_bytes, final_rss = folder_size(folder), rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)

    refused = len(statuses) - statuses.count(200)
    failures = sorted({line for line, _ in numbers if line.startswith("⚠️")})
    mean = sum(size for _, size in numbers) / max(len(numbers), 1) / MB
    peak, final = sampler.peak_bytes / MB, final_bytes / MB
    body = (
        f"The cache's bound {args.total_mb} MB, its age {args.age:g} s, a sweep every "
        f"{args.sweep:g} s; {len(statuses)} uploads of {UPLOAD / MB:g} MB (the largest image "
        f"upload the page takes), {refused} refused; {len(numbers)} fast results at "
        f"{args.size} px from a grainy photo ({mean:.2f} MB each), "
        f"{sum(line.startswith('⚠️') for line, _ in numbers)} failed; {WORKERS} clients at "
        f"once, {busy:.0f} s in all, then the age and two sweeps more:\n\n"
        "| measure | value |\n| --- | --- |\n"
        f"| cache folder, peak / final | {peak:.0f} / {final:.1f} MB |\n"
        f"| server memory, warm / peak / final | {warm_rss:.0f} / {sampler.peak_rss:.0f} / "
        f"{final_rss:.0f} MiB ({(final_rss - warm_rss) / warm_rss:+.1%}) |"
        + "".join(f"\n\n{line}" for line in failures)
    )
    command = (
        f"benchmarks/soak.py --uploads {args.uploads} --results {args.results} "
        f"--size {args.size} --total-mb {args.total_mb} --age {args.age:g} "
        f"--sweep {args.sweep:g} --deadline {args.deadline:g}"
    )
    print(record("Disk soak: the cache folder within its bound", command, body))


if __name__ == "__main__":
    main()
