"""The HTTP API for other tools (`kb serve`): parse, check the caller's role, one call into the public API, format.

Every request but /v1/health carries an API key (`Authorization: Bearer KEY`, made with `kb key add`);
`kb.access.authorize` decides from the key's role, here as everywhere. Every error is JSON
(`{"error": message}`): 400 for what the caller can fix, 401 without a valid key, 403 for a role that
may not, 404 for no such endpoint or article, 413 for a body over MAX_BODY_BYTES, 422 for a request not
of the documented shape, 429 past the key's rate, 503 while the index cannot be used. Answers and hits
carry their citations with offsets, languages and source URLs. OpenAPI docs at /docs.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations at definition time,
# and they name dependencies made inside `create_app`.
import threading
import time
from collections import deque
from dataclasses import asdict, is_dataclass
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .access import Principal, authorize, identify_key, read_audit
from .access.roles import Forbidden, Unauthenticated
from .config import Settings
from .errors import IndexUnusable, KBError, NotFound
from .feedback import Cited
from .knowledge_base import MAX_K_ASKED
from .service import Service

MAX_PRINCIPLES = 50  # principles in one response (the app shows 10)
MAX_BODY_BYTES = 65_536  # a request body: a question is read up to KB_MAX_QUERY_CHARS (2,000) characters


class RateLimited(KBError):
    """The key asked more often than the API allows it (KB_API_RATE requests a minute)."""


class _Window:
    """Requests each key made in the last minute (a sliding window)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, who: str) -> None:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(who, deque())
            while seen and now - seen[0] > 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                raise RateLimited(f"more than {self.per_minute} requests a minute from {who}; slow down")
            seen.append(now)


class _BodyLimit:
    """Refuses a request body over `most` bytes (413): at once when its Content-Length says so, else
    as soon as the endpoint has read that much."""

    def __init__(self, app: ASGIApp, most: int) -> None:
        self.app, self.most = app, most

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.most:
            await JSONResponse({"error": self.refusal(f"{int(declared):,} bytes")}, 413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.most:  # a body sent in chunks, without a length
                raise HTTPException(413, self.refusal(f"over {self.most:,} bytes"))
            return message

        await self.app(scope, counted, send)

    def refusal(self, size: str) -> str:
        return f"the request body is {size}; the API accepts at most {self.most:,} bytes"


def _bounded(name: str, value: int, most: int) -> int:
    """`value` if it is 1 to `most`; else the error a caller can fix (400)."""
    if not 1 <= value <= most:
        raise KBError(f"{name} must be an integer between 1 and {most}, got {value}")
    return value


def _invalid(errors: Any) -> str:
    """FastAPI's validation errors as one readable sentence: which field, and what is wrong with it."""
    said = []
    for error in errors:
        where = [str(part) for part in error.get("loc", ())[1:]]  # ("body" | "query", field, ...)
        if error.get("type") == "json_invalid":
            said.append(f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'unreadable')})")
        elif error.get("type") == "missing":
            said.append(f"{'.'.join(where) or 'the body'} is missing")
        else:
            said.append(f"{'.'.join(where) or 'the body'}: {error.get('msg', 'invalid')}")
    return "; ".join(said) or "the request is not of the documented shape (see /docs)"


def plain(value: Any) -> Any:
    """Dataclasses, tuples and numpy numbers as JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI application over the knowledge base `settings` name (one `Service` per process)."""
    settings = settings or Settings.from_env()
    service = Service.shared(settings)
    window = _Window(settings.api_rate)
    app = FastAPIOffline(  # the docs pages' scripts served from the package, not a CDN (closed networks)
        title="cx-kb",
        summary="A multilingual customer-experience knowledge base: cited answers from your articles.",
        version="1",
    )
    app.add_middleware(_BodyLimit, most=MAX_BODY_BYTES)
    if settings.api_cors_origins:  # after the body limit: its refusals carry the CORS headers too
        from fastapi.middleware.cors import CORSMiddleware

        origins = [o.strip() for o in settings.api_cors_origins.split(",") if o.strip()]
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["*"])

    statuses = (
        (Unauthenticated, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (RateLimited, 429),
        (IndexUnusable, 503),
        (KBError, 400),
    )

    @app.exception_handler(KBError)
    async def kb_error(request: Request, exc: KBError) -> JSONResponse:
        status = next(code for kind, code in statuses if isinstance(exc, kind))
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "60"} if status == 429 else None
        return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        path = request.url.path
        message = {
            404: f"no endpoint {path}; the endpoints are listed at /docs",
            405: f"{path} does not take {request.method}; see /docs",
        }.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _invalid(exc.errors())}, status_code=422)

    def caller(action: str) -> Any:
        def check(request: Request) -> Principal:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            principal = identify_key(settings, key.strip()) if scheme.lower() == "bearer" and key.strip() else None
            authorize(principal, action)  # Unauthenticated / Forbidden
            assert principal is not None
            window.check(principal.name)
            return principal

        return Depends(check)

    @app.get("/v1/health", summary="Whether the API is up, and the index version it answers from")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": service.version()}

    @app.get("/v1/search", summary="The passages closest in meaning to a query, in any language")
    def search(
        q: Annotated[str, Query(description="the query")],
        _: Annotated[Principal, caller("search")],
        k: Annotated[int, Query(description=f"how many passages (1-{MAX_K_ASKED})")] = 10,
        lang: Annotated[list[str] | None, Query(description="only these languages (repeatable)")] = None,
    ) -> dict[str, Any]:
        return {"hits": plain(service.knowledge_base().search(q, k=_bounded("k", k, MAX_K_ASKED), languages=lang))}

    @app.post("/v1/ask", summary="A cited answer built from the articles")
    def ask(
        question: Annotated[str, Body(embed=True)],
        _: Annotated[Principal, caller("ask")],
        k: Annotated[int, Body(embed=True, description=f"how many passages to draw on (1-{MAX_K_ASKED})")] = 5,
        languages: Annotated[list[str] | None, Body(embed=True)] = None,
        reader_lang: Annotated[
            str | None, Body(embed=True, description="the reader's language, e.g. a widget's")
        ] = None,
    ) -> dict[str, Any]:
        answer = service.ask(question, k=_bounded("k", k, MAX_K_ASKED), languages=languages, reader_lang=reader_lang)
        return {"answer": plain(answer), "markdown": answer.markdown()}

    @app.post("/v1/feedback", summary="Feedback on an answer, for the editors (never changes the ranking)")
    def feedback(
        question: Annotated[str, Body(embed=True)],
        citations: Annotated[
            list[dict[str, Any]],
            Body(embed=True, description="the answer's citations as /v1/ask gave them (doc_id, start, end), in order"),
        ],
        _: Annotated[Principal, caller("feedback")],
        helpful: Annotated[bool | None, Body(embed=True, description="true: helpful; false: not")] = None,
        wrong: Annotated[list[int] | None, Body(embed=True, description="citation numbers flagged as wrong")] = None,
        comment: Annotated[str, Body(embed=True)] = "",
    ) -> dict[str, Any]:
        try:
            cited = [Cited(str(c["doc_id"]), int(c["start"]), int(c["end"])) for c in citations]
        except (KeyError, TypeError, ValueError):
            raise KBError("each citation needs doc_id, start and end, as /v1/ask gave them") from None
        kept = service.give_feedback(question, cited, helpful, tuple(wrong or ()), comment)
        return {"feedback": plain(kept), "kept": service.feedback.enabled}

    @app.get("/v1/articles/{doc_id}", summary="One article, whole (citations' offsets point into its body)")
    def article(doc_id: str, _: Annotated[Principal, caller("article")]) -> dict[str, Any]:
        return {"article": plain(service.knowledge_base().document(doc_id))}

    @app.get("/v1/library", summary="Every article with its language, source and translations")
    def library(_: Annotated[Principal, caller("library")]) -> dict[str, Any]:
        return {"articles": plain(service.knowledge_base().library())}

    @app.get("/v1/principles", summary="The main points the articles make, across languages")
    def principles(
        _: Annotated[Principal, caller("principles")],
        limit: Annotated[int, Query(description=f"how many (1-{MAX_PRINCIPLES})")] = 10,
    ) -> dict[str, Any]:
        return {
            "principles": plain(service.knowledge_base().principles(limit=_bounded("limit", limit, MAX_PRINCIPLES)))
        }

    @app.get("/v1/gaps", summary="Unanswered questions, missing and stale translations (editors)")
    def gaps(_: Annotated[Principal, caller("gaps")]) -> dict[str, Any]:
        return dict(plain(service.report()))

    @app.post("/v1/sync", status_code=202, summary="Sync the help centres, then rebuild, in the background (editors)")
    def sync(who: Annotated[Principal, caller("sync")]) -> dict[str, Any]:
        return {"job": plain(service.start(sync=True, by=who))}

    @app.post("/v1/rebuild", status_code=202, summary="Rebuild the index in the background (editors)")
    def rebuild(
        who: Annotated[Principal, caller("rebuild")], full: Annotated[bool, Body(embed=True)] = False
    ) -> dict[str, Any]:
        return {"job": plain(service.start(full=full, by=who))}

    @app.get("/v1/job", summary="The running background job, or how the last one ended (editors)")
    def job(_: Annotated[Principal, caller("job")]) -> dict[str, Any]:
        current = service.job
        return {"job": None if current is None else plain(current) | {"running": current.running}}

    @app.get("/v1/audit", summary="Who changed the knowledge base, and when (admins)")
    def audit(_: Annotated[Principal, caller("audit")]) -> dict[str, Any]:
        return {"entries": plain(read_audit(settings))}

    return app
