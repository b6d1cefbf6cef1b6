"""The one HTTP client every source uses: its own hosts only, bounded sizes and times, polite, retried.

A source never reaches a host it was not given: every URL (a sitemap entry, a redirect, an API's next
page) is checked before a request is made, so a sitemap or a redirect cannot steer a request to an
internal address. Bodies are read as a stream and refused past a size limit (compressed or not), a
server that does not answer times out, 429 and 503 are retried after the time `Retry-After` asks
for (within a cap), and requests to one host are spaced out. httpx does the HTTP (why: docs/decisions.md).
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import KBError

USER_AGENT = "cx-kb-sync/0.1 (a knowledge base mirroring its own help centre)"
RETRY_STATUS = (429, 502, 503, 504)
MAX_REDIRECTS = 5


class FetchError(KBError):
    """A request to a source failed (refused, unreachable, too large, an error status); the message says which."""


@dataclass(frozen=True)
class Response:
    """What a GET gave: the final URL, the status, the headers (lower-case names) and the body (empty for a 304)."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (FetchError when it is not one)."""
        try:
            data = json.loads(self.body)
        except ValueError:
            raise FetchError(f"{self.url} did not answer JSON") from None
        if not isinstance(data, dict):
            raise FetchError(f"{self.url} did not answer a JSON object")
        return data

    def text(self) -> str:
        """The body as text, in the charset the response names (UTF-8 by default); invalid bytes replaced."""
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


@dataclass
class Client:
    """GET requests to `hosts` (scheme://host[:port] origins) only, spaced `1 / rate` seconds apart per host."""

    hosts: frozenset[str]
    rate: float = 4.0  # requests a second to one host
    timeout: float = 20.0  # seconds to connect, and between two reads of a response
    retries: int = 3  # attempts after the first, for 429 / 5xx / a lost connection
    max_wait: float = 60.0  # the longest Retry-After honoured; a longer one fails the request
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. Authorization
    requests: int = 0  # how many requests were sent (the sync reports it)
    _last: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        import httpx

        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
            http2=True,  # over https, where the server offers it
            follow_redirects=False,  # each hop is checked against the allowed hosts first
            headers={"User-Agent": USER_AGENT, **self.headers},
            trust_env=False,  # no proxy or .netrc from the environment: the source's own host, as configured
        )

    def close(self) -> None:
        self._http.close()

    def check(self, url: str) -> str:
        """`url` if this client may request it (http or https, on one of its hosts), else FetchError."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) address: {url[:200]!r}")
        if origin(url) not in self.hosts:
            raise FetchError(f"{url[:200]} is outside the source ({', '.join(sorted(self.hosts))}); not requested")
        return url

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str = "",
        last_modified: str = "",
        accept: str = "",
        ok: tuple[int, ...] = (200,),
    ) -> Response:
        """GET `url`, following redirects within the allowed hosts; a conditional request when `etag` or
        `last_modified` is given (a 304 comes back as such). FetchError for anything but `ok` or 304."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        seen = []
        for _ in range(MAX_REDIRECTS + 1):
            self.check(url)
            seen.append(url)
            response = self._send(url, headers, max_bytes)
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                if url in seen:
                    raise FetchError(f"{seen[0]} redirects in a loop")
                continue
            if response.status in ok or response.status == 304:
                return response
            raise FetchError(f"{url} answered {response.status}{_reason(response)}")
        raise FetchError(f"{seen[0]} redirects more than {MAX_REDIRECTS} times")

    def get_json(self, url: str, max_bytes: int) -> dict[str, Any]:
        """GET an API's JSON object (FetchError when the answer is not one)."""
        return self.get(url, max_bytes=max_bytes, accept="application/json").json()

    def _send(self, url: str, headers: dict[str, str], max_bytes: int) -> Response:
        import httpx

        for attempt in range(self.retries + 1):
            self._space(url)
            try:
                with self._http.stream("GET", url, headers=headers) as stream:
                    self.requests += 1
                    status = stream.status_code
                    found = {k.lower(): v for k, v in stream.headers.items()}
                    if status in RETRY_STATUS and attempt < self.retries:
                        time.sleep(self._retry_after(found, attempt, url))
                        continue
                    declared = found.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes and status == 200:
                        raise FetchError(f"{url} is {int(declared):,} bytes, over the limit of {max_bytes:,}")
                    body = bytearray()
                    for block in stream.iter_bytes():  # decoded (gzip, deflate, br): the limit holds after inflating
                        body += block
                        if len(body) > max_bytes:
                            raise FetchError(f"{url} is over the limit of {max_bytes:,} bytes")
                    return Response(str(stream.url), status, found, bytes(body))
            except httpx.TimeoutException:
                failure = f"{url} did not answer within {self.timeout:g} s"
            except (httpx.TransportError, httpx.DecodingError) as exc:
                failure = f"{url} could not be reached ({type(exc).__name__}: {str(exc)[:200] or 'no detail'})"
            if attempt == self.retries:
                raise FetchError(failure)
            time.sleep(min(self.max_wait, 0.5 * 2**attempt))
        raise FetchError(f"{url} kept answering 'try again later' after {self.retries + 1} attempts")

    def _retry_after(self, headers: Mapping[str, str], attempt: int, url: str) -> float:
        """Seconds to wait before retrying: what Retry-After asks (seconds or a date), else a backoff."""
        value = headers.get("retry-after", "").strip()
        reset = headers.get("x-ratelimit-reset", "").strip()  # Intercom: when the limit resets (epoch seconds)
        wait = 0.5 * 2**attempt
        if not value and reset.isdigit():
            wait = max(0.0, int(reset) - time.time())
        elif value.isdigit():
            wait = float(value)
        elif value:
            when = email.utils.parsedate_to_datetime(value) if _is_date(value) else None
            if when is not None:
                wait = max(0.0, when.timestamp() - time.time())
        if wait > self.max_wait:
            raise FetchError(f"{url} asks to wait {wait:.0f} s before trying again (more than {self.max_wait:g} s)")
        return wait

    def _space(self, url: str) -> None:
        """Wait so that requests to one host are at least 1 / rate seconds apart."""
        host = origin(url)
        with self._lock:
            now = time.monotonic()
            start = max(now, self._last.get(host, 0.0) + 1.0 / self.rate)
            self._last[host] = start
        if start > now:
            time.sleep(start - now)


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased, the default port left out."""
    parts = urlsplit(url)
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = (parts.hostname or "").lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def gunzip(data: bytes, max_bytes: int, what: str) -> bytes:
    """Inflate gzip `data` (a .gz sitemap), refusing more than `max_bytes` of output (a gzip bomb)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise FetchError(f"{what} is not valid gzip ({exc})") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise FetchError(f"{what} inflates to more than {max_bytes:,} bytes; refused")
    return out


def _is_date(value: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


def _reason(response: Response) -> str:
    text = response.text().strip().replace("\n", " ")
    return f": {text[:200]}" if text else ""
