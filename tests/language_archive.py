"""An archive of articles in many scripts, built through the real pipeline: our own Japanese,
Thai, Korean and English texts (tests/fixtures/languages), and, when the development corpus is
there, real Chinese, Japanese and Thai pages and Urdu, Russian and German feeds read from it."""

from __future__ import annotations

from pathlib import Path

from worker.archive import Archive
from worker.kinds import make_source
from worker.pipeline import ingest

FIXTURES = Path(__file__).parent / "fixtures" / "languages"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
CORPUS_SOURCES = {
    "zh-page": "pages/newspaper4k/chinese_article.html",
    "ja-page": "pages/newspaper4k/japanese_article.html",
    "th-page": "pages/newspaper4k/thai_article.html",
    "ur-feed": "feeds/bbc-urdu_rss2_cdata.xml",
    "ru-feed": "feeds/ibash-org-ru_rss2_windows-1251.xml",
    "de-feed": "feeds/golem-de_rss2_iso-8859-1.xml",
}


def build_language_archive(path: Path) -> Path:
    with Archive(path) as archive:
        assert ingest(make_source(name="own", kind="files", path=str(FIXTURES)), archive).status == "ok"
        if CORPUS.is_dir():
            for name, file in CORPUS_SOURCES.items():
                result = ingest(make_source(name=name, kind="files", path=str(CORPUS / file)), archive)
                assert result.status == "ok" and result.new > 0, (name, result)
    return path
