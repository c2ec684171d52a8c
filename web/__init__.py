"""The page: a Gradio app over the `nst` library, split by feature.

`web.page.build` makes the page from its features (`web.compare`, `web.inside_vgg`), each
holding its own layout, handlers and wiring; `web.inputs` holds the page's inputs and the upload
components that decode nothing themselves; `web.serve` serves it (`app.py` is the entry point).
"""
