"""Two clients syncing through the reference HTTP daemon on loopback."""

import pytest

import zkvault

from conftest import MEM, OPS, PASSWORD


def test_sync_over_http(server, make_client):
    with server.serve_http("127.0.0.1", 0) as httpd:
        assert httpd.port > 0
        a = make_client("a")
        a.create(PASSWORD, OPS, MEM)
        a.vault.add({"type": "note", "title": "over http", "fields": []})
        a.save()
        a.connect_http(httpd.url)
        a.register("http@example.org")

        b = make_client("b")
        b.connect_http(httpd.url)
        b.set_secret_key(a.secret_key)
        b.login("http@example.org", PASSWORD)
        assert [i["title"] for i in b.vault.list()] == ["over http"]


def test_unreachable_server_is_a_network_error(make_client):
    a = make_client("a")
    a.create(PASSWORD, OPS, MEM)
    a.connect_http("http://127.0.0.1:9")  # discard port: nothing listens
    try:
        a.register("nobody@example.org")
    except zkvault.NetworkError as err:
        assert err.code == -14
    else:
        raise AssertionError("register reached a server on port 9")


def test_plain_http_to_remote_host_is_refused(make_client):
    a = make_client("a")
    try:
        a.connect_http("http://example.org")
    except zkvault.NetworkError as err:
        assert err.name == "VAULT_E_INSECURE"
    else:
        raise AssertionError("plain http to a remote host was accepted")


def test_ca_file_option_and_environment(make_client, tmp_path, monkeypatch):
    """connect_http(ca_file=...) and $ZKVAULT_CA_FILE name the CA bundle; one
    that cannot be read is a StorageError at connect time (the TLS round trip
    with a private CA is tested in C, tests/http/tls.c)."""
    a = make_client("a")
    missing = tmp_path / "no-ca.pem"
    with pytest.raises(zkvault.StorageError, match="CA file"):
        a.connect_http("https://127.0.0.1:9", ca_file=missing)
    monkeypatch.setenv("ZKVAULT_CA_FILE", str(missing))
    with pytest.raises(zkvault.StorageError, match="CA file"):
        a.connect_http("https://127.0.0.1:9")
    monkeypatch.delenv("ZKVAULT_CA_FILE")
    a.connect_http("https://127.0.0.1:9")
