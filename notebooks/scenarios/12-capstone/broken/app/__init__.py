"""Interviews API: interview questions on FastAPI, async SQLAlchemy and PostgreSQL."""
