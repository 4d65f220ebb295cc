"""The `databases` library: its execute() takes SQL strings."""

import os

import databases

database = databases.Database(os.environ["DATABASE_URL"])
