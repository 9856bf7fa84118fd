"""The notes example app, driven as a user would, with an embedded server."""

import os
import subprocess
import sys

from conftest import PASSWORD

NOTES = os.path.join(os.path.dirname(__file__), "..", "examples", "notes.py")


def notes(tmp_path, store, *args, check=True, secret_key=None):
    env = dict(os.environ, ZKVAULT_PASSWORD=PASSWORD, ZKVAULT_KDF="floor")
    if secret_key is not None:
        env["ZKVAULT_SECRET_KEY"] = secret_key
    return subprocess.run([sys.executable, NOTES, "--store", str(tmp_path / store),
                           "--server-db", str(tmp_path / "server.db"), *args],
                          env=env, capture_output=True, text=True, check=check, timeout=300)


def test_notes_app_create_edit_sync(tmp_path):
    notes(tmp_path, "laptop.db", "init")
    notes(tmp_path, "laptop.db", "add", "Groceries", "milk, eggs")
    notes(tmp_path, "laptop.db", "add", "Ideas", "zero knowledge")
    out = notes(tmp_path, "laptop.db", "list").stdout
    assert out.splitlines() == ["Groceries: milk, eggs", "Ideas: zero knowledge"]
    kit = notes(tmp_path, "laptop.db", "register", "notes@example.org").stdout
    secret_key = next(w for w in kit.split() if w.startswith("ZK1-"))

    assert "2 notes" in notes(tmp_path, "phone.db", "login", "notes@example.org",
                              secret_key=secret_key).stdout
    notes(tmp_path, "phone.db", "edit", "Groceries", "milk, eggs, bread")
    notes(tmp_path, "phone.db", "sync", "notes@example.org")
    notes(tmp_path, "laptop.db", "sync", "notes@example.org")
    assert notes(tmp_path, "laptop.db", "show", "Groceries").stdout == "milk, eggs, bread\n"

    missing = notes(tmp_path, "laptop.db", "show", "Nope", check=False)
    assert missing.returncode != 0 and "no note titled 'Nope'" in missing.stderr
    assert b"milk" not in (tmp_path / "server.db").read_bytes()
