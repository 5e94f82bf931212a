from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import pg
from tests.api.server import ADMIN_TOKEN, READ_TOKEN, RunningAcd, api_settings, running_acd

pg_server = pg.pg_server
pg_url = pg.pg_url


@pytest.fixture(scope="module")
def acd(pg_server: pg.PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    """One running ACD per test module, on its own fresh database."""
    url = pg._in_thread(lambda: pg.create_database(pg_server))
    tmp: Path = tmp_path_factory.mktemp("acd")
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key in list(os.environ):
                if key.upper().startswith("ACD_"):
                    mp.delenv(key)  # the developer's shell must not reconfigure the ACD
            settings = api_settings(url, tmp)
        with running_acd(settings) as running:
            yield running
    finally:
        pg._in_thread(lambda: pg.drop_database(pg_server, url))


@pytest.fixture
def admin(acd: RunningAcd) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=acd.base_url, timeout=10,
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        yield client


@pytest.fixture
def reader(acd: RunningAcd) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=acd.base_url, timeout=10,
                      headers={"Authorization": f"Bearer {READ_TOKEN}"}) as client:
        yield client


@pytest.fixture
def anonymous(acd: RunningAcd) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=acd.base_url, timeout=10) as client:
        yield client
