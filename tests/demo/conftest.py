from __future__ import annotations

from tests import pg

pg_server = pg.pg_server
pg_url = pg.pg_url
