"""The `idempotency_key` store behind api/idempotency.py, and its permanent-deletion eraser.

A package of its own, below the resources, rather than inside api/: assembly.py (below api/)
registers its eraser, and a resource package may never import patrons.api.
"""
