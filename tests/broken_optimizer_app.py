"""The app with an optimizer that raises: how a bug inside the optimizer's thread reaches a user.

`python tests/broken_optimizer_app.py` serves `app.py` unchanged, except that every L-BFGS run
raises at its first step, in the optimizer's worker thread.
"""

import runpy
from pathlib import Path

from nst import lbfgs


def _broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected failure in the optimizer's thread")


lbfgs.minimize = _broken
runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
