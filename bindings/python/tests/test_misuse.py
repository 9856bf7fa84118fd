"""Misuse never reaches the library with a dead pointer: every stale handle
raises zkvault.ClosedError (a ValueError), and the interpreter survives.
Each path that invalidates a borrowed handle has its own test."""

import re

import pytest

import zkvault

from conftest import MEM, OPS, PASSWORD

NOTE = {"type": "note", "title": "T", "fields": [{"name": "text", "value": "x", "hidden": False}]}


@pytest.fixture
def synced(server, make_client):
    """A registered client with a borrowed Vault taken before the call under test."""
    c = make_client("a")
    c.connect_local(server)
    c.create(PASSWORD, OPS, MEM)
    c.register("ada@example.org")
    return c


def stale(v):
    with pytest.raises(zkvault.ClosedError, match="take client.vault again"):
        v.list()
    with pytest.raises(zkvault.ClosedError):
        v.add(NOTE)  # and stays dead: the dead pointer is forgotten
    with pytest.raises(ValueError):
        len(v)


def test_borrowed_vault_dies_at_lock(synced):
    v = synced.vault
    v.add(NOTE)
    synced.lock()
    stale(v)


def test_borrowed_vault_dies_at_close(synced):
    v = synced.vault
    synced.close()
    stale(v)


def test_borrowed_vault_dies_at_sync(synced):
    v = synced.vault
    synced.sync()
    stale(v)
    assert synced.vault.count() == 0  # a fresh borrow works


def test_borrowed_vault_dies_at_pull(synced):
    v = synced.vault
    synced.pull()
    stale(v)


def test_borrowed_vault_dies_at_unlock(synced):
    v = synced.vault
    synced.save()
    synced.unlock(PASSWORD)
    stale(v)


def test_borrowed_vault_dies_even_when_the_call_fails(synced):
    v = synced.vault
    with pytest.raises(zkvault.AuthError):
        synced.unlock("wrong password")
    stale(v)


def test_borrowed_vault_survives_save_and_getters(synced):
    v = synced.vault
    item = v.add(NOTE)
    synced.save()
    assert synced.unlocked and synced.revision >= 1 and len(synced.account_id) == 32
    assert v.get(item)["title"] == "T"


def test_merge_with_a_stale_vault_raises(synced):
    v = synced.vault
    synced.lock()
    with pytest.raises(zkvault.ClosedError):
        zkvault.Vault.merge(zkvault.Vault(), zkvault.Vault(), v)


def test_owned_vault_after_close(tmp_path):
    v = zkvault.Vault()
    v.close()
    with pytest.raises(zkvault.ClosedError, match="vault is closed"):
        v.list()
    v.close()  # twice is fine


def test_client_after_close(make_client):
    c = make_client("b")
    c.close()
    for call in (lambda: c.vault, c.lock, lambda: c.unlock(PASSWORD), c.sync):
        with pytest.raises(zkvault.ClosedError, match="client is closed"):
            call()
    c.close()


def test_link_after_its_client_closed(synced):
    link = synced.link_offer()
    synced.close()
    with pytest.raises(zkvault.ClosedError, match="client is closed"):
        link.payload
    with pytest.raises(zkvault.ClosedError):
        link.poll()
    link.close()


def test_client_of_a_closed_server(tmp_path, make_client):
    server = zkvault.Server(tmp_path / "s.db", b"p" * 32)
    c = make_client("c")
    c.connect_local(server)
    c.create(PASSWORD, OPS, MEM)
    server.close()
    with pytest.raises(zkvault.ClosedError, match="Server this client is connected to is closed"):
        c.register("ada@example.org")
    with pytest.raises(zkvault.ClosedError, match="server is closed"):
        server.handle({"op": "ping"})


def test_closing_a_server_stops_its_daemon(tmp_path):
    server = zkvault.Server(tmp_path / "s.db", b"p" * 32)
    daemon = server.serve_http()
    server.close()  # stops the daemon first: no thread uses a freed server
    assert daemon._h is None
    daemon.stop()
    with pytest.raises(zkvault.ClosedError):
        server.serve_http()


def test_package_docstring_example_runs(tmp_path, monkeypatch):
    """The example in `help(zkvault)` runs as written."""
    monkeypatch.chdir(tmp_path)
    code = re.search(r"\n\n((?:    .*\n)+)", zkvault.__doc__).group(1)
    code = "\n".join(line[4:] for line in code.splitlines())
    exec(compile(code, "zkvault.__doc__", "exec"), {"zkvault": zkvault})
    with zkvault.Client("device.db") as c:
        c.unlock("correct horse")
        assert c.vault.list()[0]["title"] == "Groceries"
