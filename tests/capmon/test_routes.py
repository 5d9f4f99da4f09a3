"""The web server has the contract's routes and no others (CONTRACT.md section 5): none of the stream
library's own pages, which would show a person's record (/table/people/<id>/)."""

from __future__ import annotations

from capmon.worker import WorkerParts
from streams.config import load_settings

ALLOWED = {"/", "/metrics", "/health", "/api/occupancy", "/api/inflow", "/api/alerts", "/api/outlook"}


def test_every_route_the_worker_web_server_has_is_on_the_allow_list(tmp_path):
    worker = WorkerParts(load_settings({}, state_dir=tmp_path), [], {})
    web = worker.app.web
    web.init_server()  # what the server does when it starts: mount blueprints, then serve the views
    routes = {(route.method, route.resource.canonical) for route in web.web_app.router.routes()}
    assert {path for _method, path in routes} == ALLOWED
    assert {method for method, _path in routes} == {"GET", "HEAD"}


def test_no_figure_is_served_before_the_view_is_read_whole(tmp_path):
    """While the figures reader has not read its topics to the end, the view holds part of the partitions: the
    JSON read-outs answer 503 and the status page shows no figure; /health says why."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    worker = WorkerParts(load_settings({}, state_dir=tmp_path), [], {})
    worker.app.web.init_server()

    paths = ("/api/occupancy", "/api/inflow", "/api/alerts", "/api/outlook", "/", "/health")

    async def before_and_after() -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
        async with TestClient(TestServer(worker.app.web.web_app)) as client:
            async def get_all() -> dict[str, tuple[int, str]]:
                return {path: (r.status, await r.text()) for path in paths for r in [await client.get(path)]}
            starting = await get_all()
            worker.reader.caught_up = True
            return starting, await get_all()

    starting, whole = asyncio.run(before_and_after())
    for path in ("/api/occupancy", "/api/inflow", "/api/alerts", "/api/outlook", "/health"):
        assert starting[path][0] == 503, path
    assert "not read whole" in starting["/api/occupancy"][1]
    assert '"figures_view_caught_up":false' in starting["/health"][1].replace(" ", "")
    figure = 'data-figure="transfer-headroom"'
    assert starting["/"][0] == 200 and figure not in starting["/"][1] and "catching up" in starting["/"][1]
    for path in ("/api/occupancy", "/api/inflow", "/api/alerts", "/api/outlook", "/"):
        assert whole[path][0] == 200, path
    assert figure in whole["/"][1]
    import json

    import jsonschema

    from streams.contract.schemas import SCHEMA_DIR
    for path in ("/api/occupancy", "/api/inflow", "/api/alerts", "/api/outlook"):  # before any event
        schema = json.loads((SCHEMA_DIR / f"api-{path.removeprefix('/api/')}.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(json.loads(whole[path][1]))
