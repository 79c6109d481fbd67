"""Subscriptions in and out: OPML read by listparser, written as OPML 2.0.

listparser only ever gets the file's bytes, never a URL (given a string that starts with
``http`` it would fetch it), so an import never touches the network. What it gets has been
checked first: at most ``MAX_BYTES``, no DOCTYPE or entity declarations (entity expansion
bombs, external entities), an ``<opml>`` root. Feeds in nested folders are all found; each
becomes a ``feed`` source named after its title (``name_for``).
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from worker import checks
from worker.errors import ConfigError, WorkerError
from worker.kinds import NAME_RULE
from worker.models import Source

MAX_BYTES = 10_000_000  # an OPML file larger than this is refused (300 feeds take about 60 kB)
MAX_NAME = 40  # characters of a name made from a title
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
_BOMS = (("\ufeff".encode("utf-16-le"), "utf-16"), ("\ufeff".encode("utf-16-be"), "utf-16"))


@dataclass(frozen=True)
class Subscription:
    """One feed of an OPML file."""

    title: str
    url: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import adds, and what it leaves out and why."""

    added: tuple[tuple[str, str], ...] = ()  # (name, url) of each new feed source
    known: tuple[str, ...] = ()  # URLs already configured (or twice in the file)
    skipped: tuple[tuple[str, str], ...] = ()  # (url, reason)


def read_opml(path: str | Path) -> list[Subscription]:
    """The feeds of an OPML file; a one-line WorkerError when it cannot or must not be read."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise WorkerError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_opml(data, str(path))


def parse_opml(data: bytes, where: str = "OPML") -> list[Subscription]:
    """The feeds of OPML bytes, in file order, each URL once. Refuses (WorkerError) what is too
    large, declares a DOCTYPE or entities, or is not OPML."""
    import listparser

    if len(data) > MAX_BYTES:
        raise WorkerError(f"{where}: larger than {MAX_BYTES // 1_000_000} MB, refused")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            data = data.decode(encoding).encode("utf-8")
    if b"\x00" in data:
        raise WorkerError(f"{where}: not an OPML file (binary data)")
    if _DECLARATION.search(data):
        raise WorkerError(f"{where}: refused: OPML with a DOCTYPE or entity declarations (entity expansion)")
    result = listparser.parse(data)  # bytes: parsed as a document, never fetched
    if not str(result.get("version", "")).startswith("opml"):
        raise WorkerError(f"{where}: not an OPML file (no <opml> root element)")
    return [Subscription(str(f.get("title") or "").strip(), str(f["url"]).strip()) for f in result["feeds"]]


def same_url(url: str) -> str:
    """A URL as two configs would be compared: scheme and host in lower case, no default port."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        return url.strip()
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def name_for(title: str, url: str, taken: set[str]) -> str:
    """A source name from a feed's title (letters and digits, lower case, '-' between words;
    its host when the title has none), made unique with -2, -3 ... against ``taken``."""
    base = _slug(title) or _slug((urlsplit(url).hostname or "").removeprefix("www.")) or "feed"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base[: MAX_NAME - len(str(n)) - 1]}-{n}"
    assert NAME_RULE.fullmatch(name)
    return name


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9.]+", "-", ascii_text.lower()).strip("-.")
    return slug[:MAX_NAME].rstrip("-.")


def plan_import(subscriptions: Iterable[Subscription], sources: Iterable[Source]) -> ImportPlan:
    """Which feeds an import adds (named, unique), which are configured already, which cannot be."""
    sources = list(sources)
    taken = {s.name for s in sources}
    seen = {same_url(s.options["url"]) for s in sources if "url" in s.options}
    added, known, skipped = [], [], []
    for sub in subscriptions:
        try:
            checks.url(sub.url, "xmlUrl")
        except ConfigError:
            skipped.append((sub.url, "not an http or https URL"))
            continue
        if same_url(sub.url) in seen:
            known.append(sub.url)
            continue
        name = name_for(sub.title, sub.url, taken)
        taken.add(name)
        seen.add(same_url(sub.url))
        added.append((name, sub.url))
    return ImportPlan(tuple(added), tuple(known), tuple(skipped))


def to_opml(sources: Iterable[Source], title: str, now: datetime | None = None) -> bytes:
    """OPML 2.0 of the feed sources: one outline each, its name as text and title."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for source in sources:
        if source.kind == "feed":
            attrs = {"type": "rss", "text": source.name, "title": source.name, "xmlUrl": source.options["url"]}
            ET.SubElement(body, "outline", attrs)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
