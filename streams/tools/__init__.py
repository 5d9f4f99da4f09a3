"""Tools apart from the worker: the simulator, the feed, replay, dashboards."""
