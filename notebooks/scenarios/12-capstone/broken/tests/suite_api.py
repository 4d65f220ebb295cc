"""The interviews API, tested in-process against a real PostgreSQL (DATABASE_URL)."""

from httpx import AsyncClient


async def test_root(client: AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200


async def test_health(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.json()["status"] == "healthy"


async def test_add_question(client: AsyncClient) -> None:
    response = await client.post("/questions", json={"topic": "sql", "text": "What does a pool do?"})
    assert response.status_code == 201


async def test_list_questions(client: AsyncClient) -> None:
    await client.post("/questions", json={"topic": "http", "text": "What is a 503 for?"})
    response = await client.get("/questions")
    assert "What is a 503 for?" in [q["text"] for q in response.json()]


async def test_stats(client: AsyncClient) -> None:
    response = await client.get("/stats")
    assert response.json()["questions"] >= 1
