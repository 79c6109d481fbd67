"""config.yaml changed in place (``worker sources import``), keeping what the file says and how.

ruamel.yaml's round trip keeps every comment, blank line, quote and key order; its indentation
is set to the file's own (mappings, sequences, the dash's offset), and new sources are appended
to ``sources:`` in the style of the ones there (a blank line between entries if they have one).
The result is refused unless every line of the file is still there, in order, and it is written
beside the file and renamed over it, so the file is never half written.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from worker.errors import ConfigError

_BLOCK_KEY = re.compile(r"^[A-Za-z_][\w-]*:\s*(#.*)?$")  # a top-level key whose value is a block
_ITEM = re.compile(r"^(\s*)-(\s+)\S")


def indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel.yaml counts them, read from the file: the indent of
    the first nested mapping, and of the first list item's dash and content. The shipped
    config's style (2, 4, 2) when the file shows none."""
    mapping = sequence = offset = None
    previous = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = _ITEM.match(line)
        if item and sequence is None:
            offset = len(item.group(1))
            sequence = offset + 1 + len(item.group(2))
        elif not item and mapping is None and _BLOCK_KEY.match(previous) and line.startswith(" "):
            mapping = len(line) - len(line.lstrip())
        previous = line
    return mapping or 2, sequence or 4, offset if offset is not None else 2


def with_sources(text: str, entries: Sequence[Mapping[str, Any]], note: str, where: str = "config") -> str:
    """``text`` with ``entries`` appended to its ``sources:`` list (made when missing), after a
    ``# note`` line. ConfigError when the file cannot be kept as it is around them."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    mapping, sequence, offset = indentation(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # long lines stay as they are
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    try:
        data = yaml.load(text) if text.strip() else CommentedMap()
    except YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, CommentedMap):
        raise ConfigError(f"{where}: expected a mapping of keys at the top")
    if data.get("sources") is None:
        data["sources"] = CommentedSeq()
    items = data["sources"]
    if not isinstance(items, CommentedSeq):
        raise ConfigError(f"{where}: sources: expected a list of sources")
    spaced = _spaced(text, items)
    first = len(items)
    for i, entry in enumerate(entries):
        items.append(CommentedMap(entry))
        before = ("\n" if spaced else "") + note if i == 0 else ("\n" if spaced else None)
        if before is not None:
            items.yaml_set_comment_before_after_key(first + i, before=before, indent=offset)
    out = io.StringIO()
    yaml.dump(data, out)
    new = out.getvalue()
    _check_kept(text, new, where)
    return new


def _spaced(text: str, items: Any) -> bool:
    """Whether the list's entries are separated by blank lines (looked at before the second)."""
    if len(items) < 2:
        return False
    lines = text.splitlines()
    line = items.lc.item(1)[0]
    return line > 0 and not lines[line - 1].strip()


def _check_kept(old: str, new: str, where: str) -> None:
    """Every line of ``old`` is in ``new``, in order: only lines were added."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, _, _, _ in matcher.get_opcodes():
        if tag not in ("equal", "insert"):
            line = old.splitlines()[i1]
            raise ConfigError(
                f"{where}: line {i1 + 1} would change when sources are added ({line.strip()[:60]!r}); add them by hand"
            )


def replace_file(path: str | Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it over the file (its mode kept)."""
    path = Path(path)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
