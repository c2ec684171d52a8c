"""How results are described to a person: the optimized result against the fast one."""

import pytest

from nst import report


def _losses(style: float, content: float) -> dict:
    return {"style_loss": style, "content_loss": content, "total": style + content}


@pytest.mark.parametrize(
    "fast, optimized, words",
    [
        # A typical run from the fast result: far closer to the painting, the photo as kept.
        (
            _losses(1.6e8, 1.27e7),
            _losses(1.45e7, 1.2e7),
            "Style 11× closer to the painting than Fast, photo kept as well",
        ),
        (
            _losses(3e7, 1e7),
            _losses(2e7, 1.5e7),
            "Style 1.5× closer to the painting than Fast, 1.5× further from the photo",
        ),
        # Worse on style (say, stopped at once from the photo): said so, not hidden.
        (
            _losses(1e7, 2e7),
            _losses(4e7, 5e6),
            "Style 4.0× further from the painting than Fast, 4.0× closer to the photo",
        ),
        (
            _losses(1e7, 1e7),
            _losses(1.05e7, 0.95e7),
            "Style as close to the painting as Fast, photo kept as well",
        ),
    ],
)
def test_the_optimized_result_is_described_against_the_fast_one(
    fast: dict, optimized: dict, words: str
) -> None:
    assert report.versus_fast(fast, optimized) == words


def test_a_loss_of_zero_still_gives_a_ratio() -> None:
    # Optimized from the photo and stopped before any step: its content loss is exactly zero.
    words = report.versus_fast(_losses(2e7, 1e7), _losses(3e7, 0.0))
    assert words == "Style 1.5× further from the painting than Fast, over 1000× closer to the photo"
