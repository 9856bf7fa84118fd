"""Fixtures: the package from this source tree, floor Argon2id parameters
(opslimit 2, memlimit 19 MiB: never less), an embedded server in a temp dir."""

import os
import sys

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import zkvault  # noqa: E402

OPS = 2
MEM = 19922944
PASSWORD = "correct horse battery staple"


@pytest.fixture
def server(tmp_path):
    with zkvault.Server(tmp_path / "server.db", b"p" * 32) as s:
        yield s


@pytest.fixture
def make_client(tmp_path):
    """make_client(name) → an open Client on tmp_path/name.db, closed after the test."""
    opened = []

    def make(name):
        c = zkvault.Client(tmp_path / f"{name}.db")
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()
