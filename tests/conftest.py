"""Shared fixtures.

``prefect_harness``: ONE temporary Prefect server (``prefect_test_harness``) for the whole pytest
session, started only when a test asks for it (starting one costs ~13 s). Tests that run a flow
take it and are marked ``@pytest.mark.flow``; every other test runs the library without Prefect.
With pytest-xdist (``python3 dev.py test`` runs the suite on every CPU) a session is one worker's:
each worker that meets a flow test starts its own server.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    # a guard against a hang, not a speed target: a new server builds its database first, which took a
    # temporary server over 3 minutes once on a busy CI machine (about 10 s here)
    with prefect_test_harness(server_startup_timeout=600):
        yield


def pytest_collection_modifyitems(config, items):
    # A test that takes the harness is a flow test, whether or not it was marked.
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.flow)
