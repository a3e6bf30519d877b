"""Text normalisation for incoming messages and fact-checks.

Two levels:

* :func:`clean_text` keeps case and wording but removes what is not the claim: forwarding
  boilerplate, tweet signatures (``— Name (@handle) date``), handles, links, HTML tags, emoji
  runs and repeated punctuation. This is what the embedder sees.
* :func:`normalise_text` is ``clean_text`` plus case folding: what lexical signals and
  duplicate hashing see.

Both are total functions (any ``str`` in, ``str`` out) and idempotent; the property tests check it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["canonical_url", "clean_text", "extract_urls", "normalise_text"]

_MAX_CHARS = 20_000  # longer input is truncated: nobody forwards a book, and it bounds the work

# Links are found token by token, so every pass is linear: a token is a run of characters that
# cannot be inside a link; in it, a scheme or "www." starts a link anywhere, and a bare
# domain ("example.com/x") only at the token's start (after punctuation). The old single
# regex tried the bare-domain branch from every dot, quadratic on "a.a.a.a..." (0.85 s / 4 kB).
_TOKEN_RE = re.compile(r"[^\s<>\"']+")
_SCHEME_RE = re.compile(r"https?://|www\.", re.IGNORECASE)
_BARE_RE = re.compile(
    r"[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,10}\.(?:com|org|net|in|co|io|gov|info|news|ly|me)/"
    r"|pic\.twitter\.com/\w",
    re.IGNORECASE,
)
_LEAD_RE = re.compile(r"[^a-z0-9]*", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]{0,200}>")
# "— Name (@handle) February 25, 2016" at the end of an embedded tweet.
_TWEET_SIG_RE = re.compile(  # applied to the last `_TWEET_TAIL` characters only
    r"[—–-]{1,2}\s{0,5}[^—–\n]{0,80}\(@\w{1,30}\)\s{0,5}[A-Za-z]{3,9}\.? \d{1,2},? \d{4}\s*$"
)
_TWEET_TAIL = 200
_HANDLE_RE = re.compile(r"(?<![\w@])@\w{1,30}")
_RT_RE = re.compile(r"^(?:\s*RT\b:?)+\s*", re.IGNORECASE)  # "RT RT RT: ..." in one go
# any letter, not only ASCII: case folding turns "ß" into "ss" ("&ß" must not become "&ss")
_ENTITY_START_RE = re.compile(r"&(?=#|[^\W\d_])")
_BOILERPLATE = [
    r"forwarded\s+as\s+received",
    r"forwarded\s+many\s+times",
    r"\bforwarded\b:?",
    r"(?:please\s+)?(?:forward|share|send)\s+(?:this\s+)?(?:message\s+)?(?:to|with)\s+(?:all\s+)?"
    r"(?:your\s+)?(?:\d+\s+)?(?:groups?|contacts?|friends?(?:\s+and\s+family)?|people|everyone)"
    r"(?:\s+you\s+know)?",
    r"copied\s+(?:and|&)\s+pasted",
    r"copy\s+(?:and|&)\s+paste",
    r"please\s+share\s+(?:widely|maximum|max)",
    r"share\s+(?:as\s+much\s+as\s+possible|widely)",
    r"received\s+(?:as|from)\s+(?:a\s+)?(?:forward|whatsapp)",
]
_BOILER_WORDS = ("forward", "share", "send", "cop", "received")
_BOILER_RE = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE), re.IGNORECASE)
_REPEAT_PUNCT_RE = re.compile(r"([!?.,;:*~_=\-])\1+")
_MIXED_PUNCT_RE = re.compile(r"[!?]{2,}")
_SPACE_RE = re.compile(r"\s+")


class _JunkTable(dict[int, str | None]):
    """``str.translate`` table mapping emoji-like and control characters to a space.

    Symbols (So/Sk), private use, surrogates, unassigned, control/format characters (except
    newline and tab), skin tones, joiners and variation selectors. Filled lazily per code point,
    so the translation runs at C speed after a character has been seen once."""

    _EXTRA = frozenset("\u200d\ufe0f\ufe0e\u20e3")

    def __missing__(self, cp: int) -> str | None:
        ch = chr(cp)
        junk = ch not in "\n\t" and (
            unicodedata.category(ch) in ("So", "Sk", "Co", "Cs", "Cn", "Cc", "Cf")
            or ch in self._EXTRA
        )
        value = " " if junk else ch
        self[cp] = value
        return value


_JUNK = _JunkTable()


def _strip_emoji(text: str) -> str:
    return text.translate(_JUNK)


def clean_text(text: str) -> str:
    """NFKC, no markup, no links/handles/signatures/boilerplate/emoji; case is kept."""
    if not text:
        return ""
    # Repeat until stable: removing one layer (e.g. an HTML entity) can reveal another.
    prev = None
    out = text[:_MAX_CHARS]
    for _ in range(6):
        if out == prev:
            break
        prev = out
        out = _clean_once(out)
    return out


def _remove_urls(text: str) -> str:
    return _TOKEN_RE.sub(_without_url, text)


def _without_url(match: re.Match[str]) -> str:
    token = match.group(0)
    scheme = _SCHEME_RE.search(token)
    start = _lead(token)
    if _BARE_RE.match(token, start) and (scheme is None or scheme.start() >= start):
        return token[:start] + " "
    if scheme is not None:
        return token[: scheme.start()] + " "
    return token


def _lead(token: str) -> int:
    """Where a token's first letter or digit is (its leading punctuation skipped)."""
    match = _LEAD_RE.match(token)
    return match.end() if match else 0


def _remove_tweet_signature(text: str) -> str:
    head, tail = text[:-_TWEET_TAIL], text[-_TWEET_TAIL:]
    match = _TWEET_SIG_RE.search(tail)
    return head + tail[: match.start()] if match else text


def _clean_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)[:_MAX_CHARS]  # NFKC can expand 18-fold (ﷺ)
    if "&" in text:
        for _ in range(3):
            unescaped = html.unescape(text)
            if unescaped == text:
                break
            text = unescaped
        text = _ENTITY_START_RE.sub(" ", text)  # what is left would unescape on the next call
    text = unicodedata.normalize("NFKC", text)
    text = _strip_emoji(text)
    text = _TAG_RE.sub(" ", text)
    # Cheap substring tests first: most messages have no link, handle or boilerplate.
    if "/" in text or "www." in text.lower():
        text = _remove_urls(text)
    if "(@" in text:
        text = _remove_tweet_signature(text)
    text = _RT_RE.sub("", text)
    if "@" in text:
        text = _HANDLE_RE.sub(" ", text)
    low = text.lower()
    if any(word in low for word in _BOILER_WORDS):
        text = _BOILER_RE.sub(" ", text)
    text = _MIXED_PUNCT_RE.sub(lambda m: m.group(0)[0], text)
    text = _REPEAT_PUNCT_RE.sub(r"\1", text)
    text = _SPACE_RE.sub(" ", text).strip(" .,;:-–—|").lstrip("!?")
    return unicodedata.normalize("NFKC", text).strip()


def normalise_text(text: str) -> str:
    """:func:`clean_text` then Unicode case folding (NFKC again: folding can denormalise)."""
    return fold(clean_text(text))


def fold(clean: str) -> str:
    """The case-folding half of :func:`normalise_text`, for text already through ``clean_text``."""
    out = clean
    for _ in range(3):
        folded = unicodedata.normalize("NFKC", out.casefold())
        if folded == out:
            break
        out = folded
    return out


_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|igshid|mc_\w+|ref|ref_src|s|si|amp|feature)$"
)


def extract_urls(text: str) -> list[str]:
    """Canonical URLs found in ``text``, in order, without duplicates."""
    seen: dict[str, None] = {}
    for match in _TOKEN_RE.finditer(unicodedata.normalize("NFKC", text or "")[:_MAX_CHARS]):
        token = match.group(0)
        scheme = _SCHEME_RE.search(token)
        start = _lead(token)
        if _BARE_RE.match(token, start) and (scheme is None or scheme.start() >= start):
            found = token[start:]
        elif scheme is not None:
            found = token[scheme.start() :]
        else:
            continue
        url = canonical_url(found)
        if url:
            seen.setdefault(url, None)
    return list(seen)


def canonical_url(url: str) -> str:
    """A comparable form: no scheme, no ``www.``/``m.``/``amp.``, no tracking query, no fragment.

    ``https://www.snopes.com/fact-check/x/?utm_source=wa`` and ``snopes.com/fact-check/x``
    give the same string. Returns ``""`` for something that is not a URL.
    """
    url = (url or "").strip().rstrip(".,;:!?)]}'\"")
    if not url:
        return ""
    url = url.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    if not host or "." not in host:
        return ""
    for prefix in ("www.", "m.", "mobile.", "amp."):
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
    path = re.sub(r"/(amp|index\.html?)/?$", "/", parts.path or "/")
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING_PARAMS.match(k.lower()))
    )
    return urlunsplit(("", host, path, query, "")).lstrip("/")
