"""The Hugging Face Space's entry point: build the page and serve it.

`python app.py` serves on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (127.0.0.1:7860 by default); the
host's other settings are read from the environment once, here (`web.settings`).
"""

from web.page import build
from web.serve import serve
from web.settings import ServerSettings

settings = ServerSettings.from_environment()
demo = build(settings)  # what Gradio's reload mode (`gradio app.py`) looks for

if __name__ == "__main__":
    serve(demo, settings)
