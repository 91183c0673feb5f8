"""/docs (Swagger UI) and /redoc (ReDoc) work without internet: every asset they load is
served by Rapport itself (rapport.apidocs), none comes from a CDN.

These pages need no database: the tests build an app of their own and run once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI

from rapport.app import create_app
from tests.helpers import make_settings

ASSET_TYPES = {"text/javascript", "application/javascript", "text/css", "image/png"}
MIN_SIZES = {"text/javascript": 100_000, "application/javascript": 100_000, "text/css": 10_000}
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")


class _References(HTMLParser):
    """The URLs a page makes the browser fetch: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.urls.append(value)


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def docs_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(make_settings(tmp_path_factory.mktemp("apidocs")))


@pytest.fixture
async def http(docs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=docs_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _assert_offline_page(http: httpx.AsyncClient, page: str) -> list[str]:
    """The page is HTML whose every reference is a local path answered with a real asset."""
    response = await http.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "cdn." not in html
    assert ABSOLUTE_URL.findall(html) == []
    urls = _references(html)
    assert urls, html
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        asset = await http.get(url)
        assert asset.status_code == 200, url
        content_type = asset.headers["content-type"].split(";")[0].strip()
        assert content_type in ASSET_TYPES, (url, content_type)
        assert len(asset.content) >= MIN_SIZES.get(content_type, 100), (url, len(asset.content))
    return urls


async def test_swagger_ui_loads_only_local_assets(http: httpx.AsyncClient) -> None:
    urls = await _assert_offline_page(http, "/docs")
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert any(url.endswith("swagger-ui.css") for url in urls)
    assert any(url.endswith(".png") for url in urls)  # the favicon


async def test_swagger_ui_reads_the_openapi_document_and_keeps_try_it_out(
    http: httpx.AsyncClient,
) -> None:
    html = (await http.get("/docs")).text
    assert "url: '/openapi.json'" in html
    assert "SwaggerUIBundle.presets.apis" in html
    assert '"persistAuthorization": true' in html
    assert '"validatorUrl": null' in html  # no badge fetched from the public validator
    assert (await http.get("/openapi.json")).status_code == 200


async def test_redoc_loads_only_local_assets(http: httpx.AsyncClient) -> None:
    urls = await _assert_offline_page(http, "/redoc")
    (script,) = [url for url in urls if url.endswith(".js")]
    assert script.endswith("redoc.standalone.js")
    html = (await http.get("/redoc")).text
    assert '<redoc spec-url="/openapi.json">' in html
    assert "fonts.googleapis.com" not in html
    # ReDoc's bundle asks for its logo at the page's path + /logo-mini.svg, not at a CDN.
    bundle = (await http.get(script)).text
    assert "cdn.redoc.ly" not in bundle
    logo = await http.get("/redoc/logo-mini.svg")
    assert logo.status_code == 200
    assert logo.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in logo.content


async def test_the_docs_follow_a_proxy_prefix(docs_app: FastAPI) -> None:
    """Behind a proxy that strips /crm, the pages point at /crm/... and those paths serve."""
    transport = httpx.ASGITransport(app=docs_app, root_path="/crm")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/crm/docs")
        assert response.status_code == 200
        assert "url: '/crm/openapi.json'" in response.text
        urls = _references(response.text)
        assert urls
        for url in urls:
            assert url.startswith("/crm/docs/static/"), url
            assert (await http.get(url)).status_code == 200, url


async def test_the_docs_stay_out_of_the_openapi_document(
    http: httpx.AsyncClient,
) -> None:
    spec = (await http.get("/openapi.json")).json()
    assert not [
        path for path in spec["paths"] if not path.startswith(("/api/v1", "/healthz", "/readyz"))
    ]
    missing = await http.get("/docs/static/swagger/no-such-file.js")
    assert missing.status_code == 404
