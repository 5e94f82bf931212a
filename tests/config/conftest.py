from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start without ACD_* variables from the developer's shell."""
    for key in list(os.environ):
        if key.upper().startswith("ACD_"):
            monkeypatch.delenv(key)
