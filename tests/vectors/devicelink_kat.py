#!/usr/bin/env python3
"""Independent reference for the device-link key schedule (docs/devicelink.md).

Recomputes tests/vectors/devicelink_kat.json from its fixed inputs with Python's
hashlib/hmac and the `cryptography` package (X25519, ChaCha20-Poly1305), not with
libsodium, so the committed vectors check the C code against a second
implementation. HChaCha20 (for XChaCha20) is written out below from RFC draft
irtf-cfrg-xchacha. Usage: python3 devicelink_kat.py > devicelink_kat.json
"""
import hashlib, hmac, json, struct, base64
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

def seq(base, n): return bytes((base + i) & 0xff for i in range(n))
def raw(pub): return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def kdf(master, sub_id, n, ctx=b"zkvlink1"):  # crypto_kdf_derive_from_key
    return hashlib.blake2b(b"", digest_size=n, key=master,
                           salt=struct.pack("<Q", sub_id) + bytes(8), person=ctx + bytes(8)).digest()
def hmac256(key, msg): return hmac.new(key, msg, hashlib.sha512).digest()[:32]

def hchacha20(key, nonce16):
    def rotl(v, c): return ((v << c) & 0xffffffff) | (v >> (32 - c))
    def qr(s, a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) + \
        list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        qr(s, 0, 4, 8, 12); qr(s, 1, 5, 9, 13); qr(s, 2, 6, 10, 14); qr(s, 3, 7, 11, 15)
        qr(s, 0, 5, 10, 15); qr(s, 1, 6, 11, 12); qr(s, 2, 7, 8, 13); qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))

def xchacha_seal(key, nonce24, pt, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(bytes(4) + nonce24[16:], pt, ad)

def sas(words):
    m = 10**6
    limit = 2**64 - (2**64 % m)
    v = 0
    for i in range(8):
        v = int.from_bytes(words[8*i:8*i+8], "big")
        if v < limit: break
    return "%06d" % (v % m)

role = b"o"
link_id = seq(0xa0, 16)
shower_sk, scanner_sk, secret = seq(0x01, 32), seq(0x41, 32), seq(0x81, 32)
nonce = seq(0xc0, 24)
shower_pk = raw(X25519PrivateKey.from_private_bytes(shower_sk).public_key())
scanner_pk = raw(X25519PrivateKey.from_private_bytes(scanner_sk).public_key())
dh = X25519PrivateKey.from_private_bytes(shower_sk).exchange(X25519PublicKey.from_public_bytes(scanner_pk))

post_mac = hmac256(kdf(secret, 1, 32), b"zkvlink1/post" + role + link_id + scanner_pk + shower_pk)
prk = hashlib.blake2b(b"zkvlink1/keys" + role + link_id + shower_pk + scanner_pk + dh,
                      digest_size=32, key=secret).digest()
session, confirm = kdf(prk, 2, 32), kdf(prk, 3, 32)
code = sas(kdf(prk, 4, 64))
confirm_tag = hmac256(confirm, b"zkvlink1/confirm" + role + link_id + shower_pk + scanner_pk)
plaintext = b'{"hello":"zkvault device link"}'
ad = b"zkvlink1/envelope" + bytes([1]) + role + link_id + shower_pk + scanner_pk
envelope = bytes([1]) + nonce + xchacha_seal(session, nonce, plaintext, ad)
token = seq(0xe0, 32)
token_hash = hashlib.blake2b(b"zkvlink1/token" + token, digest_size=32).digest()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
uri = "zkvlink:1/o/%s/%s/%s" % (link_id.hex(), b64(shower_pk), b64(secret))

print(json.dumps({
    "role": "o", "link_id": link_id.hex(), "shower_sk": shower_sk.hex(),
    "scanner_sk": scanner_sk.hex(), "secret": secret.hex(), "nonce": nonce.hex(),
    "plaintext": plaintext.decode(),
    "shower_pk": shower_pk.hex(), "scanner_pk": scanner_pk.hex(), "uri": uri,
    "post_mac": post_mac.hex(), "session": session.hex(), "confirm": confirm.hex(),
    "sas": code, "confirm_tag": confirm_tag.hex(), "envelope": envelope.hex(),
    "token": token.hex(), "token_hash": token_hash.hex(),
}, indent=1))
