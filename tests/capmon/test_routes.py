"""The web server has the contract's routes and no others (CONTRACT.md section 5): none of the stream
library's own pages, which would show a person's record (/table/people/<id>/)."""

from __future__ import annotations

from capmon.worker import Worker
from streams.config import load_settings

ALLOWED = {"/", "/metrics", "/health", "/api/occupancy", "/api/inflow", "/api/alerts"}


def test_every_route_the_worker_web_server_has_is_on_the_allow_list(tmp_path):
    worker = Worker(load_settings({}, state_dir=tmp_path), [], {})
    web = worker.app.web
    web.init_server()  # what the server does when it starts: mount blueprints, then serve the views
    routes = {(route.method, route.resource.canonical) for route in web.web_app.router.routes()}
    assert {path for _method, path in routes} == ALLOWED
    assert {method for method, _path in routes} == {"GET", "HEAD"}
