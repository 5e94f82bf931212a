"""One running ACD per test module, on a fresh PostgreSQL database, driven by sipp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pg
from tests.sipp.harness import RunningAcd, make_config, require_sipp, running_acd

pg_server = pg.pg_server


@pytest.fixture(scope="module")
def module_db(pg_server: pg.PgServer) -> Iterator[str]:
    url = pg._in_thread(lambda: pg.create_database(pg_server))
    yield url
    pg._in_thread(lambda: pg.drop_database(pg_server, url))


@pytest.fixture(scope="module")
def acd(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    require_sipp()
    tmp = tmp_path_factory.mktemp("acd")
    config = make_config(tmp, module_db)
    with running_acd(config, tmp) as running:
        yield running


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path
