"""``GET /display/{store}``: the full-screen page for a screen at the store entrance.

The page, its CSS and its JS ship inside the package and are served by the API itself, so
the display works on a store network without internet access. A Content-Security-Policy
of ``'self'`` makes the browser refuse anything from elsewhere.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from aggregator.api.context import ApiContext

_ASSETS = resources.files("aggregator.api.display")
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_MEDIA_TYPES = {
    "display.css": "text/css; charset=utf-8",
    "display.js": "text/javascript; charset=utf-8",
}


def _asset(name: str) -> bytes:
    return _ASSETS.joinpath(name).read_bytes()


def display_router(context: ApiContext) -> APIRouter:
    router = APIRouter(tags=["display"])
    page = _asset("display.html")
    assets = {name: _asset(name) for name in _MEDIA_TYPES}

    def known_store(store: str) -> str:
        return context.require_store(store)

    @router.get("/display/static/{name}", include_in_schema=False)
    def display_asset(name: str) -> Response:
        if name not in assets:
            return Response(status_code=404, content=f"no asset {name!r}", media_type="text/plain")
        return Response(
            assets[name],
            media_type=_MEDIA_TYPES[name],
            headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )

    @router.get("/display/{store}", response_class=HTMLResponse)
    def display_page(store: str = Depends(known_store)) -> HTMLResponse:
        """Full-screen entrance display: current count, capacity, and a green "Welcome" or red
        "Please wait" (over capacity); it updates itself from ``/events/occupancy``."""
        return HTMLResponse(page, headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})

    return router
