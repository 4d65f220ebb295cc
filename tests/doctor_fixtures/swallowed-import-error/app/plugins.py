PLUGINS: list[str] = []
