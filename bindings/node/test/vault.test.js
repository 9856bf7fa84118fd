'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { zk, OPS, MEM, note } = require('./helpers.js');

test('version and status names', () => {
  assert.equal(zk.version(), '0.1.0');
  assert.equal(zk.strerror(-3), 'wrong password or key, or tampered data');
});

test('items round-trip UTF-8', () => {
  const v = new zk.Vault();
  try {
    const id = v.add({ ...note('Ünïcode ✓ 日本', 'héllo', true), tags: ['tåg'] });
    assert.match(id, /^[0-9a-f]{32}$/);
    const item = v.get(id);
    assert.equal(item.title, 'Ünïcode ✓ 日本');
    assert.deepEqual(item.fields, [{ name: 'text', value: 'héllo', hidden: true }]);
    assert.deepEqual(item.tags, ['tåg']);
    assert.equal(v.size, 1);
    assert.ok(v.has(id));
  } finally {
    v.close();
  }
});

test('update keeps the old hidden value in history', () => {
  const v = new zk.Vault();
  const id = v.add({ type: 'login', title: 'GitHub',
    fields: [{ name: 'password', value: 'old', hidden: true }] });
  v.update(id, { type: 'login', title: 'GitHub',
    fields: [{ name: 'password', value: 'new', hidden: true }] });
  const item = v.get(id);
  assert.equal(item.fields[0].value, 'new');
  assert.deepEqual(item.history.map((h) => h.value), ['old']);
  v.close();
});

test('search skips hidden values; delete leaves a tombstone', () => {
  const v = new zk.Vault();
  const a = v.add(note('Beta', 'visible words'));
  const b = v.add(note('alpha', 'secret words', true));
  assert.deepEqual(v.search('VISIBLE').map((i) => i.id), [a]);
  assert.deepEqual(v.search('secret'), []);
  v.delete(b);
  assert.deepEqual(v.list().map((i) => i.id), [a]);
  assert.deepEqual(new Set(v.list({ deleted: true }).map((i) => i.id)), new Set([a, b]));
  assert.throws(() => v.delete(b), (err) => err instanceof zk.NotFoundError && err.code === -8 &&
    err.codeName === 'VAULT_E_NOT_FOUND');
  v.close();
});

test('errors carry code, name and the library detail', () => {
  const v = new zk.Vault();
  assert.throws(() => v.add('{not json'), (err) => {
    assert.ok(err instanceof zk.InputError);
    assert.ok(err instanceof zk.VaultError);
    assert.equal(err.code, -1);
    assert.equal(err.name, 'InputError');
    assert.ok(err.detail.length > 0);
    return true;
  });
  assert.throws(() => v.add(42), TypeError);
  v.close();
});

test('toJson / fromJson and sealed blobs', () => {
  const key = Buffer.from([...Array(32).keys()]);
  const account = 'ab'.repeat(16);
  const v = new zk.Vault();
  const id = v.add(note('sealed', 'ü'));
  const w = zk.Vault.fromJson(v.toJson());
  assert.equal(w.get(id).fields[0].value, 'ü');
  const blob = v.seal(key, account, 3);
  assert.ok(!blob.includes('sealed'));
  const opened = zk.Vault.open(key, account, 3, blob);
  assert.equal(opened.get(id).title, 'sealed');
  assert.throws(() => zk.Vault.open(Buffer.alloc(32), account, 3, blob),
    (err) => err instanceof zk.AuthError && err.code === -3);
  assert.throws(() => zk.Vault.open(key, account, 4, blob),
    (err) => err instanceof zk.IntegrityError && err.codeName === 'VAULT_E_MISMATCH');
  [v, w, opened].forEach((x) => x.close());
});

test('KDF floor', () => {
  zk.checkKdfParams(OPS, MEM);
  assert.throws(() => zk.checkKdfParams(OPS, MEM - 1),
    (err) => err instanceof zk.IntegrityError && err.codeName === 'VAULT_E_WEAK_KDF');
  const salt = zk.newSalt();
  const a = zk.deriveKeys('pw', salt, OPS, MEM);
  const b = zk.deriveKeys(Buffer.from('pw'), salt, OPS, MEM);
  assert.equal(a.authKey.length, 32);
  assert.ok(!a.authKey.equals(a.encKey));
  assert.ok(a.authKey.equals(b.authKey) && a.encKey.equals(b.encKey));
});

test('QR rendering: terminal text, SVG, PGM', () => {
  const payload = `zkvlink:1/o/${'a0'.repeat(16)}`;
  const text = zk.qrRender(payload, zk.QR_TEXT);
  assert.ok(text.includes('\u2588') && text.split('\n').length > 10);
  assert.ok(zk.qrRender(payload, zk.QR_SVG).includes('<svg'));
  const pgm = zk.qrRender(payload, zk.QR_PGM);
  assert.ok(Buffer.isBuffer(pgm) && pgm.subarray(0, 2).toString() === 'P5');
  assert.throws(() => zk.qrRender(payload, 99), zk.InputError);
  assert.throws(() => zk.qrRender('x'.repeat(5000)),
    (err) => err instanceof zk.InputError && err.codeName === 'VAULT_E_LIMIT');
});

test('trash, restore, expire and Unicode search', () => {
  const v = new zk.Vault();
  try {
    const id = v.add(note('Ärzte', 'Praxis'));
    assert.deepEqual(v.search('ärzte').map((i) => i.id), [id]);
    v.trash(id);
    assert.equal(v.size, 0);
    assert.deepEqual(v.list({ trash: true }).map((i) => i.id), [id]);
    assert.throws(() => v.trash(id), zk.NotFoundError);
    v.restore(id);
    assert.equal(v.get(id).trashed, 0);
    v.trash(id);
    assert.equal(v.expireTrash(0), 1);
  } finally {
    v.close();
  }
});

test('TOTP (RFC 6238) and audit', () => {
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  assert.deepEqual(zk.totpCode(`otpauth://totp/x?secret=${secret}&digits=8`, 59),
    { code: '94287082', secondsLeft: 1 });
  const v = new zk.Vault();
  try {
    const id = v.add({ type: 'login', title: 't', fields: [
      { name: 'otp', value: secret, hidden: true, type: 'totp' },
      { name: 'password', value: 'hunter2', hidden: true }] });
    assert.deepEqual(v.totp(id, 1111111109), { code: '081804', secondsLeft: 1 });
    const report = v.audit({ oldDays: 0 });
    assert.equal(report.summary.weak, 1);
    assert.ok(!JSON.stringify(report).includes('hunter2'));
  } finally {
    v.close();
  }
});

test('import other managers\' files, export encrypted and plaintext', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const samples = path.join(__dirname, '..', '..', '..', 'tests', 'vectors', 'interop');
  const sample = (name) => fs.readFileSync(path.join(samples, name));
  const names = zk.interopFormats().filter((f) => f.import).map((f) => f.name);
  assert.ok(names.includes('bitwarden-json') && names.includes('keepass-xml'));
  const v = new zk.Vault();
  const w = new zk.Vault();
  try {
    const dry = v.importData('chrome-csv', sample('chrome.csv'), { dryRun: true });
    assert.equal(dry.imported, 5);
    assert.equal(v.size, 0);
    assert.equal(v.importData('chrome-csv', sample('chrome.csv').toString()).imported, 5);
    assert.throws(() => v.importData('chrome-csv', sample('malformed.csv')),
      (e) => e instanceof zk.InputError && e.codeName === 'VAULT_E_FORMAT' && /line 3/.test(e.detail));
    assert.equal(v.size, 5);
    const sealed = v.export('zkvault-encrypted', { password: 'export pw', opslimit: OPS, memlimit: MEM });
    assert.ok(!sealed.includes('hn-pass'));
    assert.ok(v.export('csv').includes('hn-pass'));
    assert.throws(() => w.importData('zkvault-encrypted', sealed, { password: 'wrong' }), zk.AuthError);
    assert.equal(w.importData('zkvault-encrypted', sealed, { password: 'export pw' }).imported, 5);
    assert.equal(w.size, 5);
  } finally {
    v.close();
    w.close();
  }
});
