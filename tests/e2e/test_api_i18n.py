"""GET /i18n/{lang}.json: the message catalogue the page and any frontend load."""

from __future__ import annotations

from booking.i18n import catalogue
from tests.support.in_process import InProcessApp


def test_catalogue_is_served_cacheable_and_unknown_languages_are_problems(
    server: InProcessApp,
) -> None:
    client = server.client()
    for lang in ("vi", "en"):
        response = client.get(f"/i18n/{lang}.json")
        assert response.status_code == 200
        assert response.json() == catalogue(lang)
        assert "max-age" in response.headers["cache-control"]
        again = client.get(
            f"/i18n/{lang}.json", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304
    missing = client.get("/i18n/fr.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "not_found"
