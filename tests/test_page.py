"""Page fetcher: URL lists, conditional GETs, per-page failures. Also the fake HTTP used by the
feed and sitemap fetch tests (no network anywhere)."""

from __future__ import annotations

import json

import pytest

from worker.errors import FetchError
from worker.fetchers import page
from worker.kinds import make_source
from worker.models import Checkpoint, FetchStats, Hints, HttpResponse, Options, RawItem, Skipped, Source, Validators


class FakeHttp:
    """``get()`` answers from a dict of url -> HttpResponse | Exception and records every call."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.calls: list[tuple[str, dict]] = []

    def get(self, url, *, trusted=True, validators=None, respect_robots=True, stats=None, accept=None, capture=False):
        self.calls.append((url, {"trusted": trusted, "validators": validators, "accept": accept}))
        answer = self.routes.get(url)
        if answer is None:
            raise FetchError(url, 404, "Not Found")
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def urls(self) -> list[str]:
        return [u for u, _ in self.calls]


class FakeCtx:
    def __init__(self, routes: dict, archived=(), validators=None, kept=None):
        self.http = FakeHttp(routes)
        self.kept = kept or {}  # checkpoint values of earlier runs, by key
        self.stats = FetchStats()
        self.archived = set(archived)
        self.validators = validators or {}
        self.archived_checks: list[str] = []

    def validators_for(self, url):
        return self.validators.get(url)

    def saved(self, key):
        return self.kept.get(key)

    def is_archived(self, headline, publication=None):
        self.archived_checks.append(headline)
        return headline in self.archived

    capturing = False  # raw capture: see tests/test_capture_run.py

    def capture(self, resp):
        return resp

    def capture_file(self, path, data, content_type):
        return None


def ok(url, content=b"<html></html>", *, etag=None, encoding=None, final_url=None, headers=None):
    return HttpResponse(
        url=final_url or url,
        status=200,
        headers=headers or {},
        content=content,
        encoding=encoding,
        validators=Validators(etag=etag, last_modified="Tue, 07 May 2024 10:00:00 GMT" if etag else None),
    )


def not_modified(url):
    return HttpResponse(url=url, status=304, headers={}, content=b"", not_modified=True)


def test_read_urls_file_ignores_comments_and_blanks():
    text = "# my list\nhttps://a.example/1\n\n   \nhttps://a.example/2  # trailing note\n  # indented comment\n"
    assert page.read_urls_file(text) == ["https://a.example/1", "https://a.example/2"]


def test_page_urls_merge_inline_and_file_once(tmp_path):
    f = tmp_path / "urls.txt"
    f.write_text("https://a.example/2\nhttps://a.example/3\n", encoding="utf-8")
    src = make_source(name="p", kind="page", urls=("https://a.example/1", "https://a.example/2"), urls_file=str(f))
    assert page.page_urls(src) == ["https://a.example/1", "https://a.example/2", "https://a.example/3"]


def test_missing_urls_file_is_a_fetch_error(tmp_path):
    src = Source(name="p", kind="page", options=Options(urls_file=str(tmp_path / "missing.txt")))  # gone since
    with pytest.raises(FetchError):
        list(page.fetch(src, FakeCtx({})))


def test_fetch_pages_items_checkpoints_skips_and_304():
    a, b, c = "https://a.example/1", "https://a.example/2", "https://a.example/3"
    ctx = FakeCtx(
        {
            a: ok(a, b"<html>one</html>", etag='"e1"', encoding="iso-8859-1", final_url=a + "?final"),
            b: FetchError(b, 500, "Server Error"),
            c: not_modified(c),
        },
        validators={c: Validators(etag='"old"')},
    )
    src = make_source(name="p", kind="page", urls=(a, b, c))
    out = list(page.fetch(src, ctx))
    assert len(out) == 3
    item, cp, skipped = out
    assert isinstance(item, RawItem) and item.kind == "html" and item.content == b"<html>one</html>"
    assert item.locator == a
    assert item.hints.url == a + "?final" and item.hints.encoding == "iso-8859-1"
    assert cp == Checkpoint("http:" + a, json.dumps({"etag": '"e1"', "last_modified": "Tue, 07 May 2024 10:00:00 GMT"}))
    assert isinstance(skipped, Skipped) and skipped.locator == b and "500" in skipped.reason
    # the saved validators are sent, and configured pages are trusted
    sent = dict(ctx.http.calls)
    assert sent[c]["validators"] == Validators(etag='"old"')
    assert sent[a]["trusted"] is True


def test_fetch_pages_merges_known_hints_and_honours_trust():
    a = "https://a.example/news"
    ctx = FakeCtx({a: ok(a, encoding="utf-8")})
    src = make_source(name="s", kind="sitemap", url=a)
    out = list(page.fetch_pages([a], src, ctx, trusted=False, hints_by_url={a: Hints(headline="Known")}))
    assert out[0].hints == Hints(headline="Known", url=a, encoding="utf-8")
    assert ctx.http.calls[0][1]["trusted"] is False


def test_empty_page_body_is_skipped_without_checkpoint():
    a = "https://a.example/empty"
    out = list(page.fetch(make_source(name="p", kind="page", urls=(a,)), FakeCtx({a: ok(a, b"")})))
    assert len(out) == 1 and isinstance(out[0], Skipped)
