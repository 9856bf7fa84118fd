'use strict';
// The notes example app, driven as a user would, with an embedded server.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { PASSWORD, tempDir } = require('./helpers.js');

const NOTES = path.join(__dirname, '..', 'examples', 'notes.js');

let secretKey = '';

function notes(dir, store, ...args) {
  const r = spawnSync(process.execPath, [NOTES, '--store', path.join(dir, store),
    '--server-db', path.join(dir, 'server.db'), ...args], {
    env: { ...process.env, ZKVAULT_PASSWORD: PASSWORD, ZKVAULT_KDF: 'floor',
      ZKVAULT_SECRET_KEY: secretKey },
    encoding: 'utf8',
    timeout: 300000,
  });
  return r;
}

function ok(dir, store, ...args) {
  const r = notes(dir, store, ...args);
  assert.equal(r.status, 0, `notes ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

test('notes app: create, list, edit, sync between two devices', (t) => {
  const dir = tempDir(t);
  ok(dir, 'laptop.db', 'init');
  ok(dir, 'laptop.db', 'add', 'Groceries', 'milk, eggs');
  ok(dir, 'laptop.db', 'add', 'Ideas', 'zero knowledge');
  assert.equal(ok(dir, 'laptop.db', 'list'), 'Groceries: milk, eggs\nIdeas: zero knowledge\n');
  const kit = ok(dir, 'laptop.db', 'register', 'notes@example.org');
  secretKey = kit.split(/\s+/).find((w) => w.startsWith('ZK1-'));

  assert.match(ok(dir, 'phone.db', 'login', 'notes@example.org'), /2 notes/);
  ok(dir, 'phone.db', 'edit', 'Groceries', 'milk, eggs, bread');
  ok(dir, 'phone.db', 'sync', 'notes@example.org');
  ok(dir, 'laptop.db', 'sync', 'notes@example.org');
  assert.equal(ok(dir, 'laptop.db', 'show', 'Groceries'), 'milk, eggs, bread\n');

  const missing = notes(dir, 'laptop.db', 'show', 'Nope');
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no note titled 'Nope'/);
  assert.ok(!fs.readFileSync(path.join(dir, 'server.db')).includes('milk'));
});
