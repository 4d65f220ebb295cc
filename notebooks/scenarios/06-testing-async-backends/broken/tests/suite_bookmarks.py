"""The bookmarks API, tested in-process against a real PostgreSQL (DATABASE_URL)."""

from fastapi.testclient import TestClient
from httpx import AsyncClient

from app.main import app
from app.models import Bookmark


async def test_app_starts(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200


async def test_no_bookmarks_yet(client: AsyncClient) -> None:
    response = await client.get("/bookmarks")
    assert response.json() == []


async def test_add_bookmark(client: AsyncClient) -> None:
    response = await client.post("/bookmarks", json={"url": "https://example.org/a"})
    assert response.status_code == 201
    assert response.json()["url"] == "https://example.org/a"


async def test_same_url_twice_conflicts(client: AsyncClient) -> None:
    first = await client.post("/bookmarks", json={"url": "https://example.org/b"})
    second = await client.post("/bookmarks", json={"url": "https://example.org/b"})
    assert (first.status_code, second.status_code) == (201, 409)


async def test_get_bookmark_by_id(client: AsyncClient) -> None:
    created = (await client.post("/bookmarks", json={"url": "https://example.org/c"})).json()
    response = await client.get(f"/bookmarks/{created['id']}")
    assert response.json() == created


async def test_saved_bookmark_is_listed(client: AsyncClient, saved: Bookmark) -> None:
    response = await client.get("/bookmarks")
    assert saved.url in [item["url"] for item in response.json()]


def test_sync_client_reads_saved_bookmark(saved: Bookmark) -> None:
    with TestClient(app) as sync_client:
        response = sync_client.get(f"/bookmarks/{saved.id}")
    assert response.status_code == 200
