"""A quiet local HTTP server for the bundled sample outlets: `monitor demo` and the tests crawl it offline.

Static files under the outlets folder are served at `/<outlet>/...`; the placeholder `{{BASE}}` in them is
replaced by the server's base URL so feeds carry absolute links. Conditional GET is supported (strong ETag
from the body hash, Last-Modified from the file's modification time); every request is recorded in `requests`.
Standard library only.
"""

from __future__ import annotations

import hashlib
import http.server
import mimetypes
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

OUTLETS_DIR = Path(__file__).resolve().parent / "outlets"
PLACEHOLDER = b"{{BASE}}"

# Content types by file suffix; `.xml` is refined by sniffing the root element (see `xml_content_type`).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".yaml": "text/plain; charset=utf-8",
}
DEFAULT_ROBOTS = "User-agent: *\nAllow: /\n"
BODYLESS_STATUSES = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server answered: what was asked and what status went back."""

    method: str
    path: str
    headers: dict[str, str]
    status: int


@dataclass(slots=True)
class Reply:
    """What a route answers: status, headers and a body (bytes, or chunks streamed then close)."""

    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)


def xml_content_type(body: bytes) -> str:
    """Feed media type sniffed from the first root element of an XML body."""
    head = body[:1024]
    if b"<feed" in head:
        return "application/atom+xml; charset=utf-8"
    if b"<rss" in head or b"<rdf:RDF" in head:
        return "application/rss+xml; charset=utf-8"
    return "application/xml; charset=utf-8"


def content_type_for(path: Path, body: bytes) -> str:
    """Content-Type header for a static file."""
    if path.suffix == ".xml":
        return xml_content_type(body)
    guessed = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return guessed or "application/octet-stream"


def etag_for(body: bytes) -> str:
    """Strong entity tag: a quoted hash of the exact body bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def not_modified(headers: Mapping[str, str], etag: str, mtime: int) -> bool:
    """True when the (lower-cased) conditional headers match; If-None-Match wins (RFC 9110, 13.2.2)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return mtime <= int(parsedate_to_datetime(since).timestamp())
    except (TypeError, ValueError):
        return False


class _Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request to the owning OutletServer and writes its Reply."""

    protocol_version = "HTTP/1.1"
    server_version = "MonitorDemo/1.0"
    owner: OutletServer

    def do_GET(self) -> None:
        """Answer GET."""
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        """Answer HEAD (headers only)."""
        self._answer(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests read `requests` instead of stderr."""

    def _answer(self, send_body: bool) -> None:
        headers = dict(self.headers.items())
        lowered = {name.lower(): value for name, value in headers.items()}
        reply = self.owner.respond(self.command, self.path, lowered)
        self.owner.record(RecordedRequest(self.command, self.path, headers, reply.status))
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if isinstance(reply.body, bytes):
            self._write_whole(reply.body if send_body else b"", reply)
        else:
            self._write_stream(reply.body if send_body else ())

    def _write_whole(self, body: bytes, reply: Reply) -> None:
        if reply.status not in BODYLESS_STATUSES and isinstance(reply.body, bytes):
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(body)

    def _write_stream(self, chunks: Iterable[bytes]) -> None:
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (size limit): that is the point of streaming routes


class _QuietServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer whose worker threads never block shutdown and that drops client-abort noise."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up mid-reply are expected here; stay quiet."""


class OutletServer:
    """Serve the sample outlets on 127.0.0.1 in a daemon thread: a context manager, or start()/stop()."""

    def __init__(self, root: Path = OUTLETS_DIR, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root).resolve()
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.overrides: dict[str, tuple[bytes, str, int]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server, without a trailing slash."""
        if self._httpd is None:
            raise RuntimeError("OutletServer is not running: call start() or use it as a context manager")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        """Absolute URL of a server path such as `/sham/feed.xml`."""
        return self.base_url + path

    def start(self) -> OutletServer:
        """Bind the socket and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"owner": self})
        self._stopping.clear()
        self._httpd = _QuietServer((self.host, self.port), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="outlet-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping routes and close the socket."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> OutletServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def record(self, request: RecordedRequest) -> None:
        """Append one answered request to `requests` (thread-safe)."""
        with self._lock:
            self.requests.append(request)

    def fetched(self, path: str) -> list[RecordedRequest]:
        """Recorded requests whose path (query included or not) is `path`."""
        with self._lock:
            return [r for r in self.requests if r.path == path or r.path.split("?", 1)[0] == path]

    def set_override(self, path: str, body: bytes | str, content_type: str | None = None) -> None:
        """Serve `body` at `path` instead of the file (a feed that changed); `{{BASE}}` is substituted."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        ctype = content_type or content_type_for(Path(path), data)
        with self._lock:
            self.overrides[path] = (data, ctype, int(time.time()))

    def respond(self, method: str, raw_path: str, headers: Mapping[str, str]) -> Reply:
        """Route one request to a Reply (`headers` keys lower-case); subclasses add routes, then defer."""
        path = unquote(urlsplit(raw_path).path)
        with self._lock:
            override = self.overrides.get(path)
        if override is not None:
            data, ctype, mtime = override
            return self._conditional(self.substitute(data), ctype, mtime, headers)
        if path == "/robots.txt" and not (self.root / "robots.txt").is_file():
            return Reply(200, DEFAULT_ROBOTS.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        return self.static(path, headers)

    def static(self, path: str, headers: Mapping[str, str]) -> Reply:
        """Serve a file under root (`/dir/` serves `dir/index.html`), or 404 / 301 for a missing slash."""
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root):
            return self.not_found()
        if target.is_dir():
            if not path.endswith("/"):
                return Reply(301, b"", {"Location": self.base_url + path + "/"})
            target = target / "index.html"
        if not target.is_file():
            return self.not_found()
        body = self.substitute(target.read_bytes())
        return self._conditional(body, content_type_for(target, body), int(target.stat().st_mtime), headers)

    def substitute(self, body: bytes) -> bytes:
        """Replace `{{BASE}}` with this server's base URL."""
        return body.replace(PLACEHOLDER, self.base_url.encode("ascii"))

    def not_found(self) -> Reply:
        """Plain 404 page."""
        return Reply(404, b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>\n", _HTML)

    def _conditional(self, body: bytes, ctype: str, mtime: int, headers: Mapping[str, str]) -> Reply:
        etag = etag_for(body)
        validators = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True)}
        if not_modified(headers, etag, mtime):
            return Reply(304, b"", validators)
        return Reply(200, body, {"Content-Type": ctype, **validators})


_HTML = {"Content-Type": "text/html; charset=utf-8"}
