"""Text normalization and byte decoding shared by the cleaners and fetchers (pure functions)."""

from __future__ import annotations

import codecs
import re
import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DECLARED = re.compile(
    rb"""<\?xml[^>]*encoding=["']([A-Za-z0-9._:-]+)["']|<meta[^>]+charset=["']?([A-Za-z0-9._:-]+)""",
    re.I,
)


def clean_line(text: str) -> str:
    """NFC, invisible characters dropped, runs of spaces (incl. NBSP) collapsed, trimmed."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = _CONTROL.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("'\"")).name
    except LookupError:
        return None


def sniff_encoding(data: bytes, declared: str | None = None) -> str | None:
    """The encoding named by the BOM, then ``declared`` (e.g. the HTTP charset), then the document."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    if (enc := _codec(declared)) is not None:
        return enc
    m = _DECLARED.search(data[:4096])
    if m:
        return _codec((m.group(1) or m.group(2)).decode("ascii", "replace"))
    return None


def decode(data: bytes | str, declared: str | None = None) -> str:
    """Bytes to str: BOM, declared charset, in-document declaration, UTF-8, detection, cp1252.

    Never raises: undecodable bytes become U+FFFD as a last resort.
    """
    if isinstance(data, str):
        return data
    enc = sniff_encoding(data, declared)
    if enc is not None:
        try:
            text = data.decode(enc)
            return text[1:] if text.startswith("\ufeff") else text
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        if best is not None and best.encoding:
            return data.decode(best.encoding, errors="replace")
    except Exception:  # detection is best effort; fall through to cp1252
        pass
    return data.decode("cp1252", errors="replace")


_SINGLE_BYTE = re.compile(r"^(?:iso8859|latin|cp125|cp1252|windows-125|koi8|mac-|ascii|cp437|cp850)", re.I)


def decode_markup(data: bytes | str, declared: str | None = None) -> str:
    """Like ``decode``, but bytes that are valid UTF-8 with non-ASCII text are read as UTF-8 when the
    HTTP header or the document names a single-byte charset: pages re-saved as UTF-8 often keep their
    old ``<meta charset>``, and servers often default to ISO-8859-1. Valid multi-byte UTF-8 sequences
    almost never occur in real single-byte text.
    """
    if isinstance(data, str):
        return data
    enc = sniff_encoding(data, declared)
    if enc is not None and _SINGLE_BYTE.match(enc) and not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return decode(data, declared)
