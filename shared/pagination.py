"""Cursor pagination, written once for every list endpoint of every service.

A list answers ``{"items": [...], "next_cursor": "..."|null}``. The client passes ``limit``
(1-200, default 50; anything else is a 422 naming ``limit``) and the ``next_cursor`` of the page
before as ``cursor``. The cursor is keyset, not an offset: it holds the sort key of the last item
served, and the next page is "the items whose key is greater", so a page never repeats or skips
an item when other items are written meanwhile (new items with a greater key appear on a later
page; ones with a smaller key are not on the pages still to come). Every order ends in a unique
key (an id) so that it is total.

The cursor is opaque to clients (base64url of a small JSON list) and checked on the way in: a
cursor that does not decode, or does not have the shape the endpoint's key has, is a 422 naming
``cursor``, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, validate, validates

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_MAX_CURSOR = 512

Key = tuple[str | int, ...]


def encode_cursor(key: Sequence[str | int]) -> str:
    """The opaque cursor that resumes after an item whose sort key is ``key``."""
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, arity: int | None = None) -> Key | None:
    """The sort key a cursor holds (``None`` for no cursor); ``ValidationError`` if malformed.

    ``arity``: how many parts the endpoint's key has (checked when given)."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > _MAX_CURSOR:
        raise ValidationError("not a cursor this service issued", field_name="cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationError("not a cursor this service issued", field_name="cursor")
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(part, str | int) and not isinstance(part, bool) for part in value)
        or (arity is not None and len(value) != arity)
    ):
        raise ValidationError("not a cursor this service issued", field_name="cursor")
    return tuple(value)


class PageQuery(Schema):
    """``limit`` and ``cursor``; endpoints add their filters by subclassing, and set ``arity`` to
    the number of parts of their sort key (a cursor of another shape is then a 422 too)."""

    arity: ClassVar[int | None] = None

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        strict=False,
        validate=validate.Range(min=1, max=MAX_LIMIT, error=f"must be between 1 and {MAX_LIMIT}"),
        metadata={"description": f"items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=_MAX_CURSOR),
        metadata={"description": "the next_cursor of the page before (opaque)"},
    )

    @validates("cursor")
    def _cursor_decodes(self, value: str | None, **_: Any) -> None:
        decode_cursor(value, self.arity)


def page_schema(item: type[Schema] | Schema, name: str) -> type[Schema]:
    """The documented answer of a list endpoint: ``items`` of ``item`` and ``next_cursor``."""
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(allow_none=True, required=True,
                                         metadata={"description": "null on the last page"}),
        },
    )


def page_of(rows: Sequence[Any], limit: int, key: Callable[[Any], Sequence[str | int]]) -> dict[str, Any]:
    """A page from ``rows``, read as at most ``limit + 1`` rows in key order after the cursor.

    The extra row only tells whether there is a next page; it is not served."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more and items else None}


def after(rows: Sequence[Any], cursor_key: Key | None, key: Callable[[Any], Sequence[str | int]]) -> list[Any]:
    """The rows whose key is after ``cursor_key`` (for in-memory sources already in key order)."""
    if cursor_key is None:
        return list(rows)
    return [row for row in rows if tuple(key(row)) > cursor_key]


def after_key_sql(key: Sequence[str | int] | None, *columns: str,
                  descending: bool = False) -> tuple[str, list[str | int]]:
    """The SQL condition "after ``key``" for a sort key of any number of ``columns`` (in
    ``ORDER BY`` order, all ascending, or all descending with ``descending``, and NOT NULL), with
    its parameters; ``("1 = 1", [])`` without a key. Written out as ``c1 > ? OR (c1 = ? AND c2 > ?)
    OR ...`` (``<`` when descending; the same on SQLite and PostgreSQL; each branch starts with an
    equality or range on the leading column, so an index on the columns serves it)."""
    if not columns:
        raise ValueError("a sort key has at least one column")
    if key is None:
        return "1 = 1", []
    if len(key) != len(columns):
        raise ValueError(f"a key of {len(key)} parts for {len(columns)} columns")
    branches: list[str] = []
    params: list[str | int] = []
    for n, column in enumerate(columns):
        equal = [f"{c} = ?" for c in columns[:n]]
        branches.append("(" + " AND ".join([*equal, f"{column} {'<' if descending else '>'} ?"]) + ")")
        params.extend([*key[:n], key[n]])
    return "(" + " OR ".join(branches) + ")", params


def after_cursor_sql(cursor: str | None, *columns: str, descending: bool = False) -> tuple[str, list[str | int]]:
    """The SQL condition "after the cursor" for the sort key ``columns`` (in descending order with
    ``descending``), with its parameters (``("1 = 1", [])`` without a cursor); ``ValidationError``
    if the cursor is malformed or has another number of parts."""
    return after_key_sql(decode_cursor(cursor, len(columns)), *columns, descending=descending)
