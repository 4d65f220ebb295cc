"""Bookmarks API: the project under test."""
