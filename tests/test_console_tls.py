"""The console off the local machine: HTTPS with the install's certificate on a network address
(a real ``vr run``, real TLS clients: Python's ssl and Chromium), plain HTTP on that port, the
certificate's files, and wrong tokens locked out per client address."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import multiprocessing as mp
import os
import shutil
import socket
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from console_run import ConsoleRun

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INFO = {"kind": "exposure", "pseudonym": "P-0007", "profile": "tls_test", "steps": [], "phases": [],
        "commands": ["pause"]}


def lan_address() -> str:
    """This computer's own non-loopback address (what a console on 0.0.0.0 prints); skips without one."""
    from vr.console.guard import reachable

    shown = reachable("0.0.0.0")
    try:
        usable = not ipaddress.ip_address(shown).is_loopback
    except ValueError:
        usable = False
    if not usable:
        message = f"this machine has no network address besides loopback (got {shown!r}): nothing to serve HTTPS on"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return shown


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    lan_address()
    r = ConsoleRun(tmp_path_factory.mktemp("tls") / "rec", "--no-dialogue", host="0.0.0.0")
    yield r
    r.stop()


def pinned_context() -> ssl.SSLContext:
    """A client that takes any certificate: the test compares its fingerprint itself (pinning)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def handshake(host: str, port: int, context: ssl.SSLContext, server_hostname: str | None = None) -> tuple[str, bytes]:
    """A TLS handshake: (the protocol version, the server certificate's DER bytes)."""
    with socket.create_connection((host, port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=server_hostname or host) as tls:
        return tls.version(), tls.getpeercert(binary_form=True)


def request(host: str, port: int, method: str, path: str, headers: dict, context: ssl.SSLContext | None,
            server_hostname: str | None = None) -> tuple[int, dict, bytes]:
    """One request exactly as given, over TLS (``context``) or plain HTTP (None), from this end's
    address for ``host`` (127.0.0.1 is another client address than the LAN one)."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        if context is not None:
            raw = socket.create_connection((host, port), timeout=10)
            conn.sock = context.wrap_socket(raw, server_hostname=server_hostname or host)
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def wait_until(test, timeout_s: float = 20.0, every_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = test()
        if got:
            return got
        time.sleep(every_s)
    raise AssertionError("the condition was never met")


def alerts(run: ConsoleRun) -> list[str]:
    return [e["message"] for e in run.events() if e["kind"] == "alert" and e.get("reason") == "console"]


# -- a real session on 0.0.0.0 -----------------------------------------------------------------------------

def test_a_network_console_serves_https_with_the_printed_fingerprint(run):
    from vr.console.tls import fingerprint

    lan, port = lan_address(), urlsplit(run.url).port
    assert run.url.startswith(f"https://{lan}:{port}/?token=")
    line = next(ln for ln in run.lines if "console: https://" in ln)
    assert f"(certificate SHA-256 {run.fingerprint})" in line and len(run.fingerprint) == 95
    assert "made a certificate for this computer's console" in "".join(run.lines)
    # Pinned: whatever a client trusts, the certificate it gets is the one whose fingerprint was printed.
    version, der = handshake(lan, port, pinned_context())
    assert fingerprint(der) == run.fingerprint and version in ("TLSv1.2", "TLSv1.3")
    # Trusted: the install's ca.pem as the only authority, the hostname checked against the address.
    strict = ssl.create_default_context(cafile=str(run.config_home / "vr-exposure/console/ca.pem"))
    strict.verify_flags |= ssl.VERIFY_X509_STRICT
    assert fingerprint(handshake(lan, port, strict)[1]) == run.fingerprint
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(lan, port, ssl.create_default_context())           # the system's authorities do not know it
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(lan, port, strict, server_hostname="evil.example")  # nor does it vouch for another name
    status, headers, _ = request(lan, port, "GET", f"/?token={run.token}", {"Host": f"{lan}:{port}"}, strict)
    assert status == 303 and "Secure" in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    assert run.state()["mode"] == "running"                           # (ConsoleRun trusts ca.pem too)


def test_the_certificate_files_are_private(run):
    folder = run.config_home / "vr-exposure" / "console"
    assert (folder.parent.stat().st_mode & 0o777) == 0o700 and (folder.stat().st_mode & 0o777) == 0o700
    for name in ("ca.pem", "ca-key.pem", "cert.pem", "key.pem"):
        assert ((folder / name).stat().st_mode & 0o777) == 0o600, name
    assert b"PRIVATE KEY" in (folder / "key.pem").read_bytes()
    assert b"PRIVATE KEY" not in (folder / "cert.pem").read_bytes() + (folder / "ca.pem").read_bytes()


def test_plain_http_on_the_port_never_gets_the_page(run):
    lan, port = lan_address(), urlsplit(run.url).port
    status, headers, body = request(lan, port, "GET", "/api/state", {"Host": f"{lan}:{port}"}, None)
    assert status == 307 and headers["location"] == f"https://{lan}:{port}/api/state"
    assert b"HTTPS only" in body and "set-cookie" not in headers and b'"mode"' not in body
    # The token sent in the clear: refused, and the session is told (the token itself is never repeated).
    status, headers, body = request(lan, port, "GET", f"/?token={run.token}", {"Host": f"{lan}:{port}"}, None)
    assert status == 400 and b"unencrypted" in body and run.token.encode() not in body
    assert "set-cookie" not in headers and "location" not in headers and b"<html" not in body.lower()
    status, _, body = request(lan, port, "GET", "/api/state", {"Host": f"{lan}:{port}",
                                                               "Authorization": f"Bearer {run.token}"}, None)
    assert status == 400 and b'"mode"' not in body
    told = wait_until(lambda: [a for a in alerts(run) if "plain HTTP" in a])
    assert "new token" in told[0] and run.token not in told[0]
    assert run.state()["mode"] == "running"


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="needs chromium (scripts/setup.sh --test installs it)")
def test_chromium_opens_the_console_over_https(run):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "chromium is missing: scripts/setup.sh --test installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                    "--disable-background-networking"])
        try:
            # The certificate is this install's own (a tablet would be given ca.pem): Chromium is told to
            # go on past its warning, as a clinician who checked the fingerprint would.
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            first = page.goto(run.url)
            page.wait_for_selector('body[data-connected="1"]', timeout=20_000)
            page.wait_for_selector('body[data-mode="running"]', timeout=10_000)
            assert page.url.startswith("https://") and "token" not in page.url
            assert page.text_content("#mode") == "running"
            details = first.security_details()                      # (of the page, after the token's redirect)
            assert details["protocol"] in ("TLS 1.2", "TLS 1.3") and "VR console authority" in details["issuer"]
            cookie = next(c for c in context.cookies() if c["name"] == "vr_console")
            assert cookie["secure"] and cookie["httpOnly"]
            assert not errors, errors
        finally:
            browser.close()


def test_wrong_tokens_lock_out_that_address_and_no_other(run):
    """Last of the run's tests: it locks 127.0.0.1 out. Five different wrong tokens from one address,
    then even the right one is answered 429; the LAN address goes on as before."""
    lan, port = lan_address(), urlsplit(run.url).port
    trusted = ssl.create_default_context(cafile=str(run.config_home / "vr-exposure/console/ca.pem"))
    host = {"Host": f"{lan}:{port}"}

    def from_loopback(token: str | None) -> tuple[int, dict, bytes]:
        bearer = {"Authorization": f"Bearer {token}"} if token else {}
        return request("127.0.0.1", port, "GET", "/api/state", {**host, **bearer}, trusted, server_hostname=lan)

    # Not guesses: no token at all, or the same wrong one again (an old page's cookie reconnecting).
    for _ in range(8):
        assert from_loopback(None)[0] == 401
        assert from_loopback("an-old-sessions-token")[0] == 401
    assert from_loopback(run.token)[0] == 200
    for i in range(4):                                                # with that one, five different ones
        assert from_loopback(f"guess-{i}")[0] == 401
    status, headers, body = from_loopback(run.token)
    assert status == 429 and 1 <= int(headers["retry-after"]) <= 60 and "wrong tokens" in json.loads(body)["error"]
    assert from_loopback("guess-again")[0] == 429
    assert run.request("GET", "api/state")[0] == 200                   # from the LAN address: as before
    assert run.command(command="note", text="still steering", id="tls-note")["status"] == "applied"
    told = wait_until(lambda: [a for a in alerts(run) if "wrong tokens" in a])
    assert "127.0.0.1" in told[0] and "60 s" in told[0]
    assert not any(t in told[0] for t in (run.token, "guess-", "an-old-sessions-token"))


# -- the certificate across starts of the console's own process ----------------------------------------------

class Console:
    """The console's process alone (``vr.console.server.serve``) on 0.0.0.0, as the hub starts it."""

    def __init__(self) -> None:
        from vr.console.server import serve

        context = mp.get_context("spawn")
        self.conn, child = context.Pipe(duplex=True)
        self.proc = context.Process(target=serve, args=(child, INFO, "0.0.0.0", 0, None), daemon=True)
        self.proc.start()
        child.close()
        assert self.conn.poll(60), "the console did not start"
        kind, detail = self.conn.recv()
        assert kind == "ready", detail
        self.url, self.fingerprint, self.notes = detail["url"], detail["fingerprint"], detail["notes"]
        self.port = detail["port"]

    def close(self) -> None:
        self.conn.send([("close", None)])
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


def served(config: Path, monkeypatch) -> Console:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))   # (the spawned process takes the environment)
    console = Console()
    try:
        from vr.console.tls import fingerprint

        ca = ssl.create_default_context(cafile=str(config / "vr-exposure/console/ca.pem"))
        assert fingerprint(handshake(lan_address(), console.port, ca)[1]) == console.fingerprint
    finally:
        console.close()
    return console


def test_the_certificate_is_kept_across_starts_and_made_again_when_broken(tmp_path, monkeypatch):
    lan_address()
    folder = tmp_path / "vr-exposure" / "console"
    first = served(tmp_path, monkeypatch)
    assert first.url.startswith("https://") and "made a certificate" in first.notes[0]
    ca = (folder / "ca.pem").read_bytes()
    again = served(tmp_path, monkeypatch)
    assert again.fingerprint == first.fingerprint and again.notes == []
    # A broken key: a new server certificate from the same authority (a tablet that trusts ca.pem is fine).
    (folder / "key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n")
    mended = served(tmp_path, monkeypatch)
    assert mended.fingerprint != first.fingerprint and (folder / "ca.pem").read_bytes() == ca
    assert "could not be read" in mended.notes[0] and "needs nothing new" in mended.notes[0]
    # A broken authority: a new one, and the clinician is told that tablets need the new ca.pem.
    (folder / "ca.pem").write_bytes(b"garbage")
    remade = served(tmp_path, monkeypatch)
    assert (folder / "ca.pem").read_bytes() != ca and remade.fingerprint != mended.fingerprint
    assert "authority" in remade.notes[0] and "could not be read" in remade.notes[0] and "new one" in remade.notes[0]
    assert ((folder / "key.pem").stat().st_mode & 0o777) == 0o600


def test_an_expiring_a_moved_or_an_exposed_certificate_is_made_again(tmp_path):
    from vr.console.tls import RENEW_DAYS, SERVER_DAYS, ensure_certificate

    names = ["192.168.1.20", "clinic-pc", "clinic-pc.local"]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    made = ensure_certificate(names, tmp_path, now)
    assert set(made.names) == set(names) and made.not_after == now + dt.timedelta(days=SERVER_DAYS)
    ca = (tmp_path / "ca.pem").read_bytes()
    assert ensure_certificate(names, tmp_path, now + dt.timedelta(days=300)).fingerprint == made.fingerprint
    late = ensure_certificate(names, tmp_path, made.not_after - dt.timedelta(days=RENEW_DAYS - 1))
    assert late.fingerprint != made.fingerprint and "expires on" in late.notes[0]
    assert (tmp_path / "ca.pem").read_bytes() == ca
    # A new DHCP lease: a new certificate for the new address, from the same authority.
    moved = ensure_certificate(["192.168.1.77", "clinic-pc", "clinic-pc.local"], tmp_path, now + dt.timedelta(days=400))
    assert "192.168.1.77" in moved.names and "192.168.1.77" in moved.notes[0] and (tmp_path / "ca.pem").read_bytes() == ca
    # An address the authority may not vouch for (its name constraints): a new authority.
    public = ensure_certificate(["203.0.113.9", "clinic-pc"], tmp_path, now + dt.timedelta(days=400))
    assert (tmp_path / "ca.pem").read_bytes() != ca and "authority" in public.notes[0]
    # A key others could read is taken as seen: made again.
    (tmp_path / "key.pem").chmod(0o644)
    exposed = ensure_certificate(["203.0.113.9", "clinic-pc"], tmp_path, now + dt.timedelta(days=400))
    assert exposed.fingerprint != public.fingerprint and "other users" in exposed.notes[0]
    assert ((tmp_path / "key.pem").stat().st_mode & 0o777) == 0o600


def test_the_lockout_counts_different_wrong_tokens_per_address_and_escalates():
    from vr.console.lockout import Lockout, client_key

    lock = Lockout(max_wrong=3, window_s=60.0, first_lock_s=10.0, longest_lock_s=25.0, forget_s=600.0)
    assert [lock.wrong("a", "same", float(t)) for t in range(10)] == [0.0] * 10   # one guess, repeated
    assert lock.wrong("a", "x", 10.0) == 0.0 and lock.wrong("a", "y", 11.0) == 10.0
    assert lock.retry_after("a", 11.0) == 10 and lock.retry_after("a", 20.5) == 1 and lock.retry_after("a", 21.0) == 0
    assert lock.retry_after("b", 11.0) == 0                                          # another client
    assert [lock.wrong("a", t, 22.0) for t in ("p", "q", "r")] == [0.0, 0.0, 20.0]   # twice as long
    assert [lock.wrong("a", t, 50.0) for t in ("s", "t", "u")][-1] == 25.0           # up to the longest
    # Spread out: guesses older than the window are forgotten.
    assert [lock.wrong("c", f"g{i}", 100.0 * i) for i in range(6)] == [0.0] * 6
    # Quiet for long enough: the next lockout is the first again.
    assert [lock.wrong("a", t, 2000.0) for t in ("v", "w", "x")][-1] == 10.0
    assert client_key("::ffff:10.0.0.5") == "10.0.0.5" == client_key("10.0.0.5")
    assert client_key("2001:db8:1:2::7") == client_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
