"""The composition root: what each package plugs into another's seam, named in one place.

Packages offer seams (the job-handler registry in async_actions/handlers.py, the eraser
registry in customers/erasure.py); the packages that own a job type or hold customer data
provide the implementations; this module — above every resource package, below api/ and
worker/ callers such as cli/ — registers them. `install()` is idempotent: the API process,
`patrons worker` and in-process tests all call it before serving.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _install_job_handlers()
    _install_erasers()
    _installed = True


def _install_job_handlers() -> None:
    """One line per job type (owned by the job-handler seam's author)."""


def _install_erasers() -> None:
    """One line per package that holds customer data (owned by the erasure seam's author)."""
