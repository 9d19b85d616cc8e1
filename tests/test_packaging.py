"""A built wheel carries everything `patrons` needs at run time (migrations, the contract)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.slow  # builds and installs a wheel


def test_wheel_installs_a_working_patrons(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(wheels)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("patrons-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env["PATRONS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"

    def patrons(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", "from patrons.cli.main import app; app()", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    where = subprocess.run(
        [sys.executable, "-c", "import patrons; print(patrons.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(target) in where  # the wheel's copy, not the checkout
    assert patrons("--version").startswith("patrons ")
    assert "latest schema" in patrons("db", "upgrade")
    assert (target / "patrons/api/contract/voucherify-openapi.json").exists()
