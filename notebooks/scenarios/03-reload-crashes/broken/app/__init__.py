"""The notes API of the reload scenario."""
