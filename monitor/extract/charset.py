"""Decode raw page bytes to text, right even when the declared charset is wrong or missing.

Order: byte-order mark; then the declared charsets (HTTP header, then `<meta charset>`), each checked against the
bytes; then UTF-8 when the bytes are valid UTF-8; then charset_normalizer's guess. A declared single-byte charset
is overruled when the bytes are valid multi-byte UTF-8, or when the decoded text is mostly accented Latin letters
(Arabic in windows-1256 or Cyrillic in windows-1251 read as windows-1252 looks like that).
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer
from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

# WHATWG encoding standard: these labels are decoded as windows-1252 by browsers.
_WHATWG_ALIASES = {"latin_1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}
# Bytes 0x80-0xFF: a page made only of ASCII decodes the same under every candidate we consider.
_HIGH_BYTES = re.compile(rb"[\x80-\xff]")
# A UTF-8 multi-byte sequence (lead byte + continuation bytes), RFC 3629 table 3.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
# Legacy code pages of the monitored regions (Arabic, Persian, Turkish, Hebrew, Russian, Western), in the
# order charset_normalizer should prefer on ties.
REGIONAL_CODECS = (
    "utf_8", "cp1256", "iso8859_6", "cp1254", "iso8859_9", "cp1255", "iso8859_8", "cp1251", "koi8_r",
    "cp1252", "iso8859_15", "cp1253",
)  # fmt: skip
_WESTERN = frozenset({"cp1252", "iso8859-15", "latin-1"})
# ş ı ğ Ş İ Ğ in windows-1254 are þ ý ð Þ Ý Ð in windows-1252: Icelandic letters, which in our regions only
# appear when Turkish text is read with the Western code page.
_TURKISH_AS_WESTERN = re.compile("[ðýþÐÝÞ]")
_LETTER = re.compile(r"[^\W\d_]")
# Letters of Latin-1 Supplement / Latin Extended-A: what windows-1256/1251 text turns into when read as cp1252.
_ACCENTED_LATIN = re.compile("[\u00c0-\u017f]")
# Above this share of accented letters among all letters, the "Latin" decoding is mojibake (French or Turkish
# running text stays under 15%; Arabic or Russian read as cp1252 is over 80%).
MOJIBAKE_SHARE = 0.4


def normalize_encoding(label: str | None) -> str | None:
    """Python codec name for an HTTP/HTML charset label (WHATWG aliases applied), or None if unknown."""
    if not label:
        return None
    resolved = resolve_encoding(label.strip().strip("\"'"))
    if resolved is None:
        return None
    name = codecs.lookup(resolved).name
    return _WHATWG_ALIASES.get(name, name)


def _is_utf8(name: str) -> bool:
    return name.replace("_", "-") in {"utf-8", "utf-8-sig"}


def _strict(data: bytes, encoding: str) -> str | None:
    """Decode strictly, None when the bytes are not valid in that encoding."""
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def looks_mojibake(text: str) -> bool:
    """True when a single-byte Latin decoding produced mostly accented letters (the wrong code page)."""
    letters = _LETTER.findall(text)
    if len(letters) < 20:
        return False
    return len(_ACCENTED_LATIN.findall(text)) / len(letters) > MOJIBAKE_SHARE


def _guess(data: bytes) -> str:
    """charset_normalizer's best guess (Turkish preferred over Icelandic), windows-1252 when it has none."""
    best = charset_normalizer.from_bytes(data, cp_isolation=list(REGIONAL_CODECS)).best()
    if best is None:
        return "cp1252"
    encoding = normalize_encoding(best.encoding) or "cp1252"
    if encoding in _WESTERN and _TURKISH_AS_WESTERN.search(data.decode(encoding, errors="replace")):
        return "cp1254"
    return encoding


def _accept_declared(data: bytes, encoding: str) -> str | None:
    """Text decoded with a declared charset, or None if the bytes contradict the declaration."""
    text = _strict(data, encoding)
    if text is None:
        return None
    if _is_utf8(encoding):
        return text
    if _UTF8_MULTIBYTE.search(data) and _strict(data, "utf-8") is not None:
        return None  # declared single-byte, but the bytes are valid multi-byte UTF-8
    if looks_mojibake(text):
        return None
    return text


def decode_html(data: bytes, headers_charset: str | None = None) -> tuple[str, str]:
    """Return (text, python codec name) for raw page bytes; `headers_charset` is a hint that may lie."""
    bom_encoding, bom = read_bom(data)
    if bom_encoding and bom:
        encoding = normalize_encoding(bom_encoding) or "utf-8"
        return data[len(bom) :].decode(encoding, errors="replace"), encoding
    if not _HIGH_BYTES.search(data):
        return data.decode("ascii"), "ascii"
    for label in (headers_charset, html_body_declared_encoding(data)):
        declared = normalize_encoding(label)
        if declared and (text := _accept_declared(data, declared)) is not None:
            return text, declared
    if (text := _strict(data, "utf-8")) is not None:
        return text, "utf-8"
    guessed = _guess(data)
    return data.decode(guessed, errors="replace"), guessed
