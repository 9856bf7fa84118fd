#!/usr/bin/env python3
"""A minimal encrypted-notes app on zkvault.

    notes.py --store notes.db init
    notes.py --store notes.db add "Groceries" "milk, eggs"
    notes.py --store notes.db list
    notes.py --store notes.db show Groceries
    notes.py --store notes.db edit Groceries "milk, eggs, bread"
    notes.py --store notes.db rm Groceries
    notes.py --store notes.db --server http://127.0.0.1:8443 register ada@example.org
    notes.py --store phone.db --server http://127.0.0.1:8443 login ada@example.org
    notes.py --store notes.db --server http://127.0.0.1:8443 sync ada@example.org

--server-db PATH uses an embedded server in a SQLite file instead of a vaultd
(its pepper is PATH.pepper, as for the `vault` command-line app). The master
password is asked without echo, or taken from ZKVAULT_PASSWORD for scripts.
Notes are items of type "note" with one "text" field; titles are unique here.
"""

import argparse
import getpass
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import zkvault  # noqa: E402

# Argon2id parameters for new vaults; ZKVAULT_KDF=floor (tests only) uses the
# weakest the library accepts.
KDF = (2, 19922944) if os.environ.get("ZKVAULT_KDF") == "floor" else (0, 0)


def password(confirm=False):
    pw = os.environ.get("ZKVAULT_PASSWORD")
    if pw:
        return pw
    pw = getpass.getpass("Master password: ")
    if confirm and getpass.getpass("Repeat: ") != pw:
        sys.exit("notes: the passwords differ")
    return pw


def find(vault, title):
    for item in vault.list():
        if item["title"] == title:
            return item
    raise zkvault.NotFoundError(-8, f"no note titled {title!r}")


def note(title, text):
    return {"type": "note", "title": title,
            "fields": [{"name": "text", "value": text, "hidden": False}]}


def note_text(item):
    for field in item.get("fields", []):
        if field["name"] == "text":
            return field["value"]
    return ""


def connect(client, args):
    if args.server:
        client.connect_http(args.server)
        return None
    if args.server_db:
        pepper_path = args.server_db + ".pepper"
        if not os.path.exists(pepper_path):
            fd = os.open(pepper_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(32))
        with open(pepper_path, "rb") as f:
            server = zkvault.Server(args.server_db, f.read())
        client.connect_local(server)
        return server
    sys.exit("notes: give --server URL or --server-db PATH")


def run(args):
    pw = password(confirm=args.command == "init")
    with zkvault.Client(args.store) as client:
        if args.command == "init":
            client.create(pw, *KDF)
            print(f"created {args.store}")
            return
        if args.command == "login":
            server = connect(client, args)  # noqa: F841 (kept alive while connected)
            # A new device needs the account's Secret Key (from the Emergency Kit).
            secret_key = os.environ.pop("ZKVAULT_SECRET_KEY", None) or \
                getpass.getpass("Secret Key: ")
            client.set_secret_key(secret_key)
            client.login(args.email, pw)
            print(f"logged in: {len(client.vault)} notes")
            return
        client.unlock(pw)
        vault = client.vault
        if args.command == "list":
            for item in vault.list():
                print(f"{item['title']}: {note_text(item)[:60]}")
        elif args.command == "show":
            print(note_text(find(vault, args.title)))
        elif args.command == "add":
            vault.add(note(args.title, args.text))
            client.save()
        elif args.command == "edit":
            item = find(vault, args.title)
            vault.update(item["id"], note(args.title, args.text))
            client.save()
        elif args.command == "rm":
            vault.delete(find(vault, args.title)["id"])
            client.save()
        elif args.command == "register":
            server = connect(client, args)  # noqa: F841
            client.register(args.email)
            print(f"registered {args.email}")
            print(client.emergency_kit())
        elif args.command == "sync":
            server = connect(client, args)  # noqa: F841
            client.login(args.email, pw)
            client.sync()
            print(f"synced: {len(client.vault)} notes, revision {client.revision}")


def main():
    parser = argparse.ArgumentParser(description="encrypted notes on zkvault")
    parser.add_argument("--store", default="notes.db")
    parser.add_argument("--server", help="vaultd base URL")
    parser.add_argument("--server-db", help="embedded server database")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init")
    sub.add_parser("list")
    for name in ("show", "rm"):
        sub.add_parser(name).add_argument("title")
    for name in ("add", "edit"):
        p = sub.add_parser(name)
        p.add_argument("title")
        p.add_argument("text")
    for name in ("register", "login", "sync"):
        sub.add_parser(name).add_argument("email")
    args = parser.parse_args()
    try:
        run(args)
    except zkvault.VaultError as err:
        sys.exit(f"notes: {err}")


if __name__ == "__main__":
    main()
