"""What the person who hosts the page chooses: read from the environment once, when it starts.

Every setting has a default fit for a free Hugging Face Space (2 CPU cores, 16 GB, a disk shared
by every visitor's uploads and results) and an environment variable named beside it in
`ServerSettings`; megabytes are 2**20 bytes, as the page counts them. The library (`nst/`) reads
none of these: the page passes them in.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from nst.errors import InputError
from nst.options import MAX_IMAGE_BYTES

MB = 2**20


def _number(environ: Mapping[str, str], name: str, default: float, at_least: float = 0) -> float:
    """The environment variable ``name`` as a number above ``at_least``, or ``default``."""
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > at_least):
        raise InputError(f"{name} must be a number above {at_least:g}, not '{raw}'.")
    return value


@dataclass(frozen=True)
class ServerSettings:
    """The host's choices, each with its environment variable named in its comment;
    `from_environment` reads them."""

    host: str = "127.0.0.1"  # GRADIO_SERVER_NAME (0.0.0.0 on a Space)
    port: int = 7860  # GRADIO_SERVER_PORT
    # An upload: an image file up to the library's limit (any photo the pixel limit admits),
    # a clip up to the video limit. NST_MAX_UPLOAD_MB.
    max_upload: int = 200 * MB
    # Files untouched this long are deleted: an hour for a person to come back to a page.
    # NST_CACHE_MAX_AGE, seconds.
    cache_max_age: float = 3600.0
    # The cache folder's total (uploads and results), the oldest files going first: 2 GB is ten
    # of the largest uploads, or some 1,800 of the page's 1024 px results; a free Space's disk
    # is 50 GB. NST_CACHE_MAX_MB.
    cache_max_bytes: int = 2048 * MB
    # How often the cache is swept (an upload that would cross the total sweeps it at once).
    # NST_CACHE_SWEEP_INTERVAL, seconds.
    cache_sweep_interval: float = 60.0
    # A clip on the Video tab: at most this long (NST_VIDEO_MAX_SECONDS), its output at most
    # this short side (NST_VIDEO_MAX_SIZE): 20 s at 360p take about a minute on 2 cores.
    video_max_seconds: float = 20.0
    video_max_size: int = 480
    # A webcam stream: each visitor's at most this long (NST_WEBCAM_SECONDS).
    webcam_seconds: float = 60.0
    # How many proxies stand between visitors and the server, each adding the address it saw to
    # X-Forwarded-For: 1 on a Space (SPACE_ID is set there), else 0. NST_PROXY_HOPS.
    proxy_hops: int = 0

    @property
    def max_image_upload(self) -> int:
        """An image upload's limit: the host's, within the library's."""
        return min(self.max_upload, MAX_IMAGE_BYTES)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> ServerSettings:
        """The settings as the environment gives them; a bad value is refused in one line."""
        defaults = cls()
        mb = {name: getattr(defaults, name) / MB for name in ("max_upload", "cache_max_bytes")}
        settings = cls(
            host=environ.get("GRADIO_SERVER_NAME", defaults.host),
            port=int(_number(environ, "GRADIO_SERVER_PORT", defaults.port)),
            max_upload=int(_number(environ, "NST_MAX_UPLOAD_MB", mb["max_upload"]) * MB),
            cache_max_age=_number(environ, "NST_CACHE_MAX_AGE", defaults.cache_max_age),
            cache_max_bytes=int(_number(environ, "NST_CACHE_MAX_MB", mb["cache_max_bytes"]) * MB),
            cache_sweep_interval=_number(
                environ, "NST_CACHE_SWEEP_INTERVAL", defaults.cache_sweep_interval
            ),
            video_max_seconds=_number(environ, "NST_VIDEO_MAX_SECONDS", defaults.video_max_seconds),
            video_max_size=int(_number(environ, "NST_VIDEO_MAX_SIZE", defaults.video_max_size)),
            webcam_seconds=_number(environ, "NST_WEBCAM_SECONDS", defaults.webcam_seconds),
            proxy_hops=int(
                _number(environ, "NST_PROXY_HOPS", 1 if "SPACE_ID" in environ else 0, at_least=-1)
            ),
        )
        if settings.cache_max_bytes < settings.max_upload:
            raise InputError(
                "NST_CACHE_MAX_MB must be at least the upload limit (NST_MAX_UPLOAD_MB): no "
                "upload would fit."
            )
        return settings
