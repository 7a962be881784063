"""Drive the dashboard's callbacks over HTTP the way the browser does (load, hostile-input tests
and `bench.dashboard`): the same JSON bodies Dash's renderer posts to `/_dash-update-component`."""

from __future__ import annotations

import base64

import requests

UPDATE = "/_dash-update-component"


def rate_body(image_id: int, value: int, user_id: str) -> dict:
    """The rating widget of one item changed to `value`."""
    return {
        "output": '{"image":["MATCH"],"type":"rated"}.children',
        "outputs": {"id": {"image": image_id, "type": "rated"}, "property": "children"},
        "inputs": [
            {"id": {"image": image_id, "type": "rate"}, "property": "value", "value": value}
        ],
        "changedPropIds": [f'{{"image":{image_id},"type":"rate"}}.value'],
        "state": [{"id": "user-id", "property": "data", "value": user_id}],
    }


def upload_body(data: bytes, name: str, mime: str = "application/octet-stream") -> dict:
    """One file dropped on the upload area."""
    contents = f"data:{mime};base64," + base64.b64encode(data).decode()
    return {
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


def recommend_body(photos: list[dict], user_id: str) -> dict:
    """The person's photos changed: Discover's recommendation callback."""
    return {
        "output": "discover-result.children",
        "outputs": {"id": "discover-result", "property": "children"},
        "inputs": [
            {"id": "my-photos", "property": "data", "value": photos},
            {"id": "refresh-recs", "property": "n_clicks", "value": 0},
            {"id": "user-id", "property": "data", "value": user_id},
            {"id": "show-rated", "property": "value", "value": False},
        ],
        "changedPropIds": ["my-photos.data"],
    }


def rate(session: requests.Session, base: str, image_id: int, value: int, user_id: str) -> str:
    """Post one rating; returns the mark the page would show under the stars."""
    response = session.post(base + UPDATE, json=rate_body(image_id, value, user_id), timeout=60)
    response.raise_for_status()
    key = f'{{"image":{image_id},"type":"rated"}}'
    return response.json()["response"][key]["children"]


def upload(session: requests.Session, base: str, data: bytes, name: str) -> dict:
    """Post one file to the upload callback; returns its outputs (photos, messages)."""
    response = session.post(base + UPDATE, json=upload_body(data, name), timeout=120)
    response.raise_for_status()
    return response.json()["response"]
