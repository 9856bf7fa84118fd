'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { zk, OPS, MEM, PASSWORD, fixture, note } = require('./helpers.js');

test('create, save, reopen, unlock; the store holds no plaintext', (t) => {
  const f = fixture(t);
  const file = path.join(f.dir, 'device.db');
  let c = new zk.Client(file);
  c.create(PASSWORD, OPS, MEM);
  assert.equal(c.unlocked, true);
  const id = c.vault.add(note('Groceries', 'PlaintextBody'));
  c.save();
  const account = c.accountId;
  c.close();
  assert.ok(!fs.readFileSync(file).includes('PlaintextBody'));

  c = new zk.Client(file);
  t.after(() => c.close());
  assert.equal(c.unlocked, false);
  assert.throws(() => c.vault, (err) => err instanceof zk.StateError &&
    err.codeName === 'VAULT_E_LOCKED');
  c.unlock(PASSWORD);
  assert.equal(c.accountId, account);
  assert.equal(c.vault.get(id).fields[0].value, 'PlaintextBody');
});

test('wrong password raises AuthError, also from a worker thread', async (t) => {
  const f = fixture(t);
  const a = f.client('a');
  await a.createAsync(PASSWORD, OPS, MEM);
  a.lock();
  assert.throws(() => a.unlock('nope'), (err) => err instanceof zk.AuthError && err.code === -3);
  // The async call runs on a koffi worker: the detail must come from the handle.
  await assert.rejects(a.unlockAsync('nope'), (err) => {
    assert.ok(err instanceof zk.AuthError);
    assert.equal(err.codeName, 'VAULT_E_AUTH');
    assert.ok(err.detail.length > 0);
    return true;
  });
  await a.unlockAsync(PASSWORD);
  assert.equal(a.unlocked, true);
});

test('register, login and sync between two clients', async (t) => {
  const f = fixture(t);
  const server = f.server();
  const a = f.client('a');
  a.create(PASSWORD, OPS, MEM);
  const first = a.vault.add(note('From A', 'one'));
  a.save();
  a.connectLocal(server);
  a.register('ada@example.org');
  assert.equal(a.revision, 1);

  const b = f.client('b');
  b.connectLocal(server);
  assert.throws(() => b.login('ada@example.org', PASSWORD), zk.StateError); // no Secret Key
  assert.match(a.emergencyKit(), /ada@example\.org/);
  b.setSecretKey(a.secretKey);
  await b.loginAsync('ada@example.org', PASSWORD);
  assert.equal(b.accountId, a.accountId);
  assert.equal(b.vault.get(first).title, 'From A');
  const second = b.vault.add(note('From B', 'two'));
  b.save();
  await b.syncAsync();
  a.sync();
  assert.deepEqual(a.vault.list().map((i) => i.title).sort(), ['From A', 'From B']);
  assert.equal(a.vault.get(second).fields[0].value, 'two');
  assert.equal(a.revision, b.revision);
});

test('login failures and duplicate registration', (t) => {
  const f = fixture(t);
  const server = f.server();
  const a = f.client('a');
  a.create(PASSWORD, OPS, MEM);
  a.connectLocal(server);
  a.register('bob@example.org');
  const b = f.client('b');
  b.connectLocal(server);
  b.setSecretKey(a.secretKey);
  assert.throws(() => b.login('bob@example.org', 'wrong'), zk.AuthError);
  const c = f.client('c');
  c.create(PASSWORD, OPS, MEM);
  c.connectLocal(server);
  assert.throws(() => c.register('bob@example.org'), zk.ExistsError);
});

test('sync over the HTTP daemon on loopback', (t) => {
  const f = fixture(t);
  const httpd = f.server().serveHttp({ bind: '127.0.0.1', port: 0 });
  t.after(() => httpd.stop());
  assert.ok(httpd.port > 0);
  const a = f.client('a');
  a.create(PASSWORD, OPS, MEM);
  a.vault.add(note('over http', 'x'));
  a.save();
  a.connectHttp(httpd.url);
  a.register('http@example.org');
  const b = f.client('b');
  b.connectHttp(httpd.url);
  b.setSecretKey(a.secretKey);
  b.login('http@example.org', PASSWORD);
  assert.deepEqual(b.vault.list().map((i) => i.title), ['over http']);
});

test('raw server requests', (t) => {
  const server = fixture(t).server();
  const request = '5059ff249eb1551b7ce4991f3336205bde44a105a032e747d21bf382e75f7a71';
  const ok = server.handle({ v: 2, op: 'register_start', email: 'x@example.org', request });
  assert.equal(ok.ok, true);
  assert.equal(ok.response.length, 128);
  const bad = server.handle({ v: 1, op: 'register_start', email: 'x@example.org', request });
  assert.equal(bad.ok, false);
  assert.equal(bad.error.code, 'version');
});

test('push conflict is a ConflictError; sync merges', (t) => {
  const f = fixture(t);
  const server = f.server();
  const a = f.client('a');
  a.create(PASSWORD, OPS, MEM);
  a.connectLocal(server);
  a.register('dave@example.org');
  const b = f.client('b');
  b.connectLocal(server);
  b.setSecretKey(a.secretKey);
  b.login('dave@example.org', PASSWORD);
  b.vault.add(note('from b', 'x'));
  b.save();
  b.push();
  a.vault.add(note('from a', 'y'));
  a.save();
  assert.throws(() => a.push(), (err) => err instanceof zk.ConflictError &&
    err instanceof zk.NetworkError && err.codeName === 'VAULT_E_CONFLICT');
  a.sync();
  assert.deepEqual(a.vault.list().map((i) => i.title).sort(), ['from a', 'from b']);
});

test('connectHttp caFile and ZKVAULT_CA_FILE name the CA bundle', (t) => {
  // The TLS round trip with a private CA is tested in C (tests/http/tls.c).
  const f = fixture(t);
  const a = f.client('a');
  const missing = path.join(f.dir, 'no-ca.pem');
  assert.throws(() => a.connectHttp('https://127.0.0.1:9', { caFile: missing }),
    (err) => err instanceof zk.StorageError && /CA file/.test(err.message));
  process.env.ZKVAULT_CA_FILE = missing;
  try {
    assert.throws(() => a.connectHttp('https://127.0.0.1:9'), zk.StorageError);
  } finally {
    delete process.env.ZKVAULT_CA_FILE;
  }
  a.connectHttp('https://127.0.0.1:9');
});

test('signIn after a password change elsewhere; a fork is a ForkError', async (t) => {
  const f = fixture(t);
  const server = f.server();
  const a = f.client('a');
  a.create(PASSWORD, OPS, MEM);
  a.connectLocal(server);
  a.register('erin@example.org');
  const b = f.client('b');
  b.connectLocal(server);
  b.setSecretKey(a.secretKey);
  b.login('erin@example.org', PASSWORD);
  a.changePassword(PASSWORD, 'new password');
  const id = b.vault.add(note('offline', 'kept'));
  b.save();
  b.lock();
  // the old password: unlocked for local use, and told why the server refuses it
  assert.throws(() => b.signIn('erin@example.org', PASSWORD), (err) =>
    err instanceof zk.AuthError && /changed on another device/.test(err.message));
  assert.equal(b.unlocked, true);
  assert.equal(b.vault.get(id).title, 'offline');
  b.lock();
  // the new password, from a worker thread: re-wrapped, and the offline edit syncs
  await b.signInAsync('erin@example.org', 'new password');
  b.sync();
  a.sync();
  assert.equal(a.vault.get(id).title, 'offline');
  assert.equal(a.vault.sameContent(b.vault), true);
  assert.ok(zk.errorFor(-25, 'lost push') instanceof zk.ForkError);
  assert.equal(zk.CODES[-25], 'VAULT_E_FORK');
});
