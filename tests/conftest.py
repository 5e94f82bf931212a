"""Suite-wide setup: the ACD's logs go to stderr (as in production), never into the
stdout that CLI tests read."""

from __future__ import annotations

import pytest

from acd.logging import configure_logging


@pytest.fixture(autouse=True, scope="session")
def _logs_to_stderr() -> None:
    configure_logging("INFO", "json")
