"""The committed JSON Schemas are what the models generate."""

from streams.contract import schemas
from streams.contract.events import MODELS


def test_committed_schemas_are_current():
    assert schemas.stale() == [], "run `make schemas` (capmon schemas) and commit streams/contract/schemas/"


def test_stale_detects_a_changed_file(tmp_path):
    schemas.write(tmp_path)
    assert schemas.stale(tmp_path) == []
    (tmp_path / "decision.json").write_text("{}")
    (tmp_path / "forecast.json").unlink()
    assert sorted(schemas.stale(tmp_path)) == ["decision.json", "forecast.json"]


def test_schemas_name_the_required_fields():
    import json

    for event_type in MODELS:
        schema = json.loads((schemas.SCHEMA_DIR / f"{event_type}.json").read_text())
        assert {"event_id", "occurred_at"} <= set(schema["required"])
    registration = json.loads((schemas.SCHEMA_DIR / "registration.json").read_text())
    assert registration["properties"]["nationality"]["pattern"] == "^[A-Z]{3}$"
