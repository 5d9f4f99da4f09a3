"""JSON Schemas of the events, generated from the pydantic models, and of the HTTP answers
(streams/contract/answers.py), committed under `streams/contract/schemas/` for producers and readers.
`capmon schemas --check` (and a test) fails when they are stale."""

from __future__ import annotations

import json
from pathlib import Path

from streams.contract.answers import ANSWERS
from streams.contract.events import MODELS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render() -> dict[str, str]:
    """File name → JSON text for every event type and every HTTP answer with a schema."""
    files = {}
    for event_type, model in MODELS.items():
        schema = model.model_json_schema()
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"capmon/{event_type}.json",
            **schema,
            "description": f"capmon {event_type} event (CONTRACT.md section 2). " + (schema.get("description") or ""),
        }
        files[f"{event_type}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    for name, answer in ANSWERS.items():  # the HTTP answers' schemas (streams/contract/answers.py)
        files[name] = json.dumps(answer, indent=2, sort_keys=True) + "\n"
    return files


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    return [
        name for name, text in render().items()
        if not (directory / name).exists() or (directory / name).read_text() != text
    ]
