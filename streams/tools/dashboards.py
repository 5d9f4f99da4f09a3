"""`capmon dashboards publish`: push the Grafana dashboards (deploy/grafana/dashboards/*.json) over Grafana's
HTTP API with grafana-client, into one folder, overwriting earlier versions (same uid, so links keep working).

The token comes from `CAPMON_GRAFANA_TOKEN` or `CAPMON_GRAFANA_TOKEN_FILE` and is never printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from streams.errors import CapmonError, ConfigError

DEFAULT_DIR = Path("deploy/grafana/dashboards")
FOLDER_UID = "capmon"


class GrafanaError(CapmonError):
    exit_code = 4


@dataclass(frozen=True)
class Published:
    uid: str
    title: str
    version: int | None
    url: str | None


def load_dashboards(directory: Path) -> list[dict]:
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ConfigError(f"no dashboards (*.json) in {directory}")
    dashboards = []
    for path in files:
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a dashboard ({exc})") from None
        if not isinstance(body, dict) or not body.get("uid") or not body.get("title"):
            raise ConfigError(f"{path}: a dashboard needs a uid and a title")
        dashboards.append(body)
    return dashboards


def publish(url: str, token: str, dashboards: list[dict], folder_title: str = "capmon",
            timeout_s: float = 10.0) -> list[Published]:
    """Create the folder when missing, then create or overwrite every dashboard in it."""
    try:
        from grafana_client import GrafanaApi
        from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaUnauthorizedError
    except ImportError:  # the worker image leaves the extra out: publishing is a tool, not the service
        raise ConfigError("publishing dashboards needs the `dashboards` extra (grafana-client), which the worker "
                          "image does not install: run it from a checkout after `make install`, or "
                          "`pip install 'capmon[dashboards]'`") from None

    api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
    try:
        try:
            api.folder.get_folder(FOLDER_UID)
        except GrafanaClientError as exc:
            if getattr(exc, "status_code", None) != 404:
                raise
            api.folder.create_folder(folder_title, uid=FOLDER_UID)
        published = []
        for body in dashboards:
            answer = api.dashboard.update_dashboard({
                "dashboard": {**body, "id": None}, "folderUid": FOLDER_UID, "overwrite": True,
                "message": "capmon dashboards publish"})
            published.append(Published(body["uid"], body["title"], answer.get("version"), answer.get("url")))
        return published
    except GrafanaUnauthorizedError:
        raise GrafanaError(f"Grafana at {url} refused the token (401): check CAPMON_GRAFANA_TOKEN(_FILE)") from None
    except GrafanaException as exc:
        status = getattr(exc, "status_code", None)
        raise GrafanaError(f"Grafana at {url} answered {status or 'nothing'}: {_short(exc)}") from None
    except OSError as exc:
        raise GrafanaError(f"cannot reach Grafana at {url}: {exc.__class__.__name__}") from None


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:200]
