"""``/docs`` (Swagger UI) served from the API itself: the JavaScript and CSS come from the
``swagger-ui-bundle`` package instead of a CDN, so the page works on a host without internet
access. ReDoc, which only loads from a CDN, is not offered."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS_PATH = "/docs-assets"


def add_offline_docs(app: FastAPI) -> None:
    """``/docs`` and its assets under :data:`ASSETS_PATH`; the app must be created with
    ``docs_url=None, redoc_url=None``. URLs are relative, so a path prefix in a reverse proxy
    keeps working."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    assets = ASSETS_PATH.lstrip("/")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="openapi.json",
            title=f"{app.title} – docs",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )
