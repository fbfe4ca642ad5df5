"""Small helpers shared by the signature schemes: header access and HTTP dates.

Header mappings handed to the verifier are either case-insensitive (Starlette's or httpx's
``Headers``) or plain dicts; ``lowercase_headers`` turns the latter into a dict with
lower-case names so that every later lookup is a plain ``dict.get``.

``parse_http_date`` has a fast path for the IMF-fixdate form every server sends
(``Sun, 05 Jan 2014 21:31:40 GMT``) because date parsing sits on the verification hot path;
other RFC 7231 forms go through ``email.utils``.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping

__all__ = ["lowercase_headers", "parse_http_date", "format_http_date"]

_MONTHS = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
    "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}  # fmt: skip


def lowercase_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """Return a mapping whose ``get`` works with lower-case names.

    A plain dict is copied with lower-cased keys; any other mapping is assumed to be
    case-insensitive already (Starlette/httpx ``Headers``) and returned unchanged.
    """
    if type(headers) is dict:
        return {name.lower(): value for name, value in headers.items()}
    return headers


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Howard Hinnant's days-from-civil: days since 1970-01-01 in the proleptic Gregorian calendar.
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def parse_http_date(value: str) -> int:
    """Parse an HTTP date into Unix seconds; raises ``ValueError`` if it is not a date."""
    # IMF-fixdate has fixed offsets: "Sun, 05 Jan 2014 21:31:40 GMT".
    if len(value) == 29 and value[25:] == " GMT" and value[3:5] == ", " and value[19] == ":" == value[22]:
        month = _MONTHS.get(value[8:11])
        try:
            day, year = int(value[5:7]), int(value[12:16])
            hour, minute, second = int(value[17:19]), int(value[20:22]), int(value[23:25])
        except ValueError:
            month = None
        if month is not None and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61:
            return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        raise ValueError(f"not an HTTP date: {value!r}") from None


def format_http_date(unix_seconds: float) -> str:
    """Format Unix seconds as an IMF-fixdate (``Sun, 05 Jan 2014 21:31:40 GMT``)."""
    return email.utils.formatdate(unix_seconds, usegmt=True)
