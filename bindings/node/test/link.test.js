'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { zk, OPS, MEM, PASSWORD, fixture, note } = require('./helpers.js');

const DEVICE_KEY = Buffer.from([...Array(32).keys()]);

function registered(f, email) {
  const a = f.client('a');
  a.create(PASSWORD, OPS, MEM);
  a.vault.add(note('shared', 'x'));
  a.save();
  a.connectLocal(f.server());
  a.register(email);
  return a;
}

test('offer / join, then unlock with the device key', (t) => {
  const f = fixture(t);
  const a = registered(f, 'link@example.org');
  const b = f.client('b');
  b.connectLocal(f.server());
  const offer = a.linkOffer();
  assert.match(offer.payload, /^zkvlink:1\/o\//);
  assert.equal(offer.poll(), false);
  const join = b.linkJoin(offer.payload);
  assert.equal(offer.poll(), true);
  const [sasA, sasB] = [offer.sas, join.sas];
  assert.equal(sasA, sasB);
  assert.equal(join.complete(DEVICE_KEY, sasA), false);
  offer.confirm('phone', sasB);
  assert.equal(join.complete(DEVICE_KEY, sasA), true);
  offer.close();
  join.close();
  assert.deepEqual(b.vault.list().map((i) => i.title), ['shared']);
  b.lock();
  assert.throws(() => b.unlockDevice(Buffer.alloc(32)), zk.AuthError);
  b.unlockDevice(DEVICE_KEY);
  a.sync();
  assert.deepEqual(a.devices().map((d) => d.name), ['phone']);
});

test('reverse direction: request / accept', (t) => {
  const f = fixture(t);
  const a = registered(f, 'reverse@example.org');
  const b = f.client('b');
  b.connectLocal(f.server());
  const request = b.linkRequest();
  assert.match(request.payload, /^zkvlink:1\/n\//);
  const accept = a.linkAccept(request.payload);
  assert.equal(request.poll(), true);
  assert.equal(request.sas, accept.sas);
  accept.confirm('desktop');
  assert.equal(request.complete(DEVICE_KEY), true);
  request.close();
  accept.close();
  assert.equal(b.accountId, a.accountId);
});

test('bad payload carries the client message; revoke locks a device out', (t) => {
  const f = fixture(t);
  const a = registered(f, 'revoke@example.org');
  const b = f.client('b');
  b.connectLocal(f.server());
  assert.throws(() => b.linkJoin('zkvlink:1/o/nope'),
    (err) => err instanceof zk.InputError && err.detail.length > 0);
  const offer = a.linkOffer();
  const join = b.linkJoin(offer.payload);
  offer.poll();
  offer.confirm('old phone');
  join.complete(DEVICE_KEY);
  offer.close();
  join.close();
  a.sync();
  const [device] = a.devices();
  a.revoke(device.id);
  assert.deepEqual(a.devices(), []);
  b.lock();
  assert.throws(() => b.unlockDevice(DEVICE_KEY),
    (err) => err instanceof zk.AuthError && err.codeName === 'VAULT_E_REVOKED');
});
