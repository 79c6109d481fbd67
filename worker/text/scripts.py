"""Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese,
and Korean, which writes particles onto the word): the articles holding any of their characters
are also kept in the archive's trigram index (``worker.archive.migrate_7``), and a query word
holding one is looked up there (``worker.search_plan``)."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Code point ranges of the scripts the trigram index serves (the query planner routes a word
# holding any of them to it: worker.search_plan).
SPACELESS_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs, extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x20000, 0x3134F),  # CJK unified ideographs, extensions B to G
)
SPACELESS = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in SPACELESS_RANGES) + "]")


_SHORT = 256  # characters: a shorter text is read by the regular expression


def is_spaceless(*texts: str | None) -> int:
    """1 when any of the texts holds a character of those scripts: the ``spaceless`` column.
    A body is read as code points, of which only those from the first range up are looked up
    (the regular expression costs 8 ns a character, this about half); SQLite's GLOB over the
    same text costs 0.75 to 1.4 ms (more than the word index's insert)."""
    return int(any(text and _holds(text) for text in texts))


def _holds(text: str) -> bool:
    if text.isascii():
        return False
    if len(text) < _SHORT:
        return SPACELESS.search(text) is not None
    import numpy as np  # the text layer stays light for the fetchers and the query planner

    edges = _edges()
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    high = points[points >= edges[0]]
    return bool(high.size) and bool((np.searchsorted(edges, high, side="right") & 1).any())


@cache
def _edges() -> np.ndarray:
    """Where the ranges start and end (exclusive), in order: a code point is in a range when an
    odd number of these are at or below it."""
    import numpy as np

    return np.array(sorted(edge for low, high in SPACELESS_RANGES for edge in (low, high + 1)), dtype=np.uint32)
