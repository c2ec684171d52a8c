"""The page's inputs for its API: `web.inputs.PageInputs` with the photo and the painting as
uploads.

Call an endpoint with ``client.predict(**inputs.api("fast"), api_name="/fast")``: the values go
by parameter name, so a test names only what it changes from the page's defaults.
"""

import itertools
import os
from pathlib import Path

from gradio_client import Client, handle_file

from web.inputs import PageInputs


def page_inputs(content: Path, style: Path, size: int, **values) -> PageInputs:
    return PageInputs(
        content=handle_file(str(content)), style=handle_file(str(style)), size=size, **values
    )


_addresses = itertools.count(1)


def visitor(url: str) -> Client:
    """An API client that is a visitor of its own: every request it sends comes from an address
    of its own (X-Forwarded-For, which the server trusts from localhost as a proxy's), since the
    page gives each visitor one optimization at a time and the tests all run on localhost."""
    number = next(_addresses)
    address = f"10.{os.getpid() % 250}.{number // 250}.{number % 250 + 1}"
    return Client(url, verbose=False, headers={"X-Forwarded-For": address})
