"""Device linking through the binding: both directions, wrong codes, devices, revoke."""

import pytest

import zkvault

from conftest import MEM, OPS, PASSWORD

DEVICE_KEY = bytes(range(32))


def registered(make_client, server, email="link@example.org"):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    a.vault.add({"type": "note", "title": "shared", "fields": []})
    a.save()
    a.connect_local(server)
    a.register(email)
    return a


def test_offer_join_then_unlock_with_device_key(server, make_client):
    a = registered(make_client, server)
    b = make_client("b")
    b.connect_local(server)
    with a.link_offer() as offer:
        assert offer.payload.startswith("zkvlink:1/o/")
        assert offer.poll() is False  # nobody joined yet
        with b.link_join(offer.payload) as join:
            assert offer.poll() is True
            assert offer.sas == join.sas and len(offer.sas) == 6
            assert join.complete(DEVICE_KEY) is False  # not confirmed yet
            offer.confirm("phone")
            assert join.complete(DEVICE_KEY) is True
    assert [i["title"] for i in b.vault.list()] == ["shared"]
    b.lock()
    with pytest.raises(zkvault.AuthError):
        b.unlock_device(bytes(32))
    b.unlock_device(DEVICE_KEY)
    assert b.unlocked
    a.sync()
    names = [d["name"] for d in a.devices()]
    assert names == ["phone"]


def test_reverse_direction(server, make_client):
    a = registered(make_client, server, "reverse@example.org")
    b = make_client("b")
    b.connect_local(server)
    with b.link_request() as request:
        assert request.payload.startswith("zkvlink:1/n/")
        with a.link_accept(request.payload) as accept:
            assert request.poll() is True
            shown, accepted = request.sas, accept.sas
            assert shown == accepted
            accept.confirm("desktop", shown)
            assert request.complete(DEVICE_KEY, accepted) is True
    assert b.account_id == a.account_id


def test_wrong_code_is_refused(server, make_client):
    a = registered(make_client, server, "sas@example.org")
    b = make_client("b")
    b.connect_local(server)
    with a.link_offer() as offer, b.link_join(offer.payload) as join:
        assert offer.poll() is True
        wrong = "%06d" % ((int(join.sas) + 1) % 1000000)
        with pytest.raises(zkvault.AuthError) as err:
            offer.confirm("phone", wrong)
        assert err.value.name == "VAULT_E_SAS"
        with pytest.raises(zkvault.VaultError):
            join.complete(DEVICE_KEY)


def test_bad_payload_and_abort(server, make_client):
    a = registered(make_client, server, "abort@example.org")
    b = make_client("b")
    b.connect_local(server)
    with pytest.raises(zkvault.InputError) as err:
        b.link_join("zkvlink:1/o/not-a-link")
    assert err.value.message  # the client's detail, naming the problem
    with a.link_offer() as offer, b.link_join(offer.payload) as join:
        assert offer.poll() is True
        offer.abort()
        with pytest.raises(zkvault.VaultError):
            join.complete(DEVICE_KEY)


def test_revoke_linked_device(server, make_client):
    a = registered(make_client, server, "revoke@example.org")
    b = make_client("b")
    b.connect_local(server)
    with a.link_offer() as offer, b.link_join(offer.payload) as join:
        offer.poll()
        offer.confirm("old phone")
        join.complete(DEVICE_KEY)
    a.sync()
    (device,) = a.devices()
    a.revoke(device["id"])
    assert a.devices() == []
    b.lock()
    with pytest.raises(zkvault.AuthError) as err:
        b.unlock_device(DEVICE_KEY)
    assert err.value.name == "VAULT_E_REVOKED"
