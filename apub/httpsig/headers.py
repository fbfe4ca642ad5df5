"""Small helpers shared by the signature schemes: header access and HTTP dates.

Header mappings handed to the verifier are either case-insensitive (Starlette's or httpx's
``Headers``) or plain dicts; ``lowercase_headers`` turns the latter into a dict with
lower-case names so that every later lookup is a plain ``dict.get``. ``header_table`` goes
one step further for the verification hot path: one ``dict`` from lower-case name bytes to
value bytes, built at C speed from an ASGI raw header list when there is one, because every
``Headers.get`` re-lowers, re-encodes and scans the whole list (and raises ``KeyError``
internally on a miss).

``parse_http_date`` has a fast path for the IMF-fixdate form every server sends
(``Sun, 05 Jan 2014 21:31:40 GMT``) because date parsing sits on the verification hot path;
other RFC 7231 forms go through ``email.utils``.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping

__all__ = ["lowercase_headers", "header_table", "parse_http_date", "format_http_date"]

# Days from 1 March to the first of each month, and whether the month belongs to the next
# March-based year: counting years from March puts the leap day at the end of the year.
_MONTHS = {
    "Mar": (0, 0), "Apr": (31, 0), "May": (61, 0), "Jun": (92, 0), "Jul": (122, 0), "Aug": (153, 0),
    "Sep": (184, 0), "Oct": (214, 0), "Nov": (245, 0), "Dec": (275, 0), "Jan": (306, 1), "Feb": (337, 1),
}  # fmt: skip
# Days from 0000-03-01 (proleptic Gregorian) to 1970-01-01.
_EPOCH_DAYS = 719468


def lowercase_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """Return a mapping whose ``get`` works with lower-case names.

    A plain dict is copied with lower-cased keys; any other mapping is assumed to be
    case-insensitive already (Starlette/httpx ``Headers``) and returned unchanged.
    """
    if type(headers) is dict:
        return {name.lower(): value for name, value in headers.items()}
    return headers


def header_table(headers: Mapping[str, str]) -> dict[bytes, bytes]:
    """Return the headers as a dict from lower-case name bytes to value bytes.

    An object with an ASGI-style ``raw`` list of lower-case ``(name, value)`` byte pairs
    (Starlette's ``Headers``) is read from that list as received, the first of repeated
    names winning as in ``Headers.get``. Any other mapping is read through ``items()``: names
    lower-cased, names and values UTF-8 encoded (so a signing string built from the table is
    byte for byte the UTF-8 encoding of one built from the strings).
    """
    raw = getattr(headers, "raw", None)
    if type(raw) is list:
        table = dict(raw)
        if len(table) != len(raw):
            table = dict(reversed(raw))  # the first occurrence is inserted last and wins
        try:
            # ASGI says names "should" be lower case; httpx's raw keeps the sender's case.
            if b"".join(table).islower():
                return table
        except TypeError:  # not a list of byte pairs after all
            pass
    return {name.lower().encode(): value.encode() for name, value in headers.items()}


def parse_http_date(value: str) -> int:
    """Parse an HTTP date into Unix seconds; raises ``ValueError`` if it is not a date."""
    # IMF-fixdate has fixed offsets: "Sun, 05 Jan 2014 21:31:40 GMT". This runs once per signed
    # request and every bytecode counts: one int() for the whole clock, no helper call.
    month = _MONTHS.get(value[8:11])
    if (
        month is not None
        and len(value) == 29
        and value[25:] == " GMT"
        and value[3:5] == ", "
        and value[19] == ":" == value[22]
    ):
        try:
            clock = int(value[17:19] + value[20:22] + value[23:25])
            day, year = int(value[5:7]), int(value[12:16])
        except ValueError:
            clock = -1
        hour, minute, second = clock // 10000, clock // 100 % 100, clock % 100
        if clock >= 0 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61:
            # Hinnant's days-from-civil, with years that start on 1 March so the leap day ends them.
            days_into_year, next_year = month
            year -= next_year
            days = year * 365 + year // 4 - year // 100 + year // 400 + days_into_year + day - 1 - _EPOCH_DAYS
            return days * 86400 + hour * 3600 + minute * 60 + second
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        raise ValueError(f"not an HTTP date: {value!r}") from None


def format_http_date(unix_seconds: float) -> str:
    """Format Unix seconds as an IMF-fixdate (``Sun, 05 Jan 2014 21:31:40 GMT``)."""
    return email.utils.formatdate(unix_seconds, usegmt=True)
