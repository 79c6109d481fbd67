"""What a files source reads: symbolic links stay inside the source's root, in walks and globs
alike; /proc, /sys and /dev are never globbed; unreadable folders are reported (issue 13, items 3
and 18)."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT
from worker.errors import FetchError
from worker.fetchers.files import expand
from worker.fetchers.paths import NotRead
from worker.kinds import make_source
from worker.models import Skipped
from worker.pipeline import ingest

ARTICLE = FIXTURES / "text" / "two-authors-captions.txt"
SECRET = "Xylophone-Quartz-7 is the admin password"


def secret_article(folder):
    """An article outside the inbox that must never be archived through a link."""
    folder.mkdir(parents=True, exist_ok=True)
    text = "Internal Memo On Passwords\n\n" + " ".join([f"{SECRET}, the memo says plainly."] * 40) + "\n"
    (folder / "memo.txt").write_text(text)
    return folder / "memo.txt"


def found(archive, word="Xylophone"):
    return archive.db.execute("SELECT count(*) FROM articles WHERE body LIKE ?", [f"%{word}%"]).fetchone()[0]


@pytest.fixture
def inbox(tmp_path):
    box = tmp_path / "inbox"
    (box / "sub").mkdir(parents=True)
    shutil.copy(ARTICLE, box / "sub" / "real.txt")
    return box


def test_a_link_to_a_file_outside_the_folder_is_skipped_with_a_reason(tmp_path, inbox, archive):
    memo = secret_article(tmp_path / "private")
    (inbox / "passwd.txt").symlink_to(memo)
    (inbox / "alias.txt").symlink_to(inbox / "sub" / "real.txt")  # inside the folder: read
    got = list(expand(str(inbox)))
    refused = [p for p in got if isinstance(p, NotRead)]
    assert [p.path.name for p in refused] == ["passwd.txt"]
    assert refused[0].reason == f"a symbolic link to {memo}, out of the source's folder {inbox}"
    assert [p.relative_to(inbox).as_posix() for p in got if not isinstance(p, NotRead)] == ["alias.txt", "sub/real.txt"]
    r = ingest(make_source(name="inbox", kind="files", path=str(inbox)), archive)
    assert (r.status, r.new, r.duplicates, r.skipped) == ("ok", 1, 1, 1)
    assert found(archive) == 0


def test_a_link_to_a_folder_outside_is_reported_not_passed_over(tmp_path, inbox, archive):
    secret_article(tmp_path / "private")
    (inbox / "evil").symlink_to(tmp_path / "private")
    (inbox / "loop").symlink_to(inbox)  # inside: its files are walked at their own place
    got = list(expand(str(inbox)))
    assert [(p.path.name, p.reason.split(",")[0]) for p in got if isinstance(p, NotRead)] == [
        ("evil", f"a symbolic link to {tmp_path / 'private'}")
    ]
    assert [p.name for p in got if not isinstance(p, NotRead)] == ["real.txt"]


def test_a_glob_follows_links_only_inside_its_root(tmp_path, inbox, archive):
    """inbox/*/*.txt read the private folder through inbox/evil; now it is skipped, while a link
    to a folder inside the glob's root is still followed."""
    secret_article(tmp_path / "private")
    (inbox / "evil").symlink_to(tmp_path / "private")
    (inbox / "same").symlink_to(inbox / "sub")
    got = list(expand(str(inbox / "*" / "*.txt")))
    assert [p.path.name for p in got if isinstance(p, NotRead)] == ["evil"]
    assert sorted(p.relative_to(inbox).as_posix() for p in got if not isinstance(p, NotRead)) == [
        "same/real.txt",
        "sub/real.txt",
    ]
    r = ingest(make_source(name="g", kind="files", path=str(inbox / "*" / "*.txt")), archive)
    assert r.status == "ok" and r.skipped == 1 and found(archive) == 0


def test_a_glob_with_double_star_never_follows_links(tmp_path, inbox):
    secret_article(tmp_path / "private")
    (inbox / "evil").symlink_to(tmp_path / "private")
    (inbox / "loop").symlink_to(inbox)
    shutil.copy(ARTICLE, inbox / "top.txt")
    got = list(itertools.islice(expand(str(inbox / "**" / "*.txt")), 100))
    assert [p.relative_to(inbox).as_posix() for p in got] == ["sub/real.txt", "top.txt"]
    walked = list(expand(str(inbox / "**")))  # a trailing ** is the folder, walked once
    assert [p.relative_to(inbox).as_posix() for p in walked if not isinstance(p, NotRead)] == [
        "top.txt",
        "sub/real.txt",
    ]
    assert [p.path.name for p in walked if isinstance(p, NotRead)] == ["evil"]


def test_a_file_link_matched_by_a_glob_is_checked_too(tmp_path, inbox):
    memo = secret_article(tmp_path / "private")
    (inbox / "passwd.txt").symlink_to(memo)
    got = list(expand(str(inbox / "*.txt")))
    assert [(type(p).__name__, p.path.name if isinstance(p, NotRead) else p.name) for p in got] == [
        ("NotRead", "passwd.txt")
    ]


def test_a_glob_never_reads_proc_sys_or_dev(archive):
    """path: "/proc/self/*" walked the whole file system through /proc/self/root."""
    with pytest.raises(FetchError, match=r"^/proc/self/\*: a glob never reads /proc, /sys or /dev"):
        list(itertools.islice(expand("/proc/self/*"), 1000))
    assert [(p.path.as_posix(), p.reason.split(":")[0]) for p in expand("/de[v]")] == [("/dev", "leads into /dev")]
    r = ingest(make_source(name="p", kind="files", path="/sys/*/*.txt"), archive)
    assert r.status == "error" and "a glob never reads /proc, /sys or /dev" in r.error


def test_a_walk_from_the_top_passes_over_proc_sys_and_dev(monkeypatch):
    """Walking a folder that holds /proc, /sys and /dev reports them instead of descending."""
    from worker.fetchers import paths

    listed = []
    real_scandir = os.scandir

    def scandir(path="."):
        listed.append(str(path))
        if str(path) != "/":
            raise PermissionError(13, "Permission denied", str(path))  # keep the walk to the top folder
        return real_scandir(path)

    monkeypatch.setattr(paths.os, "scandir", scandir)
    got = list(expand("/"))
    system = [p.path.as_posix() for p in got if isinstance(p, NotRead) and "never walked" in p.reason]
    assert system == [p for p in ("/dev", "/proc", "/sys") if os.path.isdir(p)]
    assert not {"/proc", "/sys", "/dev"} & set(listed)


@pytest.mark.timeout(20)
def test_a_named_pipe_is_not_read(inbox, archive):
    """A pipe named like an article would block the run: it is passed over as what it is."""
    from worker.fetchers.files import fetch
    from worker.run import RunContext

    os.mkfifo(inbox / "pipe.txt")
    source = make_source(name="inbox", kind="files", path=str(inbox))
    out = list(fetch(source, RunContext(source=source, archive=archive)))
    assert [(o.locator, o.reason) for o in out if isinstance(o, Skipped)] == [
        (str(inbox / "pipe.txt"), "not a regular file")
    ]


# ---------------------------------------------------------------- unreadable folders (item 18)


def test_an_unreadable_folder_is_a_skipped_input_with_a_reason(inbox, archive, monkeypatch):
    """Root may read any folder, so a folder without permission is simulated."""
    from worker.fetchers import paths

    (inbox / "locked").mkdir()
    shutil.copy(ARTICLE, inbox / "locked" / "hidden-from-us.txt")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.path.basename(str(path)) == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(paths.os, "scandir", scandir)
    got = list(expand(str(inbox)))
    assert [(p.path.name, p.reason) for p in got if isinstance(p, NotRead)] == [
        ("locked", "cannot read folder: Permission denied")
    ]
    assert [(p.path.name, p.reason) for p in expand(str(inbox / "*" / "*.txt")) if isinstance(p, NotRead)] == [
        ("locked", "cannot read folder: Permission denied")
    ]
    r = ingest(make_source(name="inbox", kind="files", path=str(inbox)), archive)
    assert (r.status, r.seen, r.new, r.skipped) == ("ok", 2, 1, 1)
    r = ingest(make_source(name="top", kind="files", path=str(inbox / "locked") + "/"), archive)
    assert (r.status, r.seen, r.skipped) == ("ok", 1, 1)


def unprivileged_python() -> tuple[list[str], dict] | None:
    """(interpreter, environment) with which the user 'nobody' runs this project, or None: the
    test's own interpreter when nobody may run it, else the system's Python of the same version
    with this environment's packages on its path."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return None
    packages = [p for p in sys.path if p.endswith("site-packages")]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python, path in (
        (sys.executable, [str(ROOT)]),
        (shutil.which(version, path="/usr/bin:/usr/local/bin"), [str(ROOT), *packages]),
    ):
        env = {"PYTHONPATH": os.pathsep.join(path), "PATH": "/usr/bin:/bin"}
        try:
            probe = subprocess.run(
                [python, "-c", "import worker.cli"], user="nobody", cwd="/", env=env, capture_output=True, timeout=60
            )
        except (OSError, TypeError):  # nobody may not run it; no such interpreter
            continue
        if probe.returncode == 0:
            return [python], env
    return None


NOBODY = unprivileged_python()


@pytest.mark.skipif(NOBODY is None, reason="needs root and a user 'nobody' that can run the project's Python")
def test_an_unreadable_folder_as_a_real_user():
    """The real case: `worker backfill` as nobody over a folder nobody may not read."""
    top = Path(tempfile.mkdtemp(prefix="worker-nobody-"))  # not under pytest's folder: root's alone
    try:
        inbox, work = top / "inbox", top / "work"
        (inbox / "locked").mkdir(parents=True)
        work.mkdir()
        shutil.copy(ARTICLE, inbox / "readable.txt")
        shutil.copy(ARTICLE, inbox / "locked" / "secret.txt")
        for path, mode in (
            (top, 0o755),
            (inbox, 0o755),
            (work, 0o777),
            (inbox / "readable.txt", 0o644),
            (inbox / "locked", 0o700),
        ):
            os.chmod(path, mode)
        python, env = NOBODY
        r = subprocess.run(
            [
                *python,
                "-m",
                "worker",
                "--log-format",
                "json",
                "--archive",
                str(work / "a.db"),
                "backfill",
                "--workers",
                "1",
                str(inbox),
            ],
            user="nobody",
            cwd=str(work),
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, "HOME": str(work)},
        )
    finally:
        shutil.rmtree(top)
    assert r.returncode == 0, r.stderr
    assert "1 new, 0 revised, 0 duplicates, 1 skipped" in r.stdout
    assert "cannot read folder: Permission denied" in r.stderr and str(inbox / "locked") in r.stderr
