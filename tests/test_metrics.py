"""`nst.metrics.sliced_wasserstein`, the judge of `benchmarks/style_loss.py`: its definition
against NumPy's quantiles, and the properties a distance needs."""

from __future__ import annotations

import numpy as np
import pytest

from nst.metrics import sliced_wasserstein


def numpy_definition(ours: np.ndarray, theirs: np.ndarray, projections: int = 256) -> float:
    """One layer's distance as the docstring defines it, with `np.quantile`."""
    a, b = (x.reshape(-1, x.shape[-1]).astype(np.float64) for x in (ours, theirs))
    directions = np.random.default_rng(0).normal(size=(a.shape[1], projections))
    directions /= np.linalg.norm(directions, axis=0)
    quantiles = np.linspace(0, 1, max(len(a), len(b)))
    pa, pb = (np.quantile(x @ directions, quantiles, axis=0) for x in (a, b))
    return float(np.mean((pa - pb) ** 2) / np.mean(pb**2))


@pytest.mark.parametrize("sizes", [((9, 11), (9, 11)), ((9, 11), (5, 7)), ((4, 6), (10, 13))])
def test_it_is_the_definition_with_numpys_quantiles(sizes) -> None:
    rng = np.random.default_rng(2)
    ours, theirs = (rng.normal(size=(1, *size, 8)).astype(np.float32) for size in sizes)
    expected = numpy_definition(ours, theirs)
    assert sliced_wasserstein({"l": ours}, {"l": theirs}) == pytest.approx(expected, rel=1e-9)


def test_it_is_zero_for_the_same_features_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(1, 12, 12, 16)).astype(np.float32)
    assert sliced_wasserstein({"l": features}, {"l": features}) == 0.0
    near, far = (
        sliced_wasserstein({"l": features + shift}, {"l": features}) for shift in (0.1, 1.0)
    )
    assert 0 < near < far
