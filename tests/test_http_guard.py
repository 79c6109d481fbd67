"""The address guard of fetchers.http: the host that is checked is the host that is connected to.

URLs the parsers read differently are refused, checked names are connected to at the checked
address (DNS rebinding), TLS is still verified against the name, and a property test covers
the parser agreement on random URLs (about 300 examples; ``FUZZ_EXAMPLES=10000`` runs 10,000, as
for tests/test_fuzz.py). Only loopback addresses are ever connected to: a patched
resolver (``fake_dns``) and address check (``loopback_is_public``) let loopback servers play
public hosts.
"""

from __future__ import annotations

import ssl

import pytest
import requests
import trustme
from hypothesis import event, given
from hypothesis import strategies as st

from tests.loopback import LoopbackServer
from tests.test_fuzz import fuzz
from worker.errors import FetchError
from worker.fetchers import http_netguard
from worker.fetchers.http import Http, PrivateAddress
from worker.fetchers.http_adapter import GuardedAdapter
from worker.fetchers.http_netguard import literal_address, parse_target, pinned_url
from worker.models import HttpSettings

pytestmark = pytest.mark.timeout(60)

PUBLIC = "93.184.216.34"  # a public address no test ever connects to
PLAYS_PUBLIC = "127.0.0.2"  # the loopback address the patched check calls public


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def loopback_is_public(monkeypatch):
    """The guard's address check, with 127.0.0.2 counted as public."""
    real = http_netguard.is_public
    monkeypatch.setattr(http_netguard, "is_public", lambda address: address == PLAYS_PUBLIC or real(address))


@pytest.fixture
def public_site():
    """A server on 127.0.0.2, playing a public site."""
    try:
        server = LoopbackServer(host=PLAYS_PUBLIC).start()
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")
    yield server
    server.stop()


def client(**kw) -> Http:
    base = {"per_host_delay": 0.0, "retries": 0, "backoff_factor": 0.01, "timeout": 2.0, "respect_robots": False}
    base.update(kw)
    return Http(HttpSettings(**base))


# -- 1. URLs the parsers read differently ---------------------------------------------------------


@pytest.mark.parametrize("public", [PUBLIC, "public.example"])
def test_backslash_before_at_never_reaches_the_internal_page(loopback, loopback_connects, fake_dns, public):
    # urllib.parse reads the host after '@' (public); urllib3 connects to the one before the backslash
    fake_dns.answer("public.example", [PUBLIC])
    for path in ("/admin/secret", f"/%5C@{public}/admin/secret"):
        loopback.route(path, body=b"internal secret")
    h = client(respect_robots=True)
    with pytest.raises(FetchError) as info:
        h.get(f"http://127.0.0.1:{loopback.port}\\@{public}/admin/secret", trusted=False)
    h.close()
    assert info.value.reason.startswith("invalid url") and "backslash" in info.value.reason
    assert loopback.count() == 0 and loopback_connects == []


def test_percent_escaped_host_never_reaches_the_internal_page(loopback, loopback_connects, fake_dns):
    # urllib.parse leaves '%31%32%37.0.0.1' as a name (which the patched resolver calls public);
    # urllib3 decodes it to 127.0.0.1 and connects there
    fake_dns.answer("%31%32%37.0.0.1", [PUBLIC])
    loopback.route("/admin/secret", body=b"internal secret")
    h = client()
    with pytest.raises(FetchError) as info:
        h.get(f"http://%31%32%37.0.0.1:{loopback.port}/admin/secret", trusted=False)
    h.close()
    assert info.value.reason.startswith("invalid url") and "percent-escape" in info.value.reason
    assert loopback.count() == 0 and loopback_connects == []


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://127.0.0.1\\@public.example/", "backslash"),
        ("http://public.example\t@127.0.0.1/", "control character or space"),
        ("http://public.example\x00.127.0.0.1/", "control character or space"),
        ("http://pub lic.example/", "control character or space"),
        ("http://a@public.example@127.0.0.1/", "more than one '@'"),
        ("http://%6c%6fcalhost/", "percent-escape"),
        ("http://exa\u00admple.com/", "control character or space"),
    ],
)
def test_ambiguous_authorities_are_refused_even_when_trusted(url, why, loopback_connects):
    h = client()
    with pytest.raises(FetchError) as info:
        h.get(url)
    h.close()
    assert info.value.reason.startswith(f"invalid url {url!r}: ") and why in info.value.reason
    assert loopback_connects == []


# -- 2. DNS rebinding: the checked address is the connected address -------------------------------


def test_a_rebinding_name_is_connected_to_at_the_checked_address(
    public_site,
    fake_dns,
    loopback_is_public,
    loopback_connects,
):
    port = public_site.port
    with LoopbackServer(port=port) as internal:  # 127.0.0.1, same port: the second answer's server
        internal.route("/news", body=b"internal page")
        public_site.route("/news", body=b"public page")
        fake_dns.answer("rebind.example", [PLAYS_PUBLIC], ["127.0.0.1"])  # public first, loopback after
        h = client()
        resp = h.get(f"http://rebind.example:{port}/news", trusted=False)
        h.close()
        assert resp.content == b"public page" and resp.url == f"http://rebind.example:{port}/news"
        assert internal.count() == 0
    assert {address[0] for address in loopback_connects} == {PLAYS_PUBLIC}
    assert fake_dns.count("rebind.example") == 1  # resolved once, by the guard
    assert public_site.requests[0].header("Host") == f"rebind.example:{port}"


def test_a_rebinding_name_on_a_redirect_hop_is_pinned_too(public_site, fake_dns, loopback_is_public, loopback_connects):
    port = public_site.port
    with LoopbackServer(port=port) as internal:
        internal.route("/final", body=b"internal page")
        public_site.route("/start", status=302, headers={"Location": f"http://hop.example:{port}/final"})
        public_site.route("/final", body=b"public page")
        fake_dns.answer("start.example", [PLAYS_PUBLIC])
        fake_dns.answer("hop.example", [PLAYS_PUBLIC], ["127.0.0.1"])
        resp = client().get(f"http://start.example:{port}/start", trusted=False)
        assert resp.content == b"public page" and resp.url == f"http://hop.example:{port}/final"
        assert internal.count() == 0
    assert {address[0] for address in loopback_connects} == {PLAYS_PUBLIC}


@pytest.fixture
def test_ca(tmp_path, monkeypatch) -> trustme.CA:
    """A certificate authority the client trusts (through REQUESTS_CA_BUNDLE) for this test."""
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    return ca


def tls_server(ca: trustme.CA, name: str) -> LoopbackServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    try:
        return LoopbackServer(host=PLAYS_PUBLIC, ssl_context=context).start()
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")


def test_https_through_a_pinned_address_is_verified_against_the_name(
    test_ca,
    fake_dns,
    loopback_is_public,
    loopback_connects,
):
    server = tls_server(test_ca, "tls.example")
    port = server.port
    try:
        server.route("/a", body=b"secure page")
        fake_dns.answer("tls.example", [PLAYS_PUBLIC])
        resp = client().get(f"https://tls.example:{port}/a", trusted=False)
    finally:
        server.stop()
    assert resp.content == b"secure page" and resp.url == f"https://tls.example:{port}/a"
    assert server.requests[0].header("Host") == f"tls.example:{port}"
    assert loopback_connects == [(PLAYS_PUBLIC, port)]
    assert fake_dns.count("tls.example") == 1


def test_https_through_a_pinned_address_fails_for_a_certificate_of_another_name(
    test_ca,
    fake_dns,
    loopback_is_public,
    loopback_connects,
):
    server = tls_server(test_ca, "other.example")
    port = server.port
    try:
        server.route("/a", body=b"wrong site")
        fake_dns.answer("tls.example", [PLAYS_PUBLIC])
        with pytest.raises(FetchError) as info:
            client().get(f"https://tls.example:{port}/a", trusted=False)
    finally:
        server.stop()
    assert info.value.reason.startswith("tls error") and "tls.example" in info.value.reason
    assert server.count() == 0
    assert loopback_connects == [(PLAYS_PUBLIC, port)]


def test_trusted_urls_and_allow_private_hosts_are_not_pinned(test_ca, fake_dns, loopback, loopback_connects):
    server = tls_server(test_ca, "tls.example")
    port = server.port
    try:
        server.route("/a", body=b"configured")
        fake_dns.answer("tls.example", [PLAYS_PUBLIC])
        assert client().get(f"https://tls.example:{port}/a").content == b"configured"  # trusted
    finally:
        server.stop()
    assert fake_dns.count("tls.example") == 1  # the client's own lookup; the guard never ran
    assert server.requests[0].header("Host") == f"tls.example:{port}"
    loopback.route("/lan", body=b"lan page")
    fake_dns.answer("intranet.example", ["127.0.0.1"])
    h = client(allow_private_hosts=True)
    assert h.get(f"http://intranet.example:{loopback.port}/lan", trusted=False).content == b"lan page"
    with pytest.raises(PrivateAddress):
        client().get(f"http://intranet.example:{loopback.port}/lan", trusted=False)


# -- 6. property: the checked host is the host urllib3 connects to ----------------------------------

_ODD = "\\@%:/?#[]. \t\r\n\x00\x7f\u3000\u00ad\u200bé"
_NAMED_HOSTS = st.sampled_from(
    [
        "news.example",
        "NEWS.Example.",
        "127.0.0.1",
        PUBLIC,
        "[::1]",
        "[2606:4700:4700::1111]",
        "[::ffff:127.0.0.1]",
        "[fe80::1%25eth0]",
        "%31%32%37.0.0.1",
        "ünïcode.example",
        "例え.テスト",
        "ｅｘａｍｐｌｅ.com",
        "xn--nxasmq6b.example",
        "0x7f.1",
        "2130706433",
        "localhost",
        "a..b",
        "",
        "*.example",
        "[::1",
        "::1",
        "straße.de",
        "a_b.example",
    ]
)
_HOSTS = st.one_of(_NAMED_HOSTS, _NAMED_HOSTS, st.text(alphabet="abcxyz019.-" + _ODD, max_size=16))
_USERINFO = st.one_of(
    st.just(""),
    st.just(""),
    st.sampled_from(["user:pw@", "a%40b@", "x.example:80@", ":@"]),
    st.text(alphabet="ab:%40@\\ \t", max_size=8).map(lambda s: s + "@"),
)
_PORTS = st.one_of(
    st.just(""),
    st.integers(1, 65_535).map(lambda n: f":{n}"),
    st.integers(0, 99_999).map(lambda n: f":{n}"),
    st.sampled_from([":", ":080", ":http", ":8080\\", ":%38%30"]),
)
_PATHS = st.one_of(
    st.sampled_from(["", "/", "/a/b", "/a?b=1#c", "/%5C@x", "/../etc", "?q", "#f"]),
    st.text(alphabet="/ab.%2F5C" + _ODD, max_size=12),
)
_SCHEMES = st.sampled_from(["http"] * 3 + ["https"] * 3 + ["HTTP", "hTTps", "ftp", "file", "", " http", "\x00http"])
_SEPARATORS = st.sampled_from(["://"] * 6 + [":/", ":\\\\", "://\\", ":", ":///"])
_BUILT = st.builds(lambda *parts: "".join(parts), _SCHEMES, _SEPARATORS, _USERINFO, _HOSTS, _PORTS, _PATHS)
_PLAIN = st.builds(  # mostly well-formed: the odd characters are in the userinfo and the path only
    lambda *parts: "".join(parts),
    st.sampled_from(["http://", "https://", "HTTPS://"]),
    _USERINFO,
    st.one_of(_NAMED_HOSTS, st.text(alphabet="abcxyzé例019.-_", min_size=1, max_size=12)),
    st.one_of(st.just(""), st.integers(1, 65_535).map(lambda n: f":{n}")),
    _PATHS,
)
_SPLICED = st.builds(
    lambda url, at, extra: url[:at] + extra + url[at:],
    _BUILT,
    st.integers(0, 40),
    st.text(alphabet=_ODD, min_size=1, max_size=2),
)
URLS = st.one_of(_PLAIN, _PLAIN, _PLAIN, _PLAIN, _BUILT, _SPLICED, st.text(max_size=40))

_SESSION = requests.Session()
_ADAPTER = GuardedAdapter()


def _pool(url: str, headers: dict[str, str] | None = None):
    """The urllib3 connection pool requests picks for ``url``: its host is the host connected to."""
    prepared = _SESSION.prepare_request(requests.Request("GET", url, headers=headers))
    return _ADAPTER.get_connection_with_tls_context(prepared, verify=True)


@pytest.mark.timeout(900)  # FUZZ_EXAMPLES=10000 runs about a minute
@fuzz
@given(url=URLS)
def test_the_checked_host_is_the_host_connected_to(url):
    try:
        target = parse_target(url)
    except ValueError:
        event("refused")
        return  # nothing is connected to
    event("accepted: a name" if literal_address(target.host) is None else "accepted: an IP literal")
    pool = _pool(url)  # requests given the URL itself
    assert (pool.host.rstrip("."), pool.port) == (target.host, target.port)
    assert _pool(target.url).host == pool.host  # the prepared URL reads the same again
    if url.isascii():
        assert (requests.compat.urlsplit(url.lstrip()).hostname or "").rstrip(".") == target.host
    if literal_address(target.host) is None:  # a name: pinned to the address the guard checked
        for address in (PUBLIC, "2606:4700:4700::1111"):
            pinned = _pool(pinned_url(target, address), {"Host": target.host_header})
            assert (pinned.host, pinned.port) == (address, target.port)
            if target.scheme == "https":
                assert pinned.conn_kw.get("server_hostname") == target.host
