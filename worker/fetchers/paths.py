"""Which paths a files source reads: a file, a folder (walked recursively) or a glob.

One rule for symbolic links, in walks and globs alike: a link is followed only when its target
(resolved through every link on the way) stays inside the source's root: the folder given (a
file given: that file), or for a glob the fixed part before its first wildcard. A link that
leads out is not read; it comes out as ``NotRead`` with its reason, which the files fetcher
reports as a skipped item. Within that rule:

- a folder walk never descends into a link to a folder: one inside the root is walked at its
  own place, one that leads out is reported;
- a glob's ``**`` never follows links (a wildcard does, within the root);
- /proc, /sys and /dev are never read through a glob, nor walked into from outside them
  (``/proc/self/root`` is the whole file system);
- a folder that cannot be listed (no permission) is reported, never passed over in silence.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from worker.errors import FetchError

SYSTEM = ("/proc", "/sys", "/dev")  # kernel file systems: endless, or devices that never end


@dataclass(frozen=True)
class NotRead:
    """A path the files source does not read, and why (a link out of its root, an unreadable folder)."""

    path: Path
    reason: str


def expand(path: str, suffixes: tuple[str, ...]) -> Iterator[Path | NotRead]:
    """Every candidate path under a file, folder or glob, sorted; missing folders ending in '/'
    are created (an empty inbox). Folders with a name ending in one of ``suffixes`` are reported
    as they are, not walked."""
    if glob.has_magic(path):
        yield from _glob(path, suffixes)
        return
    p = Path(path)
    if path.endswith("/") and not p.exists():
        p.mkdir(parents=True, exist_ok=True)
    root = os.path.realpath(p)
    yield from _walk(p, root, root, suffixes)


def _walk(p: Path, real: str, root: str, suffixes: tuple[str, ...]) -> Iterator[Path | NotRead]:
    if p.is_dir() and p.suffix.lower() not in suffixes:
        yield from _folder(str(p), real, root, suffixes)
    else:
        yield p


def _folder(top: str, real: str, root: str, suffixes: tuple[str, ...]) -> Iterator[Path | NotRead]:
    """A folder's paths (``real``: where it really is), in sorted order: folders named like a
    file (reported, not descended into), then files, then each sub-folder in turn (hidden names
    are passed over). The names of a folder are kept as one string while its files are read: a
    folder of 100,000 files costs about a megabyte, not a hundred thousand string objects."""
    dirs, named, files = [], [], []
    refused: dict[str, str] = {}
    try:
        with os.scandir(top) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink() and (reason := refusal(os.path.realpath(entry.path), root)):
                    refused[entry.name] = reason
                    files.append(entry.name)
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if not is_dir:
                    files.append(entry.name)
                elif Path(entry.name).suffix.lower() in suffixes:
                    named.append(entry.name)
                elif not entry.is_symlink():  # a link inside the root: walked at its own place
                    dirs.append(entry.name)
    except FileNotFoundError:  # removed while the walk went on
        return
    except OSError as exc:
        yield NotRead(Path(top), f"cannot read folder: {exc.strerror or exc}")
        return
    for name in sorted(named):
        yield Path(top, name)  # read_path reports it as a folder
    names = "\0".join(sorted(files))
    del files
    start = 0
    while start < len(names):
        end = names.find("\0", start)
        end = len(names) if end < 0 else end
        name = names[start:end]
        yield NotRead(Path(top, name), refused[name]) if name in refused else Path(top, name)
        start = end + 1
    for name in sorted(dirs):
        sub = os.path.join(real, name)
        if reason := refusal(sub, root):
            yield NotRead(Path(top, name), reason)
        else:
            yield from _folder(os.path.join(top, name), sub, root, suffixes)


def refusal(target: str, root: str) -> str | None:
    """Why ``target`` (a resolved path) is not read from a source rooted at ``root``; None if it is."""
    if _system(target) and not _system(root):
        return f"leads into {target}: /proc, /sys and /dev are never walked or globbed into"
    if not (target == root or target.startswith(root.rstrip("/") + "/")):
        return f"a symbolic link to {target}, out of the source's folder {root}"
    return None


def _system(path: str) -> bool:
    return any(path == top or path.startswith(top + "/") for top in SYSTEM)


def _glob(pattern: str, suffixes: tuple[str, ...]) -> Iterator[Path | NotRead]:
    """A glob's matches, sorted, each walked; its root is the fixed part before the first wildcard."""
    parts = pattern.split("/")
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = "/".join(parts[:first]) or ("/" if pattern.startswith("/") else "")
    root = os.path.realpath(base or ".")
    if _system(root):
        raise FetchError(pattern, None, "a glob never reads /proc, /sys or /dev; name the file or folder itself")
    for path, real, reason in sorted(_matches(base, root, parts[first:], root), key=lambda m: m[0]):
        if reason is not None:
            yield NotRead(Path(path), reason)
        else:
            yield from _walk(Path(path), real, root, suffixes)


Match = tuple[str, str, str | None]  # (path, where it really is, why it is not read)


def _matches(folder: str, real: str, parts: list[str], root: str) -> Iterator[Match]:
    """The paths under ``folder`` (really at ``real``) that match the pattern's ``parts``."""
    if not parts or parts == ["**"]:  # a trailing ** is the folder itself, walked whole
        yield folder, real, None
        return
    part, rest = parts[0], parts[1:]
    if not glob.has_magic(part):
        names = [part] if os.path.lexists(os.path.join(folder, part)) else []
    else:
        entries, reason = _listing(folder)
        if reason is not None:
            yield folder, real, reason
            return
        if part == "**":  # zero folders, then one more, never through a link
            yield from _matches(folder, real, rest, root)
            for entry in entries:
                sub = os.path.join(real, entry.name)
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False) and not refusal(sub, root):
                    yield from _matches(os.path.join(folder, entry.name), sub, parts, root)
            return
        hidden = part.startswith(".")
        names = [e.name for e in entries if (hidden or not e.name.startswith(".")) and fnmatch.fnmatch(e.name, part)]
    for name in names:
        path = os.path.join(folder, name)
        step = os.path.realpath(path) if os.path.islink(path) else os.path.normpath(os.path.join(real, name))
        if reason := refusal(step, root):
            yield path, step, reason
        elif not rest or os.path.isdir(step):
            yield from _matches(path, step, rest, root)


def _listing(folder: str) -> tuple[list[os.DirEntry], str | None]:
    """A folder's entries, or why it cannot be listed (a folder that is not there: no entries)."""
    try:
        with os.scandir(folder or ".") as entries:
            return list(entries), None
    except (FileNotFoundError, NotADirectoryError):
        return [], None
    except OSError as exc:
        return [], f"cannot read folder: {exc.strerror or exc}"
