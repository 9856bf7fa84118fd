#!/usr/bin/env python3
"""Recomputes the zkvault known-answer vectors from docs/format.md alone.

Independent of libvault and libsodium: BLAKE2b from hashlib, zlib from Python,
XSalsa20-Poly1305 written here from its specification. The Argon2id vector is
checked too when the reference library (libargon2.so.1) is installed.
Usage: python3 tests/vectors/check_vectors.py tests/vectors
"""
import hashlib, struct, zlib, sys
def rotl(v,c): return ((v<<c)&0xffffffff)|(v>>(32-c))
def qr(x,a,b,c,d):
    x[b]^=rotl((x[a]+x[d])&0xffffffff,7); x[c]^=rotl((x[b]+x[a])&0xffffffff,9)
    x[d]^=rotl((x[c]+x[b])&0xffffffff,13); x[a]^=rotl((x[d]+x[c])&0xffffffff,18)
def rounds(x):
    for _ in range(10):
        qr(x,0,4,8,12);qr(x,5,9,13,1);qr(x,10,14,2,6);qr(x,15,3,7,11)
        qr(x,0,1,2,3);qr(x,5,6,7,4);qr(x,10,11,8,9);qr(x,15,12,13,14)
C=struct.unpack('<4I',b"expand 32-byte k")
def state(k,n16):
    k=struct.unpack('<8I',k); n=struct.unpack('<4I',n16)
    return [C[0],k[0],k[1],k[2],k[3],C[1],n[0],n[1],n[2],n[3],C[2],k[4],k[5],k[6],k[7],C[3]]
def hsalsa(k,n16):
    x=state(k,n16); rounds(x); return struct.pack('<8I',*[x[i] for i in (0,5,10,15,6,7,8,9)])
def salsa_stream(k,n8,length):
    out=b''; ctr=0
    while len(out)<length:
        s=state(k,n8+struct.pack('<Q',ctr)); x=list(s); rounds(x)
        out+=struct.pack('<16I',*[(x[i]+s[i])&0xffffffff for i in range(16)]); ctr+=1
    return out[:length]
def poly1305(key,msg):
    r=int.from_bytes(key[:16],'little')&0x0ffffffc0ffffffc0ffffffc0fffffff; s=int.from_bytes(key[16:],'little')
    p=(1<<130)-5; a=0
    for i in range(0,len(msg),16):
        blk=msg[i:i+16]; a=(a+int.from_bytes(blk+b'\x01','little'))*r%p
    return ((a+s)&((1<<128)-1)).to_bytes(16,'little')
def secretbox(m,n,k):
    sk=hsalsa(k,n[:16]); ks=salsa_stream(sk,n[16:],32+len(m))
    c=bytes(a^b for a,b in zip(m,ks[32:])); return poly1305(ks[:32],c)+c
def subkey(k,i,ctx): return hashlib.blake2b(b'',digest_size=32,key=k,salt=struct.pack('<Q',i)+bytes(8),person=ctx+bytes(8)).digest()
def padme(L):
    if L<=512: return 512
    E=L.bit_length()-1; S=E.bit_length(); mask=(1<<(E-S))-1; return (L+mask)&~mask
def load(path):
    d={}
    for line in open(path):
        line=line.strip()
        if not line or line.startswith('#'): continue
        k,_,v=line.partition(' = ') if ' = ' in line else (line.rstrip(' ='),None,'')
        d[k.strip()]=v.strip()
    return d
ok=True
def chain_record(rev, text):
    # count (1 byte), 7 reserved zero bytes, then (revision u64 BE, hash 32) newest first
    entries = [e.split(':') for e in text.split(',')] if text else []
    rec = bytes([len(entries)]) + bytes(7)
    for i, (r, h) in enumerate(entries):
        assert int(r) == rev - 1 - i, 'ancestors must be revision-1, revision-2, ...'
        rec += struct.pack('>Q', int(r)) + bytes.fromhex(h)
    return rec
for name in ('blob-v2-empty','blob-v2-json','blob-v2-padme','blob-v2-chain'):
    d=load(f'{sys.argv[1]}/{name}.txt'); key=bytes.fromhex(d['key']); nonce=bytes.fromhex(d['nonce'])
    pt=bytes.fromhex(d['plaintext']); rev=int(d['revision'])
    hdr=b'ZKVB'+bytes([2,1,0,0])+bytes.fromhex(d['account_id'])+struct.pack('>Q',rev)
    z=zlib.compress(pt,1); inner=hdr+struct.pack('>II',len(z),len(pt))+chain_record(rev,d.get('ancestors',''))+z
    inner+=bytes(padme(len(inner))-len(inner))
    ke=subkey(key,1,b'zkvblob1'); kc=subkey(key,2,b'zkvblob1')
    tag=hashlib.blake2b(nonce+hdr,digest_size=32,key=kc).digest()
    blob=hdr+nonce+tag+secretbox(inner,nonce,ke)
    if len(sys.argv) > 2 and sys.argv[2] == '--print':
        print(name, blob.hex(), hashlib.blake2b(blob,digest_size=32).hexdigest())
    same=blob.hex()==d['blob'] and ('hash' not in d or hashlib.blake2b(blob,digest_size=32).hexdigest()==d['hash'])
    ok&=same; print(name,len(blob),'OK' if same else 'DIFFERENT')
d=load(f'{sys.argv[1]}/protected-key-v1.txt'); kek=bytes.fromhex(d['kek']); n=bytes.fromhex(d['nonce']); k=bytes.fromhex(d['key'])
h=b'ZKVK'+bytes([1,0,0,0]); tag=hashlib.blake2b(n+h,digest_size=32,key=subkey(kek,2,b'zkvwrap1')).digest()
w=h+n+tag+secretbox(k,n,subkey(kek,1,b'zkvwrap1')); same=w.hex()==d['protected']; ok&=same; print('protected-key-v1',len(w),'OK' if same else 'DIFFERENT')
try:
    import ctypes
    argon2 = ctypes.CDLL("libargon2.so.1")
    pw, out = b"correct horse battery staple", ctypes.create_string_buffer(64)
    argon2.argon2id_hash_raw(2, 19 * 1024, 1, pw, len(pw), bytes(range(16)), 16, out, 64)
    same = out.raw.hex() == ("c948a1912c7c128e9156e3a94722a5366e6c62f33a082f77f46eb57bc1bad034"
                             "420feff9f780f2b13b889f7a6dcf263da5a4310898aa51ff4de932e6a0adcd11")
    ok &= same
    print('argon2id', 'OK' if same else 'DIFFERENT')
except OSError:
    print('argon2id skipped (libargon2.so.1 not installed)')
sys.exit(0 if ok else 1)
