"""A long fuzzing campaign of the door: mutated images through `nst.images.load_image`, in-process.

    python benchmarks/fuzz.py CRASH_FOLDER [--runs 100000] [--limit 5] [--engine atheris]

The property of tests/test_fuzz.py over far more inputs: every input must give a float32 RGB
array in [0, 1] or an `InputError` of one line, within ``--limit`` seconds of CPU. With
Atheris (the default) the campaign is coverage-guided over Pillow's Python plugins and the
door, starting from tests/test_fuzz.py's seeds (a PNG's chunk checksums are fixed after each
mutation, or nearly every mutant would stop at its first chunk); ``--engine mutate`` applies
random mutations without coverage instead. A failure (any other exception) or an input over
the limit is saved under CRASH_FOLDER with what happened, to be replayed by
``load_image(path.read_bytes())``. Prints a Markdown section: the machine, the date, the
commit, the counts, the slowest refusal and result, and peak memory.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import hashlib
import random
import re
import resource
import signal
import struct
import sys
import time
import traceback
import warnings
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import atheris  # noqa: E402

with atheris.instrument_imports(include=["PIL", "nst"]):
    from PIL import (  # noqa: F401  (imported to be instrumented for coverage)
        BmpImagePlugin,
        GifImagePlugin,
        Image,
        ImageFile,
        JpegImagePlugin,
        PngImagePlugin,
        TiffImagePlugin,
        WebPImagePlugin,
    )

    from nst import images
from test_fuzz import seeds  # noqa: E402

from benchmarks.notes import record  # noqa: E402
from nst.errors import InputError  # noqa: E402


class Overtime(BaseException):
    """An input ran past the limit (raised from SIGPROF, so no ``except Exception`` eats it)."""


class Campaign:
    """What the inputs did, and the inputs worth keeping."""

    def __init__(self, folder: Path, limit: float, engine: str) -> None:
        self.folder, self.limit, self.engine = folder, limit, engine
        self.counts = collections.Counter()
        self.reasons = collections.Counter()  # refusals by their wording, the file name removed
        self.failures = collections.Counter()  # by exception type and where it was raised
        self.slowest = {"refusal": (0.0, b""), "result": (0.0, b"")}
        self.started = time.perf_counter()

    def run(self, data: bytes) -> None:
        """One input through the door, timed in CPU seconds, its outcome counted."""
        self.counts["inputs"] += 1
        signal.setitimer(signal.ITIMER_PROF, self.limit)
        started = time.process_time()
        try:
            image = images.load_image(data)
            outcome = "result" if _sane(image) else "failure"
            detail = "" if outcome == "result" else f"insane array {image.shape} {image.dtype}"
        except InputError as error:
            message = str(error)
            outcome = "refusal" if message and "\n" not in message else "failure"
            detail = "" if outcome == "refusal" else f"refusal not one line: {message!r}"
            self.reasons[re.sub(r"^the upload |^The file ", "", message)[:60]] += 1
        except Overtime:
            outcome, detail = "slow", f"over {self.limit} s"
        except Exception as error:  # the property's whole point: none may escape
            outcome, detail = "failure", "".join(traceback.format_exception(error))
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        seconds = time.process_time() - started
        self.counts[outcome] += 1
        if outcome in self.slowest and seconds > self.slowest[outcome][0]:
            self.slowest[outcome] = (seconds, data)
        if outcome in ("failure", "slow") or seconds > self.limit:
            self._keep(data, outcome, detail, seconds)

    def _keep(self, data: bytes, outcome: str, detail: str, seconds: float) -> None:
        """Save the input and what it did; the first five of each kind of failure only."""
        where = detail.strip().splitlines()[-1] if detail.strip() else outcome
        self.failures[where] += 1
        if self.failures[where] <= 5:
            name = f"{outcome}-{hashlib.sha1(data).hexdigest()[:12]}"
            (self.folder / f"{name}.bin").write_bytes(data)
            (self.folder / f"{name}.txt").write_text(f"{seconds:.3f} s\n{detail}\n")

    def report(self) -> str:
        wall = time.perf_counter() - self.started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        counts = self.counts
        lines = [
            f"{counts['inputs']:,} inputs ({self.engine}), through `nst.door` and the conversion "
            "to RGB, each under a CPU-time limit:",
            "",
            "| | |",
            "|---|---|",
            f"| inputs | {counts['inputs']:,} in {wall:.0f} s ({counts['inputs'] / wall:.0f}/s) |",
            f"| results | {counts['result']:,} |",
            f"| refusals (one line) | {counts['refusal']:,} |",
            f"| failures (any other exception, or a bad result) | {counts['failure']:,} |",
            f"| over {self.limit:g} s of CPU | {counts['slow']:,} |",
        ]
        for outcome, (seconds, data) in self.slowest.items():
            name = f"slowest-{outcome}.bin"
            if data:
                (self.folder / name).write_bytes(data)
            lines.append(f"| slowest {outcome} | {seconds:.3f} s ({len(data):,} bytes, {name}) |")
        lines.append(f"| peak memory (RSS) | {peak:.0f} MB |")
        lines = [line.replace(str(self.folder), "CRASHES") for line in lines]
        lines += ["", "Refusals by wording (the ten most common):", ""]
        lines += [f"- {count:,}: {reason}" for reason, count in self.reasons.most_common(10)]
        if self.failures:
            lines += ["", f"Failures and slow inputs (saved in {self.folder}):", ""]
            lines += [f"- {count:,}: {where}" for where, count in self.failures.most_common()]
        return "\n".join(lines)


def _sane(image: object) -> bool:
    """A float32 RGB array in [0, 1] whose size the door allows."""
    import numpy as np

    from nst.options import MAX_INPUT_PIXELS, MIN_SIDE

    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.float32
        and image.ndim == 3
        and image.shape[2] == 3
        and min(image.shape[:2]) >= MIN_SIDE
        and image.shape[0] * image.shape[1] <= MAX_INPUT_PIXELS
        and bool(np.isfinite(image).all())
        and 0 <= float(image.min()) <= float(image.max()) <= 1
    )


def _with_png_checksums(data: bytes) -> bytes:
    """``data`` with every PNG chunk's CRC recomputed (unchanged when it is not a PNG)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    fixed, position = bytearray(data), 8
    while position + 12 <= len(fixed):
        length = int.from_bytes(fixed[position : position + 4], "big")
        end = position + 8 + length
        if end + 4 > len(fixed):
            break
        fixed[end : end + 4] = struct.pack(">I", zlib.crc32(fixed[position + 4 : end]))
        position = end + 4
    return bytes(fixed)


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random mutations, as tests/test_fuzz.py draws them."""
    mutable = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not mutable:
            break
        at = rng.randrange(len(mutable))
        action = rng.choice(("flip", "insert", "delete", "truncate", "repeat", "field"))
        if action == "flip":
            mutable[at] ^= 1 << rng.randrange(8)
        elif action == "insert":
            mutable[at:at] = rng.randbytes(rng.randint(1, 16))
        elif action == "delete":
            del mutable[at : at + rng.randint(1, 16)]
        elif action == "truncate":
            del mutable[at:]
        elif action == "repeat":
            end = min(len(mutable), at + rng.randint(1, 256))
            mutable[end:end] = mutable[at:end] * rng.randint(1, 8)
        else:
            size = rng.choice((1, 2, 4))
            value = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF))
            mutable[at : at + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(
                size, rng.choice(("little", "big"))
            )
    return _with_png_checksums(bytes(mutable))


def _record(campaign: Campaign) -> None:
    """The campaign's figures, into docs/measurements.md and on stdout."""
    command = f"benchmarks/fuzz.py CRASHES --runs {campaign.counts['inputs']}"
    print(record("Fuzzing the door", command, campaign.report()), flush=True)


def _expire(signum: int, frame: object) -> None:
    raise Overtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crashes", type=Path, help="folder for failing and slow inputs")
    parser.add_argument("--runs", type=int, default=100_000, help="inputs to try")
    parser.add_argument("--limit", type=float, default=5.0, help="CPU seconds an input may take")
    parser.add_argument("--engine", choices=("atheris", "mutate"), default="atheris")
    parser.add_argument("--seed", type=int, default=0, help="of --engine mutate")
    args, libfuzzer = parser.parse_known_args()
    args.crashes.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")  # Pillow's warnings of damaged metadata: not the property
    signal.signal(signal.SIGPROF, _expire)
    corpus = seeds()
    if args.engine == "mutate":
        campaign = Campaign(args.crashes, args.limit, f"random mutations, seed {args.seed}")
        rng = random.Random(args.seed)
        for _ in range(args.runs):
            campaign.run(_mutate(corpus[rng.choice(sorted(corpus))], rng))
        _record(campaign)
        return
    engine = f"Atheris {_version('atheris')}, coverage-guided"
    campaign = Campaign(args.crashes, args.limit, engine)
    atexit.register(lambda: _record(campaign))
    start = args.crashes / "seeds"  # libFuzzer's corpus folder: the seeds, then what it adds
    start.mkdir(exist_ok=True)
    for name, data in corpus.items():
        (start / name).write_bytes(data)

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        return _with_png_checksums(atheris.Mutate(data, max_size))

    atheris.Setup(
        [
            sys.argv[0],
            f"-atheris_runs={args.runs}",
            "-max_len=65536",
            "-rss_limit_mb=8192",
            "-timeout=120",  # a C decoder stuck past any SIGPROF: libFuzzer stops the run
            "-close_fd_mask=2",  # libtiff's messages; libFuzzer's own still show
            *libfuzzer,
            str(start),
        ],
        campaign.run,
        custom_mutator=mutator,
    )
    atheris.Fuzz()


def _version(package: str) -> str:
    from importlib import metadata

    return metadata.version(package)


if __name__ == "__main__":
    main()
