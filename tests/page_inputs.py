"""The page's inputs for its API: `app.PageInputs` with the photo and the painting as uploads.

Call an endpoint with ``client.predict(**inputs.api("fast"), api_name="/fast")``: the values go
by parameter name, so a test names only what it changes from the page's defaults.
"""

from pathlib import Path

from gradio_client import handle_file

from app import PageInputs


def page_inputs(content: Path, style: Path, size: int, **values) -> PageInputs:
    return PageInputs(
        content=handle_file(str(content)), style=handle_file(str(style)), size=size, **values
    )
