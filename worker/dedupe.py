"""Headline normalization and hashing: one article per normalized headline."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Typographic quotes, dashes and look-alikes mapped to ASCII before punctuation is dropped,
# so that "Afghanistan’s" and "Afghanistan's" normalize alike.
_ASCII = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "\u0060": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2039": "'",
        "\u203a": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)

_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


def normalize_headline(headline: str) -> str:
    """NFKC, typographic quotes and dashes to ASCII, case-folded, punctuation dropped, spaces collapsed.

    Apostrophes vanish inside words ("Afghanistan's" -> "afghanistans") and other punctuation
    separates words, so the result is stable under any of these variations and idempotent.
    """
    text = unicodedata.normalize("NFKC", headline).translate(_ASCII).casefold()
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("'", "")
    if text.isascii():  # the loop below, for ASCII: letters and digits are the word characters
        return " ".join(_ASCII_WORD.findall(text))
    words = []
    word: list[str] = []
    for ch in text:
        if ch.isalnum() or unicodedata.category(ch) in ("Mn", "Mc"):
            word.append(ch)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return " ".join(words)


def headline_hash(headline: str) -> str:
    """SHA-256 hex of the normalized headline."""
    return hashlib.sha256(normalize_headline(headline).encode("utf-8")).hexdigest()
