from __future__ import annotations

import os

import pytest
from helpers import lib, matrix
from hypothesis import settings

settings.register_profile("ci", max_examples=500, deadline=None)
settings.register_profile("nightly", max_examples=20_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=matrix())
def lib_(request: pytest.FixtureRequest):
    """Every array library of the table on each device (PADDLEFOCAL_BACKENDS=numpy,torch selects);
    an entry that cannot run here is a skip with its reason."""
    name, device = request.param
    return lib(name, device)


@pytest.fixture
def registry():
    """``paddlefocal.backends`` with no path chosen yet (its first use), and registrations made during
    the test undone afterwards."""
    from paddlefocal import _registry, backends

    with _registry.restored():
        yield backends


@pytest.fixture(scope="session")
def paddle():
    """Paddle 3.3.1, the oracle. Missing Paddle is an error, not a skip: the oracle tests must run."""
    import paddle as paddle_module

    assert paddle_module.__version__ == "3.3.1", paddle_module.__version__
    return paddle_module
