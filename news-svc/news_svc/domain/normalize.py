"""Normalization of incoming items: canonical URLs, text without HTML, UTC times, ids."""

import hashlib
import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader (Google, Matomo, Facebook, Mailchimp, HubSpot ...).
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_", "mc_")
_TRACKING = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "ref_src", "_hsenc", "_hsmi",
             "cmpid", "ocid", "spm", "mkt_tok"}
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


def strip_html(text: str | None) -> str | None:
    """Text without tags or entities, whitespace folded; None when nothing is left."""
    if not text:
        return None
    parser = _Text()
    parser.feed(text)
    parser.close()
    cleaned = _SPACE.sub(" ", html.unescape("".join(parser.parts))).strip()
    return cleaned or None


def canonical_url(url: str) -> str:
    """The URL without tracking parameters or fragment, with a lower-case scheme and host and no default port."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), host, path, urlencode(query), ""))


def article_id(url: str) -> str:
    """A stable id from the canonical URL."""
    return "news_" + hashlib.sha256(url.encode()).hexdigest()[:20]


def to_utc(moment: datetime | None, fallback: datetime) -> datetime:
    """A time in UTC (a naive time is taken as UTC); `fallback` when the source gave none."""
    if moment is None:
        return fallback
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def title_words(title: str) -> frozenset[str]:
    """A title as a set of lower-case words, for comparing two titles whatever their punctuation."""
    folded = title.lower().replace("\u2019", "'").replace("'s", "")
    return frozenset(_WORD.findall(folded))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two titles' words."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
