# capmon: one image for `capmon worker`, `capmon simulate`, `capmon replay`, `capmon topics` and `capmon backtest`.
# State (RocksDB) lives in /var/lib/capmon: give each worker its own volume. `capmon dashboards publish` is a
# tool, not the service: its extra (grafana-client, whose dependencies replace urllib3 at every interpreter
# start) is not installed here; run it from a checkout (`make install`).
# The base image is pinned by digest; the dependencies come from requirements/worker.txt (exact versions, every
# file's hash: `make lock` writes it) and capmon itself is built with the hashed setuptools of build.txt.
FROM python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --home-dir /app capmon && mkdir -p /var/lib/capmon && chown capmon /var/lib/capmon
WORKDIR /app

COPY requirements/worker.txt requirements/build.txt requirements/
RUN pip install --require-hashes -r requirements/worker.txt -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY streams streams
COPY alerts alerts
COPY readout readout
COPY capmon capmon
# setuptools only builds capmon: removed after, with its distutils .pth file.
RUN pip install --no-deps --no-build-isolation . && pip uninstall -y -q setuptools && pip check
COPY deploy/alerts deploy/alerts
COPY deploy/forecasts deploy/forecasts
COPY deploy/grafana/dashboards deploy/grafana/dashboards

ENV CAPMON_WEB_HOST=0.0.0.0 CAPMON_WEB_PORT=6066 CAPMON_STATE_DIR=/var/lib/capmon
USER capmon
VOLUME /var/lib/capmon
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:6066/health', timeout=4).status != 200)"
ENTRYPOINT ["capmon"]
CMD ["worker"]
