"""The app without its start-up timing of this machine, for a test server that never shows an
estimate: the disk tests', whose optimizations only hold the line.

`python tests/uncalibrated_app.py` serves `app.py` unchanged, except that the timing
(`nst.optimize.calibrate`) fails at once: some twelve CPU-seconds saved beside the other tests,
and the clock learns from the first run, as wherever the timing fails.
"""

import runpy
from pathlib import Path

from nst import optimize


def _skipped(*args: object, **kwargs: object) -> None:
    raise RuntimeError("not timed in this test server (tests/uncalibrated_app.py)")


optimize.calibrate = _skipped
runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
