"""Pages, sitemaps and followed feed links, end to end over loopback HTTP servers."""

from __future__ import annotations

import gzip
import sqlite3

from tests.conftest import run_cli
from tests.loopback import LoopbackServer, serve_static

BODY = (
    "<p>The harbour board voted on {day} to rebuild the north pier, which storms damaged twice last "
    "winter, and to reopen it to fishing boats by the spring.</p>"
) * 4


def article(title: str, day: str = "Monday", author: str = "Ana Silva", date: str = "2024-05-01T10:00:00Z") -> bytes:
    return (
        f"<!doctype html><html lang='en'><head><title>{title} | The Harbour Times</title>"
        f"<meta property='og:title' content='{title}'><meta name='author' content='{author}'>"
        f"<meta property='article:published_time' content='{date}'></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>{title}</h1>{BODY.format(day=day)}</article>"
        "<footer>Copyright The Harbour Times. Subscribe to our newsletter.</footer></body></html>"
    ).encode()


def config(tmp_path, sources: str, allow_private: bool = True) -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"archive: {tmp_path / 'a.db'}\nhttp:\n  per_host_delay: 0\n  retries: 0\n  timeout: 5\n"
        f"  allow_private_hosts: {'true' if allow_private else 'false'}\nsources:\n{sources}"
    )
    return str(cfg)


def rows(db, sql):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_pages_and_a_news_sitemap(tmp_path):
    with LoopbackServer() as site:
        for i, title in enumerate(["Pier Rebuild Approved", "Ferry Fares Frozen", "Old Story From Last Year"]):
            serve_static(site, f"/news/{i}.html", article(title), "text/html; charset=utf-8")
        urlset = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            f"<url><loc>{site.url('/news/1.html')}</loc><lastmod>2024-05-02</lastmod>"
            "<news:news><news:publication><news:name>The Harbour Times</news:name><news:language>en</news:language>"
            "</news:publication><news:publication_date>2024-05-02T08:00:00Z</news:publication_date>"
            "<news:title>Ferry Fares Frozen</news:title></news:news></url>"
            f"<url><loc>{site.url('/news/2.html')}</loc><lastmod>2023-01-01</lastmod></url></urlset>"
        ).encode()
        serve_static(site, "/sitemap-news.xml.gz", gzip.compress(urlset), "application/gzip")
        index = (
            f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{site.url('/sitemap-news.xml.gz')}</loc></sitemap></sitemapindex>"
        ).encode()
        serve_static(site, "/sitemap.xml", index)
        (tmp_path / "urls.txt").write_text(f"# pages\n{site.url('/news/0.html')}\n{site.url('/missing.html')}\n")
        cfg = config(
            tmp_path,
            (
                f"  - name: pages\n    kind: page\n    urls_file: urls.txt\n"
                f"  - name: map\n    kind: sitemap\n    url: {site.url('/sitemap.xml')}\n    since: 2024-01-01\n"
            ),
        )
        r = run_cli("--config", cfg, "run", "--once")
        assert r.returncode == 0, r.stderr
        db = tmp_path / "a.db"
        got = dict(rows(db, "SELECT headline, source FROM articles"))
        assert got == {"Pier Rebuild Approved": "pages", "Ferry Fares Frozen": "map"}  # the 2023 one: before since
        assert rows(db, "SELECT skipped FROM runs WHERE source = 'pages'") == [(1,)]  # the 404, skipped
        byline, published = rows(db, "SELECT byline, published_at FROM articles WHERE source = 'map'")[0]
        assert byline == "Ana Silva" and published.startswith("2024-05-0")
        r = run_cli("--config", cfg, "run", "--once")
        assert " 0 new" in r.stdout
        assert rows(db, "SELECT not_modified FROM runs WHERE source = 'map' ORDER BY id DESC LIMIT 1") == [(1,)]


def test_follow_links_fetches_only_new_items_and_refuses_private_links(tmp_path):
    with LoopbackServer() as site, LoopbackServer(host="127.0.0.2") as other:
        serve_static(site, "/a.html", article("Pier Rebuild Approved"), "text/html")
        serve_static(other, "/b.html", article("Ferry Fares Frozen"), "text/html")
        items = [
            ("Pier Rebuild Approved", site.url("/a.html")),
            ("Ferry Fares Frozen", other.url("/b.html")),
            ("Metadata Service", "http://169.254.169.254/latest/meta-data/"),
        ]
        feed = (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>Harbour</title>"
            + "".join(
                f"<item><title>{t}</title><link>{u}</link><description>Short teaser.</description>"
                "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item>"
                for t, u in items
            )
            + "</channel></rss>"
        ).encode()
        serve_static(site, "/feed.xml", feed, etag=False, last_modified=None)
        src = f"  - name: harbour\n    kind: feed\n    url: {site.url('/feed.xml')}\n    follow_links: true\n"

        # links found in a feed may not lead to private addresses: the entries are kept as they are
        cfg = config(tmp_path, src, allow_private=False)
        r = run_cli("--config", cfg, "--log-format", "json", "ingest", "harbour")
        assert r.returncode == 0 and "3 new" in r.stdout, r.stdout + r.stderr
        assert site.count("/a.html") == 0 and other.count("/b.html") == 0
        assert "refused non-public address" in r.stderr
        bodies = dict(rows(tmp_path / "a.db", "SELECT headline, body FROM articles"))
        assert bodies["Pier Rebuild Approved"] == "Short teaser."

        # allowed, new items' pages are fetched; archived ones are not fetched again
        (tmp_path / "a.db").unlink()
        cfg = config(tmp_path, src, allow_private=True)
        r = run_cli("--config", cfg, "ingest", "harbour")
        assert "3 new" in r.stdout
        assert site.count("/a.html") == 1 and other.count("/b.html") == 1
        bodies = dict(rows(tmp_path / "a.db", "SELECT headline, body FROM articles"))
        assert "north pier" in bodies["Ferry Fares Frozen"]
        r = run_cli("--config", cfg, "ingest", "harbour")
        assert "0 new, 0 revised, 3 duplicates" in r.stdout
        assert site.count("/a.html") == 1 and other.count("/b.html") == 1


def test_backfill_takes_urls(tmp_path):
    with LoopbackServer() as site:
        serve_static(site, "/story.html", article("Pier Rebuild Approved"), "text/html")
        feed = (
            f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Harbour</title>"
            f"<entry><title>Ferry Fares Frozen</title><link href='{site.url('/f.html')}'/>"
            "<updated>2024-05-01T10:00:00Z</updated><summary>Fares stay as they are.</summary></entry></feed>"
        ).encode()
        serve_static(site, "/atom", feed)
        db = tmp_path / "a.db"
        r = run_cli("--archive", str(db), "backfill", site.url("/story.html"), "--kind", "page")
        assert r.returncode == 0 and "1 new" in r.stdout, r.stderr
        r = run_cli("--archive", str(db), "backfill", site.url("/atom"), "--kind", "feed")
        assert "1 new" in r.stdout, r.stderr
        assert {h for (h,) in rows(db, "SELECT headline FROM articles")} == {
            "Pier Rebuild Approved",
            "Ferry Fares Frozen",
        }


def test_a_sitemap_loc_with_a_backslash_cannot_reach_an_internal_page(tmp_path):
    # urllib.parse reads the host after '@' (a public address); the HTTP client connects before the backslash
    with LoopbackServer() as site:
        secret = article("Internal Salary Spreadsheet")
        serve_static(site, "/admin/secret", secret, "text/html")
        serve_static(site, "/%5C@93.184.216.34/admin/secret", secret, "text/html")
        loc = f"http://127.0.0.1:{site.port}\\@93.184.216.34/admin/secret"
        urlset = (
            '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{loc}</loc><lastmod>2024-05-02</lastmod></url></urlset>"
        ).encode()
        serve_static(site, "/sitemap.xml", urlset)
        cfg = config(
            tmp_path, f"  - name: map\n    kind: sitemap\n    url: {site.url('/sitemap.xml')}\n", allow_private=False
        )
        r = run_cli("--config", cfg, "--log-format", "json", "run", "--once")
        assert r.returncode == 0, r.stderr
        assert site.count("/admin/secret") == 0 and site.count("/%5C@93.184.216.34/admin/secret") == 0
    assert rows(tmp_path / "a.db", "SELECT headline FROM articles") == []
    assert "backslash in the authority" in r.stderr
