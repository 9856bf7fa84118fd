"""Clients with a local store, and sync through an embedded server."""

import pytest

import zkvault

from conftest import MEM, OPS, PASSWORD


def note(title, text):
    return {"type": "note", "title": title,
            "fields": [{"name": "text", "value": text, "hidden": False}]}


def test_create_save_reopen_unlock(tmp_path):
    path = tmp_path / "device.db"
    with zkvault.Client(path) as c:
        c.create(PASSWORD, OPS, MEM)
        assert c.unlocked
        item_id = c.vault.add(note("Groceries", "milk, eggs"))
        c.save()
        account = c.account_id
        assert len(account) == 32
    with zkvault.Client(path) as c:
        assert not c.unlocked
        with pytest.raises(zkvault.StateError) as err:
            c.vault
        assert err.value.name == "VAULT_E_LOCKED"
        c.unlock(PASSWORD)
        assert c.account_id == account
        assert c.vault.get(item_id)["fields"][0]["value"] == "milk, eggs"
        c.lock()
        assert not c.unlocked


def test_store_holds_no_plaintext(tmp_path):
    path = tmp_path / "device.db"
    with zkvault.Client(path) as c:
        c.create(PASSWORD, OPS, MEM)
        c.vault.add(note("PlaintextTitle", "PlaintextBody"))
        c.save()
    data = path.read_bytes()
    assert b"PlaintextTitle" not in data and b"PlaintextBody" not in data


def test_wrong_password_raises_auth_error(tmp_path):
    path = tmp_path / "device.db"
    with zkvault.Client(path) as c:
        c.create(PASSWORD, OPS, MEM)
    with zkvault.Client(path) as c:
        with pytest.raises(zkvault.AuthError) as err:
            c.unlock("not the password")
        assert err.value.code == -3
        assert err.value.name == "VAULT_E_AUTH"
        assert "password" in err.value.message or err.value.message
        assert not c.unlocked


def test_create_twice_and_weak_kdf(tmp_path):
    with zkvault.Client(tmp_path / "a.db") as c:
        with pytest.raises(zkvault.IntegrityError) as err:
            c.create(PASSWORD, OPS, MEM - 1)
        assert err.value.name == "VAULT_E_WEAK_KDF"
        c.create(PASSWORD, OPS, MEM)
        with pytest.raises(zkvault.ExistsError):
            c.create(PASSWORD, OPS, MEM)


def test_unlock_empty_store_is_not_found(tmp_path):
    with zkvault.Client(tmp_path / "empty.db") as c:
        with pytest.raises(zkvault.NotFoundError):
            c.unlock(PASSWORD)


def test_register_login_sync_between_two_clients(server, make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    first = a.vault.add(note("From A", "one"))
    a.save()
    a.connect_local(server)
    a.register("ada@example.org")
    assert a.revision == 1

    b = make_client("b")
    b.connect_local(server)
    with pytest.raises(zkvault.StateError):  # a new device needs the Secret Key
        b.login("ada@example.org", PASSWORD)
    kit = a.emergency_kit()
    assert "ada@example.org" in kit and a.account_id in kit
    b.set_secret_key(a.secret_key)
    b.login("ada@example.org", PASSWORD)
    assert b.account_id == a.account_id
    assert b.vault.get(first)["title"] == "From A"

    second = b.vault.add(note("From B", "two"))
    b.save()
    b.sync()
    a.sync()
    titles = sorted(i["title"] for i in a.vault.list())
    assert titles == ["From A", "From B"]
    assert a.vault.get(second)["fields"][0]["value"] == "two"
    assert a.revision == b.revision


def test_login_wrong_password_and_unknown_email(server, make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    a.connect_local(server)
    a.register("bob@example.org")
    b = make_client("b")
    b.connect_local(server)
    b.set_secret_key(a.secret_key)
    with pytest.raises(zkvault.AuthError) as err:
        b.login("bob@example.org", "wrong")
    assert err.value.code == -3
    with pytest.raises(zkvault.AuthError):
        b.login("nobody@example.org", PASSWORD)
    with pytest.raises(zkvault.ExistsError):
        c = make_client("c")
        c.create(PASSWORD, OPS, MEM)
        c.connect_local(server)
        c.register("bob@example.org")


def test_sync_without_server_is_a_state_error(make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    with pytest.raises(zkvault.StateError):
        a.sync()


def test_change_password(server, make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    a.connect_local(server)
    a.register("carol@example.org")
    with pytest.raises(zkvault.AuthError):
        a.change_password("wrong", "new password")
    a.change_password(PASSWORD, "new password")
    b = make_client("b")
    b.connect_local(server)
    b.set_secret_key(a.secret_key)
    with pytest.raises(zkvault.AuthError):
        b.login("carol@example.org", PASSWORD)
    b.login("carol@example.org", "new password")


def test_sign_in_after_a_password_change_elsewhere(server, make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    a.connect_local(server)
    a.register("erin@example.org")
    b = make_client("b")
    b.connect_local(server)
    b.set_secret_key(a.secret_key)
    b.login("erin@example.org", PASSWORD)
    a.change_password(PASSWORD, "new password")
    item = b.vault.add(note("offline", "kept"))
    b.save()
    b.lock()
    # the old password: unlocked for local use, and told why the server refuses it
    with pytest.raises(zkvault.AuthError, match="changed on another device"):
        b.sign_in("erin@example.org", PASSWORD)
    assert b.unlocked and b.vault.get(item)["title"] == "offline"
    b.lock()
    # the new password: the store is re-wrapped and the offline edit syncs
    b.sign_in("erin@example.org", "new password")
    b.sync()
    a.sync()
    assert a.vault.get(item)["title"] == "offline"
    b.lock()
    b.unlock("new password")


def test_fork_is_its_own_error():
    assert zkvault.errors.E_FORK == -25
    err = zkvault.errors.error_for(-25, "lost push")
    assert isinstance(err, zkvault.ForkError) and isinstance(err, zkvault.IntegrityError)
    assert err.name == "VAULT_E_FORK"


def test_raw_server_requests(server):
    request = "5059ff249eb1551b7ce4991f3336205bde44a105a032e747d21bf382e75f7a71"
    resp = server.handle({"v": 2, "op": "register_start", "email": "x@example.org",
                          "request": request})
    assert resp["ok"] is True
    assert len(resp["response"]) == 128
    bad = server.handle({"v": 1, "op": "register_start", "email": "x@example.org",
                         "request": request})
    assert bad["ok"] is False and bad["error"]["code"] == "version"


def test_push_conflict_then_sync_merges(server, make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    a.connect_local(server)
    a.register("dave@example.org")
    b = make_client("b")
    b.connect_local(server)
    b.set_secret_key(a.secret_key)
    b.login("dave@example.org", PASSWORD)
    b.vault.add(note("from b", "x"))
    b.save()
    b.push()
    a.vault.add(note("from a", "y"))
    a.save()
    with pytest.raises(zkvault.ConflictError) as err:
        a.push()
    assert err.value.name == "VAULT_E_CONFLICT"
    assert isinstance(err.value, zkvault.NetworkError)
    a.sync()
    assert sorted(i["title"] for i in a.vault.list()) == ["from a", "from b"]


def test_logout_and_delete_account(server, make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    a.connect_local(server)
    a.register("erin@example.org")
    a.logout()
    with pytest.raises(zkvault.StateError):
        a.pull()
    a.login("erin@example.org", PASSWORD)
    with pytest.raises(zkvault.AuthError):
        a.delete_account("wrong")
    secret_key = a.secret_key
    a.delete_account(PASSWORD)
    b = make_client("b")
    b.connect_local(server)
    b.set_secret_key(secret_key)
    with pytest.raises(zkvault.AuthError):
        b.login("erin@example.org", PASSWORD)
