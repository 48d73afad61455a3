"""SSRF guard for outbound requests to user-supplied URLs (webhooks, callbacks).

`check_url()` accepts only http(s) URLs (https alone unless `require_https=False`), resolves the
host (every A/AAAA record) and refuses the request when any address is not public: loopback,
private (RFC 1918, ULA), link-local (including the 169.254.169.254 metadata service), multicast,
reserved, unspecified, shared/CGNAT (100.64.0.0/10), documentation and benchmark ranges, and the
same ranges embedded in IPv6 (IPv4-mapped `::ffff:a.b.c.d`, 6to4 `2002::/16`, NAT64
`64:ff9b::/96`). An `AllowList` (hosts and CIDRs, e.g. `127.0.0.1/32,::1/128,receiver.lan`, or
`*` for everything) lets configured private targets through, so tests and on-premise installs
can deliver to local receivers.

DNS rebinding: a name checked at one moment may resolve to 127.0.0.1 a moment later. `request()`
therefore never resolves the name twice: it connects to the exact addresses `check_url()`
approved (the connection is pinned to them), while the Host header, TLS SNI and certificate
verification still use the URL's host name. It sends no proxy settings from the environment
(a proxy would resolve the name again), follows no redirects, and enforces a wall-clock deadline
on the whole exchange.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # CGNAT; not "private" to Python
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_EVERYTHING = frozenset({"*", "all", "true", "yes", "1"})
_NOTHING = frozenset({"", "none", "false", "no", "0"})


class RefusedURLError(ValueError):
    """The URL may not be requested: bad shape, forbidden scheme, or a non-public address."""


class UnresolvableHostError(RefusedURLError):
    """The host name did not resolve (a transient failure for a retrying caller)."""


@dataclass(frozen=True)
class AllowList:
    """Non-public targets allowed by configuration: host names and networks, or everything."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    everything: bool = False

    @classmethod
    def parse(cls, value: bool | str | Iterable[str] | AllowList | None) -> AllowList:
        """Build from `True`/`False`, a comma/space separated string, or an iterable of entries.

        Entries are CIDRs (`10.0.0.0/8`), single addresses (`::1`) or host names
        (`receiver.lan`); `*` allows every target.
        """
        if isinstance(value, AllowList):
            return value
        if value is None or value is False:
            return cls()
        if value is True:
            return cls(everything=True)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _NOTHING:
                return cls()
            items: Iterable[str] = text.replace(",", " ").split()
        else:
            items = value
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        everything = False
        for raw in items:
            entry = str(raw).strip().lower()
            if not entry:
                continue
            if entry in _EVERYTHING:
                everything = True
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks), everything)

    def allows_host(self, host: str) -> bool:
        return self.everything or host.lower().rstrip(".") in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        if self.everything:
            return True
        candidates = {ip, _unmap(ip)}
        return any(
            candidate.version == net.version and candidate in net
            for candidate in candidates
            for net in self.networks
        )

    def to_list(self) -> list[str]:
        """The entries as strings (`["*"]` for everything); `parse()` reads it back."""
        if self.everything:
            return ["*"]
        return sorted(self.hosts) + [str(n) for n in self.networks]


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (the approved addresses) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...] = field(default=())


def _unmap(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped IPv6 address, else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress | str) -> bool:
    """Whether an address is globally routable unicast (what a webhook may reach by default)."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return False
        inner = _embedded_ipv4(addr)
        if inner is not None and not is_public(inner):
            return False
        if inner is not None and (addr.ipv4_mapped is not None or addr in _NAT64):
            return True  # an IPv4 address in IPv6 clothing: judged as that address
    elif addr in _SHARED:
        return False
    return not (
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
    )


def check_ip(ip: IPAddress | str, allow: AllowList | None = None) -> None:
    """Raise `RefusedURLError` unless the address is public or allowed by `allow`."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if is_public(addr) or (allow is not None and allow.allows_ip(addr)):
        return
    raise RefusedURLError(f"address {addr} is not public and not allowed")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (A and AAAA), in resolver order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHostError(f"cannot resolve {host}: {exc}") from exc
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]).split("%", 1)[0], None)
    return list(seen)


def check_url(
    url: str,
    allow_private: bool | str | Iterable[str] | AllowList | None = False,
    *,
    require_https: bool = True,
    resolve: bool = True,
    resolver: Resolver | None = None,
) -> Target:
    """Check `url` and return its `Target`; raise `RefusedURLError` when it may not be used.

    `allow_private` admits non-public targets: `True` (all), or hosts/CIDRs (see `AllowList`).
    With `resolve=False` only the shape is checked (and the address of an IP-literal host).
    """
    allow = AllowList.parse(allow_private)
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise RefusedURLError(f"URL must be 1..{MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise RefusedURLError("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedURLError(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    allowed_schemes = ("https",) if require_https else ("http", "https")
    if scheme not in allowed_schemes:
        raise RefusedURLError(
            f"scheme must be {' or '.join(allowed_schemes)}, not {scheme or 'none'}"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise RefusedURLError("URL has no host")
    if port == 0:
        raise RefusedURLError("port 0 is not allowed")
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_ip(literal, allow)
        addresses: tuple[str, ...] = (str(literal),)
    elif not resolve:
        addresses = ()
    else:
        try:
            host.encode("idna")
        except UnicodeError as exc:
            raise RefusedURLError(f"invalid host name {host!r}") from exc
        found = (resolver or system_resolver)(host, port)
        if not found:
            raise UnresolvableHostError(f"{host} has no addresses")
        if not allow.allows_host(host):
            for address in found:
                try:
                    check_ip(address, allow)
                except RefusedURLError as exc:
                    raise RefusedURLError(f"{host} resolves to {address}: {exc}") from None
        addresses = tuple(found)
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, addresses=addresses)


@dataclass(frozen=True)
class Reply:
    """What came back: status, headers, the first `max_body` bytes, and the time taken."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: int
    address: str


def _connect_any(addresses: tuple[str, ...], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first reachable address of the approved ones."""
    last: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last or OSError("no address to connect to")


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to `addresses` (never resolving the host again); remembers the socket so a
    watchdog can cut it even after http.client hands it over to the response."""

    addresses: tuple[str, ...] = ()
    guard_sock: socket.socket | None = None
    peer: str = ""

    def connect(self) -> None:
        self.sock = self.guard_sock = _connect_any(self.addresses, self.port, self.timeout)
        self.peer = str(self.sock.getpeername()[0])


class _PinnedHTTPS(http.client.HTTPSConnection):
    addresses: tuple[str, ...] = ()
    guard_sock: socket.socket | None = None
    peer: str = ""

    def connect(self) -> None:
        raw = _connect_any(self.addresses, self.port, self.timeout)
        self.peer = str(raw.getpeername()[0])
        # SNI and certificate checks use the URL's host, not the pinned address.
        # `_context` is set by HTTPSConnection.__init__ (private, so not in typeshed).
        context = self._context  # type: ignore[attr-defined]
        self.sock = self.guard_sock = context.wrap_socket(raw, server_hostname=self.host)


def _tls_context() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi ships with requests
        return ssl.create_default_context()


def _open(
    target: Target, timeout: float, tls_context: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    # The bare host (an IPv6 literal without brackets): given a port, http.client keeps the
    # host as passed and brackets an IPv6 literal itself in the Host header, so a bracketed
    # one came out as `[[::1]]:port`. TLS SNI/verification also want the bare address.
    if target.scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPS(
            target.host, target.port, timeout=timeout, context=tls_context or _tls_context()
        )
    else:
        conn = _PinnedHTTP(target.host, target.port, timeout=timeout)
    conn.addresses = target.addresses  # type: ignore[attr-defined]
    return conn


def request(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    allow_private: bool | str | Iterable[str] | AllowList | None = False,
    require_https: bool = True,
    timeout: float = 10.0,
    max_body: int = 1024,
    resolver: Resolver | None = None,
    tls_context: ssl.SSLContext | None = None,
) -> Reply:
    """Check `url`, then send one request to the approved addresses only.

    Redirects are returned as they are (never followed). The whole exchange - connect, send,
    response headers, and reading up to `max_body` bytes - must finish within `timeout`
    seconds, else `TimeoutError`. Raises `RefusedURLError` for a refused target and `OSError`
    (or `http.client.HTTPException`; `ssl.SSLError` for a certificate that does not match the
    host name) for network failures. `tls_context` replaces the default (certifi CAs, hostname
    checks on).
    """
    target = check_url(url, allow_private, require_https=require_https, resolver=resolver)
    conn = _open(target, timeout, tls_context)
    expired = threading.Event()

    def abort() -> None:
        expired.set()
        sock = getattr(conn, "guard_sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    response: http.client.HTTPResponse | None = None
    started = time.monotonic()
    watchdog = threading.Timer(timeout, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request(method, target.path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        data = response.read(max_body) if max_body > 0 else b""
        if expired.is_set():
            raise TimeoutError(f"no complete response within {timeout:g}s")
        return Reply(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=data,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            address=getattr(conn, "peer", ""),
        )
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or isinstance(exc, socket.timeout):
            raise TimeoutError(f"no complete response within {timeout:g}s") from exc
        raise
    finally:
        watchdog.cancel()
        if response is not None:
            response.close()
        conn.close()
        sock = getattr(conn, "guard_sock", None)
        if sock is not None:
            sock.close()
