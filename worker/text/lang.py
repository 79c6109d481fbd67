"""Language codes: one spelling, BCP 47 case, for every source (pure functions)."""

from __future__ import annotations

import re
from functools import lru_cache

_END = re.compile(r"[\s,;.@]+")  # a list of tags, or a locale's charset ("de_DE.UTF-8")


@lru_cache(maxsize=1024)  # a source names few languages, and names them on every item
def lang_code(value: str | None) -> str | None:
    """A language tag in BCP 47 case: ``en``, ``en-US``, ``zh-Hant-TW``, ``es-419``.

    ``en_US``, ``en-us`` and ``EN-US`` are all ``en-US``; the region is kept wherever it is
    given. A list ("de, en;q=0.5", as Content-Language may send) gives its first tag; a subtag
    that is not one ends the tag there. None when the value does not start with a language
    (two or three letters).
    """
    if not value or not isinstance(value, str):
        return None
    first = _END.split(value.strip(), maxsplit=1)[0]
    parts = first.replace("_", "-").split("-")
    if not (parts[0].isascii() and parts[0].isalpha() and 2 <= len(parts[0]) <= 3):
        return None
    tag = [parts[0].lower()]
    extension = False  # after a singleton ("x-", "u-") every subtag is lower case
    for part in parts[1:]:
        if not (part.isascii() and part.isalnum() and len(part) <= 8):
            break
        if len(part) == 1:
            extension = True
        if extension:
            tag.append(part.lower())
        elif len(part) == 4 and part.isalpha() and len(tag) == 1:
            tag.append(part.title())  # a script: Hant, Latn
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            tag.append(part.upper() if part.isalpha() else part)  # a region: US, 419
        else:
            tag.append(part.lower())  # an extended language or a variant
    return "-".join(tag)
