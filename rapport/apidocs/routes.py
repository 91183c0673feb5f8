"""`/docs` (Swagger UI) and `/redoc` (ReDoc), with their assets served by Rapport itself.

FastAPI's own pages load Swagger UI and ReDoc from a public CDN, so a server without internet
showed a blank page. The assets come from the `fastapi-standalone-docs` package (Swagger UI,
ReDoc, their licences and FastAPI's favicon; its ReDoc no longer fetches its logo from a CDN).
Only its files are used, not its `StandaloneDocs`, which patches FastAPI module-wide. They are
mounted at `/docs/static`; none of these routes is in the OpenAPI document or needs a key.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_URL = "/docs/static"
ASSETS_PACKAGE = "fastapi_standalone_docs"

router = APIRouter(include_in_schema=False)

SWAGGER_UI_PARAMETERS = {
    # The key entered under "Authorize" survives a reload of the page.
    "persistAuthorization": True,
    # No badge fetched from the public validator (it would also send it the document's URL).
    "validatorUrl": None,
}


def assets_directory() -> Path:
    """The package's `static` folder: `swagger/`, `redoc/` and `fastapi/` (the favicon)."""
    return Path(str(files(ASSETS_PACKAGE) / "static"))


def static_files() -> StaticFiles:
    """What the app mounts at STATIC_URL."""
    return StaticFiles(directory=assets_directory())


def _prefix(request: Request) -> str:
    """Where the app is served from behind a proxy that strips a path prefix ("" usually)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _openapi_url(request: Request) -> str:
    return _prefix(request) + str(request.app.openapi_url)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    static = _prefix(request) + STATIC_URL
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{static}/swagger/swagger-ui-bundle.js",
        swagger_css_url=f"{static}/swagger/swagger-ui.css",
        swagger_favicon_url=f"{static}/fastapi/favicon.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    static = _prefix(request) + STATIC_URL
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{static}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{static}/fastapi/favicon.png",
        with_google_fonts=False,
    )


@router.get("/redoc/logo-mini.svg")
async def redoc_logo() -> FileResponse:
    """The package's ReDoc asks for its logo at the page's path + `/logo-mini.svg`."""
    return FileResponse(assets_directory() / "redoc" / "logo-mini.svg", media_type="image/svg+xml")
