"""The in-memory vault, items, blobs and errors, without a client."""

import json
import os

import pytest

import zkvault

from conftest import MEM, OPS


def note(title, text="", hidden=False, tags=()):
    return {"type": "note", "title": title,
            "fields": [{"name": "text", "value": text, "hidden": hidden}], "tags": list(tags)}


def test_version_and_strerror():
    assert zkvault.version() == "0.1.0"
    assert zkvault.strerror(-3) == "wrong password or key, or tampered data"
    assert zkvault.strerror(-999) == "unknown error"


def test_items_roundtrip_unicode():
    with zkvault.Vault() as v:
        item_id = v.add(note("Ünïcode ✓ 日本", "héllo wörld", hidden=True, tags=["tåg"]))
        assert len(item_id) == 32
        got = v.get(item_id)
        assert got["title"] == "Ünïcode ✓ 日本"
        assert got["fields"][0] == {"name": "text", "value": "héllo wörld", "hidden": True}
        assert got["tags"] == ["tåg"]
        assert item_id in v
        assert len(v) == 1
        # bytes input is taken as UTF-8 as well
        other = v.add(json.dumps(note("bytes in")).encode())
        assert v.get(other)["title"] == "bytes in"


def test_update_keeps_hidden_history():
    with zkvault.Vault() as v:
        item_id = v.add({"type": "login", "title": "GitHub",
                         "fields": [{"name": "password", "value": "old", "hidden": True}]})
        v.update(item_id, {"type": "login", "title": "GitHub",
                           "fields": [{"name": "password", "value": "new", "hidden": True}]})
        item = v.get(item_id)
        assert item["fields"][0]["value"] == "new"
        assert [h["value"] for h in item["history"]] == ["old"]
        assert item["rev"] == 2


def test_list_search_delete():
    with zkvault.Vault() as v:
        a = v.add(note("Beta", "visible words"))
        b = v.add(note("alpha", "secret words", hidden=True))
        assert [i["title"] for i in v.list()] == ["alpha", "Beta"]  # by title, ASCII case folded
        assert [i["id"] for i in v.search("VISIBLE")] == [a]
        assert v.search("secret") == []  # hidden values are never searched
        v.delete(b)
        assert [i["id"] for i in v.list()] == [a]
        assert {i["id"] for i in v.list(deleted=True)} == {a, b}
        assert b not in v
        with pytest.raises(zkvault.NotFoundError) as err:
            v.delete(b)
        assert err.value.code == -8
        assert err.value.name == "VAULT_E_NOT_FOUND"


def test_errors_carry_code_name_and_message():
    with zkvault.Vault() as v:
        with pytest.raises(zkvault.InputError) as err:
            v.add("{not json")
        assert err.value.code == -1
        assert err.value.message  # the library's detail
        assert isinstance(err.value, ValueError)
        with pytest.raises(zkvault.NotFoundError) as err:
            v.get("00" * 16)
        assert isinstance(err.value, LookupError)
        with pytest.raises(TypeError):
            v.add(42)


def test_to_json_from_json():
    with zkvault.Vault() as v:
        item_id = v.add(note("kept", "ü"))
        with zkvault.Vault.from_json(v.to_json()) as w:
            assert w.get(item_id)["fields"][0]["value"] == "ü"
    with pytest.raises(zkvault.InputError):
        zkvault.Vault.from_json("[]")


def test_seal_open_and_wrong_key():
    key = bytes(range(32))
    account = "ab" * 16
    with zkvault.Vault() as v:
        item_id = v.add(note("sealed"))
        blob = v.seal(key, account, 3)
        assert b"sealed" not in blob
        with zkvault.Vault.open(key, account, 3, blob) as w:
            assert w.get(item_id)["title"] == "sealed"
        with pytest.raises(zkvault.AuthError) as err:
            zkvault.Vault.open(bytes(32), account, 3, blob)
        assert err.value.code == -3
        with pytest.raises(zkvault.IntegrityError) as err:
            zkvault.Vault.open(key, account, 4, blob)
        assert err.value.name == "VAULT_E_MISMATCH"


def test_kdf_floor():
    zkvault.check_kdf_params(OPS, MEM)
    with pytest.raises(zkvault.IntegrityError) as err:
        zkvault.check_kdf_params(OPS, MEM - 1)
    assert err.value.name == "VAULT_E_WEAK_KDF"
    salt = zkvault.new_salt()
    auth, enc = zkvault.derive_keys("pw", salt, OPS, MEM)
    assert len(auth) == len(enc) == 32 and auth != enc
    assert zkvault.derive_keys(b"pw", salt, OPS, MEM) == (auth, enc)


def test_qr_render_forms():
    payload = "zkvlink:1/o/" + "a0" * 16
    text = zkvault.qr_render(payload, zkvault.QR_TEXT)
    assert "\u2588" in text and text.count("\n") > 10
    assert "<svg" in zkvault.qr_render(payload, zkvault.QR_SVG)
    pgm = zkvault.qr_render(payload, zkvault.QR_PGM)
    assert isinstance(pgm, bytes) and pgm.startswith(b"P5")
    with pytest.raises(zkvault.InputError):
        zkvault.qr_render(payload, 99)
    with pytest.raises(zkvault.InputError) as err:
        zkvault.qr_render("x" * 5000)
    assert err.value.name == "VAULT_E_LIMIT"


def test_trash_restore_expire_and_unicode_search():
    with zkvault.Vault() as v:
        item_id = v.add(note("Ärzte", "Praxis"))
        assert [i["id"] for i in v.search("ärzte")] == [item_id]
        v.trash(item_id)
        assert v.list() == [] and len(v) == 0
        assert [i["id"] for i in v.list(trash=True)] == [item_id]
        assert v.get(item_id)["trashed"] > 0
        with pytest.raises(zkvault.NotFoundError):
            v.trash(item_id)
        v.restore(item_id)
        assert v.get(item_id)["trashed"] == 0
        v.trash(item_id)
        assert v.expire_trash(0) == 1
        assert v.list(trash=True) == []


def test_totp_rfc6238_and_audit():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's SHA-1 seed
    assert zkvault.totp_code(f"otpauth://totp/x?secret={secret}&digits=8", 59) == ("94287082", 1)
    with pytest.raises(zkvault.InputError):
        zkvault.totp_code("not base32!", 59)
    with zkvault.Vault() as v:
        item_id = v.add({"type": "login", "title": "t", "fields": [
            {"name": "otp", "value": secret, "hidden": True, "type": "totp"},
            {"name": "password", "value": "hunter2", "hidden": True}]})
        assert v.totp(item_id, 1111111109) == ("081804", 1)
        report = v.audit(old_days=0)
        assert report["summary"]["weak"] == 1
        assert "hunter2" not in json.dumps(report)


SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "vectors", "interop")


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return f.read()


def test_import_and_export_other_managers_files():
    names = {f["name"] for f in zkvault.interop_formats() if f["import"]}
    assert {"bitwarden-json", "keepass-xml", "chrome-csv", "lastpass-csv"} <= names
    with zkvault.Vault() as v:
        dry = v.import_data("chrome-csv", sample("chrome.csv"), dry_run=True)
        assert dry["imported"] == 5 and dry["duplicates"] == 1 and len(v) == 0
        report = v.import_data("chrome-csv", sample("chrome.csv").decode())
        assert report["imported"] == 5 and len(v) == 5
        with pytest.raises(zkvault.InputError) as err:
            v.import_data("chrome-csv", sample("malformed.csv"))
        assert err.value.name == "VAULT_E_FORMAT" and "line 3" in err.value.message
        with pytest.raises(zkvault.InputError):
            v.import_data("pwsafe", b"")
        assert len(v) == 5
        sealed = v.export(password="export pw", opslimit=OPS, memlimit=MEM)
        assert b"hn-pass" not in sealed
        assert b"hn-pass" in v.export("bitwarden-json")
        with zkvault.Vault() as w:
            with pytest.raises(zkvault.AuthError):
                w.import_data("zkvault-encrypted", sealed, password="wrong")
            assert w.import_data("zkvault-encrypted", sealed, password="export pw")["imported"] == 5
            assert sorted(i["title"] for i in w) == sorted(i["title"] for i in v)
