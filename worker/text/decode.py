"""Bytes to text: BOM, valid UTF-8, a declared charset, detection that prefers Windows-1252
(pure functions, shared by the fetchers and the cleaners)."""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_LATIN1 = {"latin_1", "iso8859-1", "ascii"}
CP1252_MARGIN = 0.03  # detection "chaos" by which another guess must beat cp1252
_DECLARED = re.compile(
    rb"""<\?xml[^>]*encoding=["']([A-Za-z0-9._:-]+)["']|<meta[^>]+charset=["']?([A-Za-z0-9._:-]+)""",
    re.I,
)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("'\"")).name
    except LookupError:
        return None


def _try(data: bytes, name: str | None) -> str | None:
    """Decode strictly with ``name``; Latin-1 is read as its superset cp1252, as browsers do."""
    codec = _codec(name)
    if codec is None:
        return None
    for enc in ("cp1252", codec) if codec in _LATIN1 else (codec,):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


def utf8(data: bytes) -> bytes | None:
    """``data`` without a UTF-8 BOM when it is valid UTF-8 (what ``decode`` would read as UTF-8),
    else None. Checked in slices, so a large page is never held as a (up to 4x larger) str."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif any(data.startswith(bom) for bom, _ in _BOMS):
        return None
    if data.isascii():
        return data
    check = codecs.getincrementaldecoder("utf-8")()
    try:
        for i in range(0, len(data), 1 << 16):
            check.decode(data[i : i + (1 << 16)])
        check.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return data


def decode(data: bytes | str, declared: str | None = None) -> str:
    """Bytes to str: BOM, valid UTF-8, the declared charset (HTTP), the document's own declaration
    (XML or ``<meta charset>``), then detection that prefers Windows-1252 for Western text.

    Valid UTF-8 wins over a declaration because servers and feeds often declare Latin-1 for
    UTF-8 bytes; the reverse (Latin-1 bytes that happen to be valid UTF-8) practically never
    occurs. Never raises: undecodable bytes become U+FFFD as a last resort.
    """
    if isinstance(data, str):
        return data
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = _DECLARED.search(data[:4096])
    in_document = (m.group(1) or m.group(2)).decode("ascii", "replace") if m else None
    for charset in (declared, in_document):
        if (text := _try(data, charset)) is not None:
            return text
    if _looks_cp1252(data):  # detection misreads short Western texts (one 0x92 as Cyrillic)
        return data.decode("cp1252")
    return _detect(data)


def _detect(data: bytes) -> str:
    """charset-normalizer's guess, but cp1252, the web's most common legacy charset, wins unless
    another guess reads clearly better (short Western texts otherwise come out as cp1250)."""
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(data[:200_000]))
    except Exception:  # detection is best effort
        matches = []
    if matches:
        best = matches[0]
        for m in matches:
            western = m.chaos <= best.chaos + CP1252_MARGIN and "cp1252" in (m.encoding, *m.could_be_from_charset)
            if western and (text := _try(data, "cp1252")) is not None:
                return text
        if (text := _try(data, best.encoding)) is not None:
            return text
    return data.decode("cp1252", errors="replace")


def _looks_cp1252(data: bytes) -> bool:
    """Mostly ASCII with sparse high bytes, all defined in Windows-1252 (not a Cyrillic/Greek 8-bit page)."""
    high = [b for b in data if b >= 0x80]
    if not high or any(b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) for b in high):
        return False
    ascii_letters = sum(1 for b in data if 0x61 <= (b | 0x20) <= 0x7A)
    return sum(1 for b in high if b >= 0xC0) <= 0.3 * ascii_letters
