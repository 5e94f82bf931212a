"""Locate promtool for the tests: skip without it locally, fail without it in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is required in CI (Debian: apt-get install prometheus)")
        pytest.skip("promtool not installed (Debian: apt-get install prometheus)")
    return path
