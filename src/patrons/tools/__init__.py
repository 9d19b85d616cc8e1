"""Project tools for tests and demos: reset, export/import (portability.py) and seed (seed.py).

A layer of its own beside worker/: it reaches every package's tables (portability, from the
schema in db.tables) and the resource services (seed), and serves the CLI; no resource or
api/ imports it.
"""
