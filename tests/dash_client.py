"""Drive the dashboard's callbacks over HTTP the way the browser does (for load and hostile-input
tests): the same JSON bodies Dash's renderer posts to `/_dash-update-component`."""

from __future__ import annotations

import base64

import requests

UPDATE = "/_dash-update-component"


def rate(session: requests.Session, base: str, image_id: int, value: int, user_id: str) -> str:
    """Post one rating; returns the mark the page would show under the stars."""
    body = {
        "output": '{"image":["MATCH"],"type":"rated"}.children',
        "outputs": {"id": {"image": image_id, "type": "rated"}, "property": "children"},
        "inputs": [
            {"id": {"image": image_id, "type": "rate"}, "property": "value", "value": value}
        ],
        "changedPropIds": [f'{{"image":{image_id},"type":"rate"}}.value'],
        "state": [{"id": "user-id", "property": "data", "value": user_id}],
    }
    response = session.post(base + UPDATE, json=body, timeout=60)
    response.raise_for_status()
    key = f'{{"image":{image_id},"type":"rated"}}'
    return response.json()["response"][key]["children"]


def upload(session: requests.Session, base: str, data: bytes, name: str) -> dict:
    """Post one file to the upload callback; returns its outputs (photos, messages)."""
    contents = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    body = {
        "output": "..my-photos.data...upload-messages.children...upload.contents..",
        "outputs": [
            {"id": "my-photos", "property": "data"},
            {"id": "upload-messages", "property": "children"},
            {"id": "upload", "property": "contents"},
        ],
        "inputs": [
            {"id": "upload", "property": "contents", "value": [contents]},
            {"id": "clear-photos", "property": "n_clicks", "value": None},
            [],
            [],
        ],
        "changedPropIds": ["upload.contents"],
        "state": [
            {"id": "upload", "property": "filename", "value": [name]},
            {"id": "my-photos", "property": "data", "value": []},
        ],
    }
    response = session.post(base + UPDATE, json=body, timeout=120)
    response.raise_for_status()
    return response.json()["response"]
