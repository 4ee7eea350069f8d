"""Object identifiers from URLs and forms, bounded so a huge number is "not found", not a 500."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from portal.validation import whole_number

# Both databases' INTEGER primary keys fit in 32 bits here; a larger number names nothing.
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route: digits up to MAX_ID, else the URL does not match (404)."""

    def __init__(self, url_map, fixed_digits=0, min=1, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits, min, max, signed)


def parse_id(value) -> int | None:
    """An id from a query string or form field, or None when it is not a plausible id: digits
    only (``int`` alone would also take "+5" and "1_0")."""
    number = whole_number(value)
    return number if number is not None and 1 <= number <= MAX_ID else None
