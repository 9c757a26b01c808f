"""The one cursor format every list endpoint uses (shared/pagination.py)."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from shared.pagination import MAX_LIMIT, PageQuery, after, decode_cursor, encode_cursor, page_of


def test_a_cursor_resumes_after_the_last_item_served() -> None:
    rows = [{"at": f"2026-01-{d:02d}", "id": f"p{d}"} for d in range(1, 8)]
    key = lambda r: (r["at"], r["id"])  # noqa: E731
    served: list[str] = []
    cursor = None
    while True:
        rest = after(rows, decode_cursor(cursor, 2), key)
        page = page_of(rest[:4], 3, key)
        served += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert served == [r["id"] for r in rows]


def test_limits_and_malformed_cursors_are_refused_naming_the_field() -> None:
    assert PageQuery().load({})["limit"] == 50
    for bad in ("0", str(MAX_LIMIT + 1), "x"):
        with pytest.raises(ValidationError) as refused:
            PageQuery().load({"limit": bad})
        assert "limit" in refused.value.messages
    for bad in ("%%%", encode_cursor([1])[:-1] + "!", "bnVsbA", "W3RydWVd"):  # junk, null, [true]
        with pytest.raises(ValidationError) as refused:
            PageQuery().load({"cursor": bad})
        assert "cursor" in refused.value.messages
    with pytest.raises(ValidationError):
        decode_cursor(encode_cursor(["a"]), 2)
