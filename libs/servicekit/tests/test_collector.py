"""A service's start-up objects are out of the garbage collector's sight once its
lifespan has started."""

import gc
from contextlib import asynccontextmanager

from fastapi.testclient import TestClient

from servicekit.http import service_app


def test_what_start_up_allocated_is_frozen_once_the_lifespan_has_started():
    seen: dict[str, int] = {}

    @asynccontextmanager
    async def lifespan(app):
        seen["before"] = gc.get_freeze_count()
        yield {}

    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        with TestClient(service_app("test", lifespan=lifespan)) as client:
            assert client.get("/healthz").status_code == 200
            assert seen["before"] == 0
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
