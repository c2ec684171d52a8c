"""Shared test fixtures: the real images and models in ../shared, skipped where it is absent."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ASSETS = REPO / "assets"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The team's shared test data beside the checkout (images/, models/); skip without it."""
    if not (SHARED / "images").is_dir():
        pytest.skip(f"needs the shared test data at {SHARED} (not part of a fresh clone)")
    return SHARED


@pytest.fixture(scope="session")
def tubingen(shared: Path) -> Path:
    return shared / "images" / "tubingen.jpg"


@pytest.fixture(scope="session")
def starry_night(shared: Path) -> Path:
    return shared / "images" / "starry_night.jpg"


@pytest.fixture(scope="session")
def the_scream(shared: Path) -> Path:
    return shared / "images" / "the_scream.jpg"
