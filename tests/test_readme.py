"""Every shell, Python and JavaScript block of README.md runs as pasted against a live server.

A person clones, runs `make serve` (which prints the default keys and an `export APP_ID=…
APP_TOKEN=…` line), then pastes the README's blocks in a second terminal in the clone's
folder. This test does the same: a fresh folder with the project's `.venv`, `patrons serve`
started there by `.venv/bin/patrons` on a fresh `patrons.db`, the printed `Shell:` line
pasted where the README says so, and each block run in order. The only change made to a
block is the port (a free one instead of 8000). Blocks marked
`<!-- readme-test: skip (reason) -->` are skipped with that reason shown.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import _free_port

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
VENV = Path(sys.executable).parent.parent
BLOCK = re.compile(
    r"(?:<!-- readme-test: skip \((?P<reason>.*?)\) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```",
    re.S,
)
PLACEHOLDER = re.compile(r"^export APP_ID=… APP_TOKEN=….*$", re.M)
ERROR_OBJECT = re.compile(r'"code":\s*[45]\d\d')


@dataclass
class Block:
    index: int
    lang: str
    body: str
    skip: str | None

    @property
    def id(self) -> str:
        first = next((line for line in self.body.splitlines() if line.strip()), "")
        return f"{self.index}-{self.lang}-{re.sub(r'[^a-z0-9]+', '-', first.lower())[:30]}"


def blocks() -> list[Block]:
    return [
        Block(i, m["lang"], m["body"], m["reason"])
        for i, m in enumerate(BLOCK.finditer(README.read_text()))
    ]


@dataclass
class Live:
    folder: Path
    port: int
    export_line: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("clone")
    (folder / ".venv").symlink_to(VENV, target_is_directory=True)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PATRONS_") and k not in ("APP_ID", "APP_TOKEN")
    }
    env["COLUMNS"] = "200"
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [".venv/bin/patrons", "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        found = re.search(r"Shell:\s+(export APP_ID=\S+ APP_TOKEN=\S+)", log.read_text())
        assert found, log.read_text()
        yield Live(folder, port, found.group(1), env)
    finally:
        process.terminate()
        process.wait(timeout=10)


def on_port(text: str, port: int) -> str:
    return text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")


def keys_of(export_line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in export_line.split()[1:])


def check(done: subprocess.CompletedProcess[str], block: Block) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"block {block.id} failed:\n{block.body}\n---\n{output}"
    assert "Traceback" not in output, output
    assert not ERROR_OBJECT.search(done.stdout), f"an error answer in block {block.id}:\n{output}"


ALL = blocks()


def test_the_readme_has_runnable_blocks() -> None:
    langs = [b.lang for b in ALL if b.skip is None]
    assert langs.count("sh") >= 3
    assert "python" in langs
    assert "js" in langs
    assert any(PLACEHOLDER.search(b.body) for b in ALL), "the `export APP_ID=…` line is gone"


@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_block_runs_as_pasted(block: Block, live: Live) -> None:
    if block.skip is not None:
        pytest.skip(f"README marks it not runnable: {block.skip}")
    body = on_port(block.body, live.port)
    env = {**live.env, **keys_of(live.export_line)}  # the terminal where the line was pasted
    if block.lang == "sh":
        script = PLACEHOLDER.sub(live.export_line, body)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=live.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    elif block.lang == "python":
        (live.folder / "example.py").write_text(body)
        done = subprocess.run(
            [".venv/bin/python", "example.py"],
            cwd=live.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    elif block.lang == "js":
        node_modules = ROOT / "tests/js/node_modules"
        if shutil.which("node") is None or not (node_modules / "@voucherify/sdk").exists():
            pytest.skip("needs Node.js and @voucherify/sdk in tests/js/node_modules (JS SDK suite)")
        link = live.folder / "node_modules"
        if not link.exists():
            link.symlink_to(node_modules, target_is_directory=True)
        (live.folder / "example.mjs").write_text(body)
        done = subprocess.run(
            ["node", "example.mjs"],
            cwd=live.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    else:
        pytest.fail(f"block {block.id}: no runner for {block.lang!r}; mark it readme-test: skip")
    check(done, block)
