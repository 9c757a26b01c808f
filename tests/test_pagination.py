"""The one cursor format every list endpoint uses (shared/pagination.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from marshmallow import ValidationError

from shared.config import Settings
from shared.db import Database
from shared.pagination import (
    MAX_LIMIT,
    PageQuery,
    after,
    after_cursor_sql,
    after_key_sql,
    decode_cursor,
    encode_cursor,
    page_of,
)


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


def test_after_key_sql_walks_a_key_of_one_to_three_parts_with_ties_on_both_backends(settings: Settings) -> None:
    """The "after the cursor" condition, written once for keys of any length, against the real
    database: walking page by page serves every row once, in ``ORDER BY`` order, whatever ties
    the leading parts have (ints and texts mixed, no NULLs: a cursor cannot hold one)."""
    db = Database(settings, "pagination")
    try:
        db.migrate("CREATE TABLE IF NOT EXISTS keyed (a BIGINT NOT NULL, b TEXT NOT NULL, c TEXT NOT NULL, "
                   "PRIMARY KEY (a, b, c))")
        chance = random.Random(7)
        rows = {(chance.randint(1, 3), chance.choice("xyz"), f"id-{chance.randint(0, 9)}") for _ in range(60)}
        with db.transaction() as tx:
            tx.executemany("INSERT INTO keyed (a, b, c) VALUES (?, ?, ?)", sorted(rows))
        for columns in (("a",), ("a", "b"), ("a", "b", "c")):
            order = ", ".join(columns)
            with db.transaction() as tx:
                expected = [tuple(r[c] for c in columns) for r in tx.all(f"SELECT DISTINCT {order} FROM keyed "
                                                                          f"ORDER BY {order}")]
            assert expected == sorted({tuple(r[:len(columns)]) for r in rows})
            for limit in (1, 2, 5):
                served: list[tuple[Any, ...]] = []
                cursor: str | None = None
                while True:
                    condition, params = after_cursor_sql(cursor, *columns)
                    with db.transaction() as tx:
                        found = tx.all(f"SELECT DISTINCT {order} FROM keyed WHERE {condition} ORDER BY {order} "
                                       "LIMIT ?", (*params, limit + 1))
                    page = page_of(found, limit, lambda r, cs=columns: tuple(r[c] for c in cs))
                    served += [tuple(r[c] for c in columns) for r in page["items"]]
                    cursor = page["next_cursor"]
                    if cursor is None:
                        break
                assert served == expected, (columns, limit)
    finally:
        db.close()


def test_after_key_sql_refuses_keys_that_do_not_fit_the_columns() -> None:
    assert after_key_sql(None, "a", "b") == ("1 = 1", [])
    assert after_key_sql((3,), "a") == ("((a > ?))", [3])
    with pytest.raises(ValueError):
        after_key_sql((1, "x"), "a")
    with pytest.raises(ValueError):
        after_key_sql((1,))
    with pytest.raises(ValidationError):
        after_cursor_sql(encode_cursor([1, "x"]), "a", "b", "c")  # a cursor of two parts for three columns
