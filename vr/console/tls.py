"""The console's certificate on a network address: HTTPS, so the token never crosses the network in the clear.

Each install makes, once, a small certificate authority of its own and a server certificate it
signs, and keeps them in ``certificate_dir()`` ($XDG_CONFIG_HOME/vr-exposure/console, by default
~/.config/vr-exposure/console; the folder 0700, the files 0600):

- ``ca.pem``: the authority's certificate, the one file a tablet is given to trust (see
  docs/console.md, *On the network*). Its name constraints allow it to vouch only for this
  computer's names and addresses and for private and link-local addresses, so a tablet that
  trusts it trusts it for nothing else on the internet, even if its key were stolen.
- ``ca-key.pem``: the authority's key; it never leaves this computer.
- ``cert.pem`` (with ``ca.pem`` after it) and ``key.pem``: what the console serves. The server
  certificate names this computer's addresses and names (subjectAltName) and lasts two years
  (Apple's devices refuse more than 825 days).

Why an authority and not one self-signed certificate: a tablet or phone installs only an
authority as trusted, and Firefox refuses an authority's certificate used as a server's. And
when the computer's address changes (a new DHCP lease), a new server certificate is signed by
the same authority: a tablet that trusts ``ca.pem`` needs nothing new.

The files are reused on later runs. A server certificate that is unreadable, expires within
``RENEW_DAYS``, or misses one of the addresses is made again, and an authority that is
unreadable or cannot vouch for an address is made again with a new server certificate; each
time the caller gets a note saying what happened and what to do. Keys: ECDSA P-256.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import os
import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vr.record.files import replace_private
from vr.record.privacy import DIR_MODE

APP_DIR = "vr-exposure"
CA_DAYS = 3650
SERVER_DAYS = 730
RENEW_DAYS = 30
# Where the authority may vouch besides this computer's own names and addresses: private,
# shared (carrier-grade NAT, some VPNs) and link-local ranges, where a console's address may move.
PRIVATE_NETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
                "fc00::/7", "fe80::/10")
FILES = ("ca.pem", "ca-key.pem", "cert.pem", "key.pem")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def certificate_dir() -> Path:
    """Where this install keeps its console certificate (the XDG convention for per-user settings)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / APP_DIR / "console"


def fingerprint(der: bytes) -> str:
    """A certificate's SHA-256 fingerprint as browsers show it: ``AB:CD:...`` (32 pairs)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


@dataclass(frozen=True)
class Certificate:
    """The files the console serves, the server certificate's fingerprint and end, and what changed."""

    folder: Path
    fingerprint: str
    not_after: dt.datetime
    names: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context (TLS 1.2 or newer) serving the certificate and its authority."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.folder / "cert.pem", self.folder / "key.pem")
        return context


def split_names(names: Iterable[str]) -> tuple[list[ipaddress.IPv4Address | ipaddress.IPv6Address], list[str]]:
    """The addresses and the DNS names among ``names`` (lower case; anything else, or a wildcard, left out)."""
    ips, dns = [], []
    for name in names:
        name = name.strip().lower().rstrip(".")
        try:
            ip = ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            if name and all(_LABEL.fullmatch(part) for part in name.split(".")) and name not in dns:
                dns.append(name)
            continue
        if not ip.is_unspecified and ip not in ips:
            ips.append(ip)
    return ips, dns


def ensure_certificate(names: Iterable[str], folder: Path | None = None,
                       now: dt.datetime | None = None) -> Certificate:
    """The install's certificate for ``names`` (this computer's addresses and names), made or renewed
    as needed (see the module's docstring). Raises ``RuntimeError`` saying what to do when the folder
    cannot be written."""
    folder = Path(folder) if folder is not None else certificate_dir()
    now = now or dt.datetime.now(dt.timezone.utc)
    ips, dns = split_names(names)
    if not ips and not dns:
        raise RuntimeError("the console has no address or name of this computer to make its certificate for")
    try:
        _private_dir(folder)
        with _locked(folder):
            return _ensure(folder, ips, dns, now)
    except OSError as e:
        raise RuntimeError(f"the console cannot keep its certificate in {folder} ({e.strerror or e}); "
                           "make that folder writable, or set XDG_CONFIG_HOME to a folder that is") from None


def _ensure(folder: Path, ips: list, dns: list[str], now: dt.datetime) -> Certificate:
    from cryptography import x509

    notes: list[str] = []
    ca, ca_key, why = _load_pair(folder / "ca.pem", folder / "ca-key.pem", now)
    if ca is not None and not _vouches(ca, ips, dns):
        ca, why = None, "it cannot vouch for this computer's address now (" + ", ".join(map(str, ips + dns)) + ")"
    first = not any((folder / name).exists() for name in FILES)
    if ca is None:
        ca, ca_key = _make_ca(folder, ips, dns, now)
        if not first:
            notes.append(f"the console's certificate authority in {folder} was made again: {why}. A tablet that "
                         f"trusted the old ca.pem warns again until it is given the new one")
    server, _, why = _load_pair(folder / "cert.pem", folder / "key.pem", now)
    if server is not None and server.issuer != ca.subject:
        server, why = None, "it was not signed by the authority in ca.pem"
    if server is not None:
        have = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        missing = [str(n) for n in ips if n not in have.get_values_for_type(x509.IPAddress)]
        missing += [n for n in dns if n not in have.get_values_for_type(x509.DNSName)]
        if missing:
            server, why = None, f"this computer's addresses changed ({', '.join(missing)} was not in it)"
    if server is None:
        server = _make_server(folder, ca, ca_key, ips, dns, now)
        if first:
            notes.append(f"made a certificate for this computer's console in {folder}; a browser warns until "
                         "ca.pem is trusted, or the fingerprint below is checked (docs/console.md, On the network)")
        elif not notes:
            notes.append(f"the console's certificate was made again: {why}. Its fingerprint is new; a tablet "
                         "that trusts ca.pem needs nothing new")
    from cryptography.hazmat.primitives.serialization import Encoding

    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return Certificate(folder, fingerprint(server.public_bytes(Encoding.DER)), server.not_valid_after_utc,
                       tuple(str(v) for v in sans.get_values_for_type(x509.IPAddress))
                       + tuple(sans.get_values_for_type(x509.DNSName)), tuple(notes))


def _load_pair(cert_path: Path, key_path: Path, now: dt.datetime):
    """(certificate, key, None) when both read, match, are private and last past ``RENEW_DAYS``;
    else (None, None, why)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if not cert_path.exists() and not key_path.exists():
        return None, None, "it was missing"
    try:
        if key_path.stat().st_mode & 0o077:
            return None, None, f"{key_path.name} could be read by other users"
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName if cert_path.name == "cert.pem"
                                                else x509.BasicConstraints)
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e).split(". See ")[0][:100]
        return None, None, f"it could not be read ({reason})"
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(serialization.Encoding.DER, pub) != \
            key.public_key().public_bytes(serialization.Encoding.DER, pub):
        return None, None, f"{key_path.name} is not the key of {cert_path.name}"
    if cert.not_valid_after_utc - now < dt.timedelta(days=RENEW_DAYS):
        return None, None, f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}" + (
            " (it has expired)" if cert.not_valid_after_utc <= now else "")
    return cert, key, None


def _vouches(ca, ips: list, dns: list[str]) -> bool:
    """Whether the authority's name constraints allow every one of ``ips`` and ``dns``."""
    from cryptography import x509

    try:
        allowed = ca.extensions.get_extension_for_class(x509.NameConstraints).value.permitted_subtrees or []
    except x509.ExtensionNotFound:
        return False
    nets = [n.value for n in allowed if isinstance(n, x509.IPAddress)]
    names = [n.value for n in allowed if isinstance(n, x509.DNSName)]
    return (all(any(ip.version == net.version and ip in net for net in nets) for ip in ips)
            and all(any(d == n or d.endswith("." + n) for n in names) for d in dns))


def _make_ca(folder: Path, ips: list, dns: list[str], now: dt.datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vr-exposure"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"VR console authority ({(dns or ips)[0]})")])
    nets = {ipaddress.ip_network(n) for n in PRIVATE_NETS} | {ipaddress.ip_network(ip) for ip in ips}
    permitted = [x509.IPAddress(n) for n in sorted(nets, key=lambda n: (n.version, n))]
    permitted += [x509.DNSName(n) for n in sorted({*dns, "local"})]
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    _write(folder, "ca-key.pem", _key_pem(key))
    _write(folder, "ca.pem", _cert_pem(cert))
    for stale in ("cert.pem", "key.pem"):   # signed by the old authority: of no use now
        with contextlib.suppress(FileNotFoundError):
            (folder / stale).unlink()
    return cert, key


def _make_server(folder: Path, ca, ca_key, ips: list, dns: list[str], now: dt.datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    end = min(now + dt.timedelta(days=SERVER_DAYS), ca.not_valid_after_utc)
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"VR console ({(dns or ips)[0]})")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([*(x509.IPAddress(ip) for ip in ips),
                                                        *(x509.DNSName(d) for d in dns)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(folder, "key.pem", _key_pem(key))
    _write(folder, "cert.pem", _cert_pem(cert) + _cert_pem(ca))
    return cert


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM)


def _write(folder: Path, name: str, data: bytes) -> None:
    replace_private(folder / name, data)   # 0600 from the first byte, whole or not at all


def _private_dir(folder: Path) -> None:
    """``folder`` and the app's folder above it, made 0700 (and narrowed to that if they were wider)."""
    for path in (folder.parent, folder):
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(DIR_MODE)


@contextlib.contextmanager
def _locked(folder: Path):
    """One console at a time makes or checks the files (two sessions starting together would
    otherwise pair one's certificate with the other's key)."""
    try:
        import fcntl
    except ImportError:  # (not on Windows: there the last writer wins)
        yield
        return
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
