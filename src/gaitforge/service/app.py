"""The FastAPI application: the ``/api/v1`` JSON API, the web page at ``/``, and JSON errors everywhere.

Example::

    import uvicorn
    from gaitforge.service import ServiceLimits, create_app

    app = create_app("runs/gaitbase", "gallery/", limits=ServiceLimits(max_upload_bytes=32 * 2**20))
    uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gaitforge.service.auth import FailureWindow, Tokens, required_role
from gaitforge.io.silhouettes import InputRefused
from gaitforge.service.limits import ServiceError, ServiceLimits, service_error_of
from gaitforge.service.routes import API_PREFIX, build_router
from gaitforge.service.state import ServiceState

if TYPE_CHECKING:
    from gaitforge.retrieval import Recognizer

__all__ = ["ENV_CONFIG", "STATIC_DIR", "app_from_environment", "create_app"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Environment variable through which ``gaitforge serve --workers N`` hands its settings to each worker process.
ENV_CONFIG = "GAITFORGE_SERVICE_CONFIG"
#: The page loads its script, styles and data-URL thumbnails from this server only.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _package_version() -> str:
    try:
        return version("gaitforge")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0+unknown"


def _error(exc: ServiceError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON answer of a refusal; a 503 says to retry in a second unless ``headers`` say otherwise."""
    merged = {"Retry-After": "1"} if exc.status == 503 else {}
    merged.update(headers or {})
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=merged or None)


def _install_error_handlers(app: FastAPI) -> None:
    async def service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        if exc.status >= 500:
            logger.warning("%s %s: %s", request.method, request.url.path, exc.message)
        return _error(exc)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        field = str(first.get("loc", ["?"])[-1])
        limit = (first.get("ctx") or {}).get("le") or (first.get("ctx") or {}).get("ge")
        message = f"field '{field}': {first.get('msg', 'invalid value')}"
        return _error(ServiceError(422, "invalid_field", message, field, limit))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(ServiceError(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}"))

    async def lock_timeout(request: Request, exc: Exception) -> JSONResponse:
        return _error(ServiceError(503, "gallery_busy", f"the gallery is locked by another writer ({exc}); retry"))

    async def input_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InputRefused)  # e.g. a subject name that reads like an enrolled one
        field = "subject" if isinstance(exc, SubjectNameError) else "file"
        error = service_error_of(exc, field)
        if not error.message.startswith("field '"):
            error.message = f"field '{field}': {error.message}"
        return _error(error)

    async def gallery_error(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return _error(ServiceError(503, "gallery_unavailable", str(exc)))

    from gaitforge.retrieval.gallery import GalleryError
    from gaitforge.retrieval.lock import LockTimeout
    from gaitforge.retrieval.names import SubjectNameError

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(LockTimeout, lock_timeout)
    app.add_exception_handler(InputRefused, input_refused)
    app.add_exception_handler(GalleryError, gallery_error)


def _install_auth(app: FastAPI, tokens: Tokens, limits: ServiceLimits) -> None:
    """Every ``/api/v1`` request but the open ones needs a bearer token of the route's role; checked before the
    body is read, so an unauthorised upload is refused without being received. An address that keeps failing is
    answered 429 for a while (:class:`~gaitforge.service.auth.FailureWindow`)."""
    failures = FailureWindow(limits.max_token_failures)

    def refusal(request: Request) -> JSONResponse | None:
        path = request.url.path
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            return None
        need = required_role(request.method, path[len(API_PREFIX) :] or "/")
        if need is None:
            return None
        where = f"{request.method} {path}: header 'Authorization'"
        client = request.client.host if request.client else "?"
        wait = math.ceil(failures.wait_s(client))
        if wait > 0:
            message = (
                f"{where}: {limits.max_token_failures} bad tokens from {client} within a minute; retry in {wait} s"
            )
            error = ServiceError(429, "too_many_failures", message, "Authorization", limits.max_token_failures)
            return _error(error, {"Retry-After": str(wait)})
        role = tokens.role_of(request.headers.get("authorization"))
        if role is None:
            failures.record(client)
            message = f"{where}: expected 'Bearer <token>' with a token of the service's token file"
            error = ServiceError(401, "unauthorized", message, "Authorization")
            return _error(error, {"WWW-Authenticate": 'Bearer realm="gaitforge"'})
        if need == "write" and role != "write":
            message = f"{where}: a read token may identify, list and show; enroll and delete need a write token"
            return _error(ServiceError(403, "forbidden", message, "Authorization"))
        return None

    @app.middleware("http")
    async def bearer_token(request: Request, call_next: Any) -> Any:
        refused = refusal(request)
        return refused if refused is not None else await call_next(request)


def create_app(
    model: str | Path | Recognizer,
    gallery: str | Path,
    *,
    limits: ServiceLimits | None = None,
    device: str = "cpu",
    tokens: Tokens | str | Path | None = None,
) -> FastAPI:
    """Build the service for one model and one gallery.

    The model is loaded and the gallery opened (created when missing, for the model's ``dim`` and ``metric``) here,
    so a wrong path fails now rather than on the first request; the gallery is closed when the app shuts down.

    Args:
        model: Run folder or checkpoint file (or a loaded :class:`~gaitforge.retrieval.Recognizer`); a silhouette
            model.
        gallery: Gallery folder.
        limits: Request bounds (default :class:`ServiceLimits`).
        device: Where the model runs (``"cpu"``, ``"cuda"``, ``"auto"``).
        tokens: Bearer tokens the API requires (:class:`~gaitforge.service.auth.Tokens`, or a token file's path;
            see :mod:`gaitforge.service.auth`); ``None``: the API is open to anyone who can reach it.

    Raises:
        FileNotFoundError: no such run or checkpoint.
        TokenFileError: the token file is missing or malformed.
        ValueError: the model does not read silhouettes, or the gallery holds vectors of another model.
    """
    from gaitforge.retrieval import Gallery, Recognizer

    limits = limits or ServiceLimits()
    if tokens is not None and not isinstance(tokens, Tokens):
        tokens = Tokens.from_file(tokens)  # before the model loads: a bad file fails at once
    recognizer = model if isinstance(model, Recognizer) else Recognizer.from_checkpoint(model, device=device)
    if recognizer.modalities != ("sil",):
        raise ValueError(
            f"{model}: the model reads {list(recognizer.modalities)}; the service serves silhouette models "
            "(data.modalities ['sil'])"
        )
    store = Gallery.open_or_create(gallery, recognizer.dim, recognizer.metric)
    described = recognizer.describe()
    if store.model is None:
        store.model = described
    elif store.model.get("checkpoint") != described["checkpoint"]:
        logger.warning(
            "gallery %s was enrolled with %s; serving %s (distances are only comparable for one model)",
            store.path,
            store.model.get("checkpoint"),
            described["checkpoint"],
        )
    state = ServiceState(recognizer, store, limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("serving %r with gallery %s (%d sequences)", recognizer, store.path, len(store))
        logger.info("API tokens: %s", tokens if tokens is not None else "none (open to anyone who can connect)")
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="gaitforge",
        version=_package_version(),
        summary="Gait recognition: enroll walkers, identify probes.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.service = state
    _install_error_handlers(app)
    if tokens is not None:
        _install_auth(app, tokens, limits)
    app.include_router(build_router(state))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    return app


def app_from_environment() -> FastAPI:
    """The app described by :data:`ENV_CONFIG` (JSON ``{"model", "gallery", "device", "limits", "token_file"}``).

    Used as uvicorn's app factory when ``gaitforge serve --workers N`` starts several worker processes.
    """
    text = os.environ.get(ENV_CONFIG)
    if not text:
        raise ValueError(f"environment variable {ENV_CONFIG} is not set; start the service with `gaitforge serve`")
    config: dict[str, Any] = json.loads(text)
    return create_app(
        config["model"],
        config["gallery"],
        limits=ServiceLimits(**config.get("limits", {})),
        device=config.get("device", "cpu"),
        tokens=config.get("token_file"),
    )
