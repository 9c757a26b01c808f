"""The framework ceiling for the registration benchmark: the same request and response shapes
as ``POST /participants`` through Flask under the same gunicorn settings, doing no work at all.
No service built on Flask and gunicorn can answer faster on the same machine."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, jsonify, request

app = Flask("ceiling")


@app.post("/participants")
def register() -> Any:
    request.get_json()
    return jsonify({"id": str(uuid.uuid4()), "version": 1}), 201
