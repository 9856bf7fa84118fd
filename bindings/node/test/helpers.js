'use strict';
// Shared test fixtures: floor Argon2id parameters (never less), temp dirs,
// an embedded server.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zk = require('..');

const OPS = 2;
const MEM = 19922944;
const PASSWORD = 'correct horse battery staple';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkvault-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Opens and registers for closing: clients first, then servers.
function fixture(t) {
  const dir = tempDir(t);
  const clients = [];
  let server = null;
  t.after(() => {
    clients.forEach((c) => c.close());
    if (server) server.close();
  });
  return {
    dir,
    client(name) {
      const c = new zk.Client(path.join(dir, `${name}.db`));
      clients.push(c);
      return c;
    },
    server() {
      server = server || new zk.Server(path.join(dir, 'server.db'), Buffer.alloc(32, 0x70));
      return server;
    },
  };
}

function note(title, text, hidden = false) {
  return { type: 'note', title, fields: [{ name: 'text', value: text, hidden }] };
}

module.exports = { zk, OPS, MEM, PASSWORD, tempDir, fixture, note };
