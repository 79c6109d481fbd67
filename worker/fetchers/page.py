"""Article pages: configured URL lists, and the page fetching shared with the sitemap fetcher."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from worker.errors import FetchError
from worker.fetchers import PAGE_ACCEPT, FetchContext, FetchIterator, conditional_get, http_checkpoint
from worker.models import Hints, HttpResponse, RawItem, Skipped, Source


def read_urls_file(text: str) -> list[str]:
    """One URL per line; blank lines and ``#`` comments (whole-line or trailing) ignored."""
    urls = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if line:
            urls.append(line)
    return urls


def page_urls(source: Source) -> list[str]:
    """The source's ``urls`` then the lines of its ``urls_file``, each once, in order."""
    urls = list(source.options.get("urls") or ())
    if source.options.get("urls_file"):
        path = Path(source.options["urls_file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            raise FetchError(str(path), None, f"cannot read urls_file: {err}") from None
        urls += read_urls_file(text)
    return list(dict.fromkeys(u.strip() for u in urls if u.strip()))


def fetch(source: Source, ctx: FetchContext) -> FetchIterator:
    """Fetch every configured page; one failing page becomes ``Skipped`` and never stops the rest."""
    yield from fetch_pages(page_urls(source), source, ctx, trusted=True)  # configured, unlike links found


def fetch_pages(
    urls: Iterable[str],
    source: Source,
    ctx: FetchContext,
    trusted: bool,
    hints_by_url: Mapping[str, Hints] | None = None,
) -> FetchIterator:
    """For each URL: a conditional GET; 304 yields nothing; a failure yields ``Skipped``;
    success yields ``RawItem(kind="html")`` and then that URL's ``Checkpoint``.

    ``hints_by_url`` gives what is already known about a page (e.g. a news sitemap's title);
    the final URL and the HTTP charset are always taken from the response.
    """
    for url in urls:
        try:
            resp = conditional_get(ctx, source, url, trusted=trusted, accept=PAGE_ACCEPT)
        except FetchError as err:
            yield Skipped(source.name, url, str(err))
            continue
        if resp.not_modified:
            continue
        if not resp.content:
            yield Skipped(source.name, url, "empty response body")
            continue
        yield page_item(source.name, url, resp, (hints_by_url or {}).get(url) or Hints())
        yield http_checkpoint(url, resp.validators)


def page_item(source: str, locator: str, resp: HttpResponse, hints: Hints, fallback: RawItem | None = None) -> RawItem:
    """A fetched page as an ``html`` item: its final URL and HTTP charset taken from the response."""
    return RawItem(
        source=source,
        locator=locator,
        kind="html",
        content=resp.content,
        hints=replace(hints, url=resp.url, encoding=resp.encoding),
        fallback=fallback,
        capture=resp.capture,
    )
