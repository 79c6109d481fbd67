"""The neutral text layer (worker.text): language codes, the byline format, datelines, one-line
fields; and that fetchers and cleaners both use it while it uses neither."""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.text.bylines import byline_names, format_byline, split_names
from worker.text.datelines import find_dateline, strip_dateline
from worker.text.lang import lang_code
from worker.text.lines import clean_line, plain_paragraphs, plain_text, unescape_line

WORKER = Path(__file__).resolve().parents[1] / "worker"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return found | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}


def test_the_text_layer_imports_neither_fetchers_nor_cleaners():
    for path in (WORKER / "text").glob("*.py"):
        assert not {m for m in _imports(path) if m.startswith(("worker.clean", "worker.fetchers"))}, path.name


def test_fetchers_import_nothing_of_the_cleaners():
    for path in (WORKER / "fetchers").glob("*.py"):
        assert not {m for m in _imports(path) if m.startswith("worker.clean")}, path.name


# ---------------------------------------------------------------- language codes


@pytest.mark.parametrize(
    "raw, code",
    [
        ("en", "en"),
        ("EN", "en"),
        ("en-us", "en-US"),
        ("en_US", "en-US"),
        ("EN-us", "en-US"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("sr-latn", "sr-Latn"),
        ("es-419", "es-419"),
        ("de-DE-1996", "de-DE-1996"),
        ("de_DE.UTF-8", "de-DE"),
        ("en-US, fr;q=0.5", "en-US"),
        ("fr-FR-x-Paris", "fr-FR-x-paris"),
        (" pt-br ", "pt-BR"),
        ("en-", "en"),
        ("garbage", None),
        ("12", None),
        ("x-default", None),
        ("", None),
        (None, None),
    ],
)
def test_lang_code(raw, code):
    assert lang_code(raw) == code


@given(st.text(max_size=30))
def test_lang_code_is_stable(raw):
    code = lang_code(raw)
    assert code is None or lang_code(code) == code


# ---------------------------------------------------------------- bylines


@pytest.mark.parametrize(
    "names, byline",
    [
        (["Ana Ruiz"], "Ana Ruiz"),
        (["Ana Ruiz", "John Smith"], "Ana Ruiz and John Smith"),
        (["Anna Weber", "Tomasz Nowak", "Ilse Brandt"], "Anna Weber, Tomasz Nowak and Ilse Brandt"),
        ("Ana Ruiz, John Smith", "Ana Ruiz and John Smith"),  # a list written out is read as one
        ("Ana Ruiz, Bo Chen, and Cy Dale", "Ana Ruiz, Bo Chen and Cy Dale"),
        ("Ana Ruiz & Bo Chen", "Ana Ruiz and Bo Chen"),
        ("Smith, John", "Smith, John"),  # not a list of full names: kept whole
        ("Simon & Schuster", "Simon & Schuster"),
        (["B", "C"], "B and C"),
        (["Ana  Ruiz\u00a0", "ana ruiz", ""], "Ana Ruiz"),
        ([], None),
        (None, None),
        ("", None),
    ],
)
def test_format_byline(names, byline):
    assert format_byline(names) == byline


@given(
    st.lists(
        st.sampled_from(
            [
                "Ana Ruiz",
                "Bo",
                "Smith, John",
                "Tom and Jerry",
                "Cy Dale, Jr.",
                "AT&T",
                "Dana Ford",
                "Ilse Brandt",
                "x",
                " ",
            ]
        ),
        max_size=5,
    )
)
def test_a_formatted_byline_formats_to_itself(names):
    once = format_byline(names)
    assert once is None or format_byline(once) == once


def test_byline_names_reads_the_format_back():
    assert byline_names("Anna Weber, Tomasz Nowak and Ilse Brandt") == ["Anna Weber", "Tomasz Nowak", "Ilse Brandt"]
    assert byline_names(None) == [] and split_names("Ana Ruiz") == ["Ana Ruiz"]


# ---------------------------------------------------------------- datelines


@pytest.mark.parametrize(
    "text, place, agency, rest",
    [
        ("WASHINGTON, March 3 (AP) — The Senate voted.", "WASHINGTON", "AP", "The Senate voted."),
        ("PORTSMOUTH, England, March 3 — The navy sailed.", "PORTSMOUTH, England", None, "The navy sailed."),
        ("KABUL, Afghanistan — The Taliban pushed.", "KABUL, Afghanistan", None, "The Taliban pushed."),
        ("NEW YORK (Reuters) - Stocks fell.", "NEW YORK", "Reuters", "Stocks fell."),
        ("NEW YORK, N.Y. -- Stocks fell.", "NEW YORK, N.Y.", None, "Stocks fell."),
        ("WASHINGTON (Aug. 13) -- Declaring...", "WASHINGTON", None, "Declaring..."),  # a day, not an agency
        ("SEOUL, Aug. 20, 2019 (Yonhap) -- North Korea said.", "SEOUL", "Yonhap", "North Korea said."),
        ("SÃO PAULO, Brazil — Rain.", "SÃO PAULO, Brazil", None, "Rain."),
        ("WASHINGTON —\n\nThe Senate voted.", "WASHINGTON", None, "The Senate voted."),
    ],
)
def test_datelines(text, place, agency, rest):
    found, body = strip_dateline(text)
    assert (found.place, found.agency, body) == (place, agency, rest)


@pytest.mark.parametrize(
    "text",
    [
        "The Senate voted — finally.",
        "UPDATE — The vote was delayed.",
        "CNN — Justice Alito spoke.",
        "US - China talks resumed.",
        "WASHINGTON, Marchy 3 — x",
        "WASHINGTON, March 41 — x",
        "Washington — x",
        "",
    ],
)
def test_not_datelines(text):
    assert find_dateline(text) is None and strip_dateline(text) == (None, text)


# ---------------------------------------------------------------- one-line fields


@pytest.mark.parametrize(
    "raw, line",
    [
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("AT&T", "AT&T"),
        ("AT&amp;T &amp;amp; friends", "AT&T & friends"),  # escaped twice: decoded twice
        ("Tom&#8217;s\n  day&nbsp;out", "Tom’s day out"),
        ("Cafe\u0301", "Café"),
    ],
)
def test_unescape_line(raw, line):
    assert unescape_line(raw) == line


_ODD = "\u00a0\u00ad\u200b\u200c\u200d\u2060\ufeff\u3000\u2003\u2028\u0085\u200e\t\x0b\x0c\x1c\x07\x7f"


@given(st.text(alphabet=st.sampled_from("ab  é\u0301’中" + _ODD), max_size=40))
def test_clean_line_is_its_definition_whichever_path_it_takes(raw):
    # the definition: NFC, invisible characters and controls dropped, spaces collapsed, trimmed
    text = unicodedata.normalize("NFC", raw)
    text = re.sub("[\u00ad\u200b\u200c\u200d\u2060\ufeff]", "", text)
    text = re.sub(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", "", text)
    text = re.sub(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\f\v]+", " ", text).strip()
    assert clean_line(raw) == text


def test_plain_text_drops_markup_and_decodes_once_more():
    assert plain_text("<p>A &amp;amp; B</p><p>C</p>") == "A & B C"
    assert plain_text("Tom &amp; Jerry") == "Tom & Jerry" and plain_text("AT&T") == "AT&T"
    assert plain_text(None) == "" and plain_text("x < y") == "x < y"


def test_plain_paragraphs():
    assert plain_paragraphs("One\r\ntwo\n\n\n  Three\u00a0 four ") == "One\ntwo\n\nThree four"
