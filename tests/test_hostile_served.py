"""The hostile corpus through the served page, as a visitor's API client sends it.

The whole corpus goes through the library and the command line (tests/test_hostile.py) and
through the served API in every role in `benchmarks/hostile.py`; here, to keep `make test`
short, the PostScript canary in every role an image takes on the page (content, style, second
style, mask file, the mask editor's background, layers and composite) and one kind of each
family, each in a role of its own. Each is one line or a correct result, the canary is never
written, the server keeps serving and logs no traceback. And the mask editor's other door, the
canvas the browser sends as bytes before the request: decoded only by `nst.door`.
"""

from __future__ import annotations

import itertools
import urllib.request
from pathlib import Path

import hostile
import pytest
from gradio.components.image_editor import AcceptBlobs, EditorData

from nst.options import PAGE_MIN_SIZE

pytest.importorskip("gradio_client")
from gradio_client import handle_file
from page_inputs import page_inputs, visitor

from web.inputs import MaskEditor, PageInputs

ROLES = ("content", "style", "second_style", "mask_file", "mask")
FAILED = "⚠️"


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> list[hostile.Kind]:
    folder = tmp_path_factory.mktemp("corpus")
    return [kind for kind in hostile.corpus(folder, flood_bytes=2**16) if kind.uploadable]


def _inputs(kind: hostile.Kind, role: str) -> dict:
    """The /fast endpoint's values with ``kind`` as ``role``, the page's defaults otherwise."""
    content, style, extra = hostile.GOOD_PHOTO, Path("assets/style_swirls.jpg"), {}
    if role == "content":
        content = kind.path
    elif role == "style":
        style = kind.path
    elif role == "mask":  # the editor's value as an API client can send it: any file in each part
        part = handle_file(str(kind.path))
        extra["mask"] = {"background": part, "layers": [part], "composite": part}
    else:
        extra[role] = handle_file(str(kind.path))
    return page_inputs(content, style, PAGE_MIN_SIZE, **extra).api("fast")


def _outcome(client, kind: hostile.Kind, role: str) -> str:
    image, text = client.predict(**_inputs(kind, role), api_name="/fast")
    if image is not None:
        return "result"
    assert isinstance(text, str) and text.startswith(FAILED) and "\n" not in text, text
    return "refused: " + text.removeprefix(FAILED).strip()


def _serving(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=10) as page:
        return page.status == 200


@pytest.mark.parametrize("role", ROLES)
def test_the_postscript_canary_is_refused_in_every_role(app_server, kinds, role: str) -> None:
    (kind,) = [kind for kind in kinds if kind.name == "eps"]
    outcome = _outcome(visitor(app_server.url), kind, role)
    assert outcome.startswith("refused: ") and "PostScript" in outcome, outcome
    assert not kind.canary_path().exists(), "the PostScript ran"
    assert _serving(app_server.url)


def test_one_kind_of_each_family_in_a_role_of_its_own(app_server, kinds) -> None:
    client, folders = visitor(app_server.url), ("/tmp/", str(Path.cwd()))
    wrong = []
    for kind, role in zip(hostile.representatives(kinds), itertools.cycle(ROLES), strict=False):
        outcome = _outcome(client, kind, role)
        if not hostile.served_as_expected(kind, role, outcome, PAGE_MIN_SIZE, folders):
            wrong.append(f"{kind.name} as {role}: {outcome}")
    assert not wrong
    assert _serving(app_server.url)
    assert "Traceback" not in app_server.log.read_text()


def test_the_canvas_the_browser_sends_is_decoded_by_the_door_alone(kinds) -> None:
    """The editor's canvas arrives as bytes (`accept_blobs`) before the request names it by id:
    written to files undecoded, then refused by the door when the mask is read."""
    (kind,) = [kind for kind in kinds if kind.name == "eps"]
    editor = MaskEditor(type="filepath")
    blob = kind.path.read_bytes()
    for part in ("background", "composite", "layer"):
        data = {"id": "canvas", "type": part, "index": 1 if part == "layer" else None, "file": b""}
        editor.accept_blobs(AcceptBlobs(data=data, files=[("blob", blob)]))
    canvas = editor.preprocess(EditorData(id="canvas"))
    assert len(canvas["layers"]) == 1 and all(Path(p).is_file() for p in canvas["layers"])
    inputs = PageInputs(content=str(hostile.GOOD_PHOTO), style=str(hostile.GOOD_PHOTO), mask=canvas)
    with pytest.raises(Exception, match="PostScript"):
        inputs.mask_map()
    assert not kind.canary_path().exists()
