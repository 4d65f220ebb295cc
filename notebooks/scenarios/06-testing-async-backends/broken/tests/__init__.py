"""The bookmarks API's test suite (run with: python -m pytest -p no:cacheprovider --rootdir .)."""
