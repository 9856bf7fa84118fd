'use strict';
// Misuse never reaches the library with a dead pointer: every stale handle
// throws zk.ClosedError and the process survives. One test per path that
// invalidates a borrowed handle.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { zk, OPS, MEM, PASSWORD, fixture, note } = require('./helpers.js');

function registered(t) {
  const f = fixture(t);
  const c = f.client('a');
  c.connectLocal(f.server());
  c.create(PASSWORD, OPS, MEM);
  c.register('ada@example.org');
  return { f, c };
}

const isClosed = (pattern) => (err) => err instanceof zk.ClosedError && pattern.test(err.message);

function assertStale(v) {
  assert.throws(() => v.list(), isClosed(/take client\.vault again/));
  assert.throws(() => v.add(note('T', 'x')), zk.ClosedError); // stays dead
  assert.throws(() => v.size, zk.ClosedError);
}

test('a borrowed vault dies at lock', (t) => {
  const { c } = registered(t);
  const v = c.vault;
  v.add(note('T', 'x'));
  c.lock();
  assertStale(v);
});

test('a borrowed vault dies at close', (t) => {
  const { c } = registered(t);
  const v = c.vault;
  c.close();
  assertStale(v);
});

test('a borrowed vault dies at sync, and a fresh borrow works', (t) => {
  const { c } = registered(t);
  const v = c.vault;
  c.sync();
  assertStale(v);
  assert.equal(c.vault.size, 0);
});

test('a borrowed vault dies at pull', (t) => {
  const { c } = registered(t);
  const v = c.vault;
  c.pull();
  assertStale(v);
});

test('a borrowed vault dies as soon as an async sync is queued', async (t) => {
  const { c } = registered(t);
  const v = c.vault;
  const pending = c.syncAsync();
  assertStale(v); // the worker thread may be replacing the vault right now
  await pending;
});

test('a borrowed vault dies even when the call fails', (t) => {
  const { c } = registered(t);
  const v = c.vault;
  assert.throws(() => c.unlock('wrong password'), zk.AuthError);
  assertStale(v);
});

test('a borrowed vault survives save and the getters', (t) => {
  const { c } = registered(t);
  const v = c.vault;
  const id = v.add(note('T', 'x'));
  c.save();
  assert.ok(c.unlocked && c.revision >= 1 && c.accountId.length === 32);
  assert.equal(v.get(id).title, 'T');
});

test('merge with a stale vault throws', (t) => {
  const { c } = registered(t);
  const v = c.vault;
  c.lock();
  assert.throws(() => zk.Vault.merge(new zk.Vault(), new zk.Vault(), v), zk.ClosedError);
});

test('an owned vault after close', () => {
  const v = new zk.Vault();
  v.close();
  assert.throws(() => v.list(), isClosed(/vault is closed/));
  v.close();
});

test('a client after close', (t) => {
  const f = fixture(t);
  const c = f.client('b');
  c.close();
  for (const call of [() => c.vault, () => c.lock(), () => c.unlock(PASSWORD), () => c.sync()]) {
    assert.throws(call, isClosed(/client is closed/));
  }
  assert.throws(() => c.syncAsync(), zk.ClosedError);
  c.close();
});

test('close while an async call runs waits for it', async (t) => {
  const f = fixture(t);
  const c = f.client('c');
  const pending = c.createAsync(PASSWORD, OPS, MEM); // Argon2id on a worker thread
  c.close();
  await pending; // completed on a live handle; freed afterwards
  assert.throws(() => c.vault, zk.ClosedError);
});

test('a link after its client closed', (t) => {
  const { c } = registered(t);
  const link = c.linkOffer();
  c.close();
  assert.throws(() => link.payload, isClosed(/client is closed/));
  assert.throws(() => link.poll(), zk.ClosedError);
  link.close();
});

test('a client of a closed server', (t) => {
  const f = fixture(t);
  const server = new zk.Server(path.join(f.dir, 's.db'), Buffer.alloc(32, 0x70));
  const c = f.client('d');
  c.connectLocal(server);
  c.create(PASSWORD, OPS, MEM);
  server.close();
  assert.throws(() => c.register('ada@example.org'),
    isClosed(/Server this client is connected to is closed/));
  assert.throws(() => server.handle({ op: 'ping' }), isClosed(/server is closed/));
});

test('closing a server stops its daemon first', (t) => {
  const f = fixture(t);
  const server = new zk.Server(path.join(f.dir, 's.db'), Buffer.alloc(32, 0x70));
  const daemon = server.serveHttp();
  server.close();
  assert.equal(daemon._h, null);
  daemon.stop();
  assert.throws(() => server.serveHttp(), zk.ClosedError);
});
