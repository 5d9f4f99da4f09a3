# capmon: one image for `capmon worker`, `capmon simulate`, `capmon replay`, `capmon topics`, `capmon backtest`
# and `capmon dashboards publish`. State (RocksDB) lives in /var/lib/capmon: give each worker its own volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --home-dir /app capmon && mkdir -p /var/lib/capmon && chown capmon /var/lib/capmon
WORKDIR /app

COPY pyproject.toml README.md ./
COPY streams streams
COPY alerts alerts
COPY capmon capmon
RUN pip install '.[dashboards]'
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
