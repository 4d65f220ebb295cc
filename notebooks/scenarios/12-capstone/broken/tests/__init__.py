"""The interviews API's test suite (run with: python -m pytest)."""
