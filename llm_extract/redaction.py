"""Keeping secrets out of every message, log line, cache and report.

Keys reach messages three ways: as themselves (a server echoing the
Authorization header), as part of a URL (``http://user:KEY@host``,
``...?api-key=KEY``), and as a fragment (a server that prints only the part
after ``sk-live-``). :func:`scrub` removes all three; :func:`redact_url` is
what every place that shows a base URL uses.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_KEYLIKE = re.compile(r"(sk-|key-|Bearer\s+)[A-Za-z0-9*._\-]{4,}")
_URL_USER = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)
_URL_QUERY = re.compile(
    r"([?&](?:api[-_]?key|key|token|access[-_]?token|secret|password|sig)=)[^&#\s]+",
    re.IGNORECASE,
)
FRAGMENT = 12  # any run of this many characters of the key counts as the key
MARK = "[redacted]"
_SECRET_PARAMS = {"api-key", "api_key", "apikey", "key", "token", "access_token",
                  "access-token", "secret", "password", "sig"}  # fmt: skip


def scrub(message: str, secret: str | None) -> str:
    """``message`` without the key, any :data:`FRAGMENT`-character piece of it,
    URL credentials, secret query parameters or anything key-shaped."""
    if secret:
        message = message.replace(secret, MARK)
        message = _without_fragments(message, secret)
    message = _URL_USER.sub(rf"\1{MARK}@", message)
    message = _URL_QUERY.sub(rf"\1{MARK}", message)
    return _KEYLIKE.sub(rf"\1{MARK}", message)


def _without_fragments(message: str, secret: str) -> str:
    if len(secret) < FRAGMENT:
        return message
    hit = [False] * len(message)
    for i in range(len(secret) - FRAGMENT + 1):
        piece = secret[i : i + FRAGMENT]
        start = message.find(piece)
        while start >= 0:
            for j in range(start, start + FRAGMENT):
                hit[j] = True
            start = message.find(piece, start + 1)
    out, i = [], 0
    while i < len(message):
        if hit[i]:
            while i < len(message) and hit[i]:
                i += 1
            out.append(MARK)
        else:
            out.append(message[i])
            i += 1
    return "".join(out)


def redact_url(url: str | None) -> str | None:
    """``url`` with any user:password and secret query parameters replaced."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url, None)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MARK}@{netloc.rsplit('@', 1)[1]}"
    query = [(k, MARK if k.lower() in _SECRET_PARAMS else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]  # fmt: skip
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="[]"),
                       parts.fragment))  # fmt: skip


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL, or None if it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a malformed port
    except ValueError as exc:
        return f"base_url {redact_url(url)!r} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"base_url must start with http:// or https://, not {redact_url(url)!r}"
    if not parts.hostname:
        return f"base_url {redact_url(url)!r} has no host"
    return None
