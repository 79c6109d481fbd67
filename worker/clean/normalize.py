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
    """Bytes to str: BOM, declared charset, in-document declaration, UTF-8, Western
    Windows-1252 by shape, detection, cp1252.

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
    if _looks_cp1252(data):  # detection misreads short Western texts (one 0x92 as Cyrillic)
        return data.decode("cp1252", errors="replace")
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        if best is not None and best.encoding:
            return data.decode(best.encoding, errors="replace")
    except Exception:  # detection is best effort; fall through to cp1252
        pass
    return data.decode("cp1252", errors="replace")


def _looks_cp1252(data: bytes) -> bool:
    """Mostly ASCII with sparse high bytes, all defined in Windows-1252 (not a Cyrillic/Greek 8-bit page)."""
    high = [b for b in data if b >= 0x80]
    if not high or any(b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) for b in high):
        return False
    ascii_letters = sum(1 for b in data if 0x61 <= (b | 0x20) <= 0x7A)
    return sum(1 for b in high if b >= 0xC0) <= 0.3 * ascii_letters
