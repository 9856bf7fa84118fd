#!/usr/bin/env node
'use strict';
// A minimal encrypted-notes app on zkvault (Node). Same commands as the
// Python example:
//   notes.js --store notes.db init | list | show TITLE | add TITLE TEXT |
//            edit TITLE TEXT | rm TITLE | register EMAIL | login EMAIL | sync EMAIL
//   --server URL (a vaultd) or --server-db PATH (embedded server; pepper in
//   PATH.pepper). The master password comes from ZKVAULT_PASSWORD, or is asked
//   on the terminal (echo off). ZKVAULT_KDF=floor uses the weakest Argon2id
//   parameters the library accepts (tests only).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zk = require(path.join(__dirname, '..'));

const KDF = process.env.ZKVAULT_KDF === 'floor' ? [2, 19922944] : [0, 0];

function parseArgs(argv) {
  const opts = { store: 'notes.db', server: null, serverDb: null, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--store') opts.store = argv[++i];
    else if (argv[i] === '--server') opts.server = argv[++i];
    else if (argv[i] === '--server-db') opts.serverDb = argv[++i];
    else opts.rest.push(argv[i]);
  }
  return opts;
}

// Reads a password from the terminal without echo.
function askPassword(prompt) {
  return new Promise((resolve, reject) => {
    if (!process.stdin.isTTY) {
      reject(new Error('no terminal: set ZKVAULT_PASSWORD'));
      return;
    }
    process.stdout.write(prompt);
    process.stdin.setRawMode(true);
    let value = '';
    const onData = (chunk) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          process.stdin.setRawMode(false);
          process.stdin.off('data', onData);
          process.stdin.pause();
          process.stdout.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
      }
    };
    process.stdin.on('data', onData);
    process.stdin.resume();
  });
}

function connect(client, opts) {
  if (opts.server) {
    client.connectHttp(opts.server);
    return null;
  }
  if (opts.serverDb) {
    const pepperPath = `${opts.serverDb}.pepper`;
    if (!fs.existsSync(pepperPath)) fs.writeFileSync(pepperPath, crypto.randomBytes(32), { mode: 0o600, flag: 'wx' });
    const server = new zk.Server(opts.serverDb, fs.readFileSync(pepperPath));
    client.connectLocal(server);
    return server;
  }
  throw new Error('give --server URL or --server-db PATH');
}

function find(vault, title) {
  const item = vault.list().find((i) => i.title === title);
  if (!item) throw new zk.NotFoundError(-8, `no note titled '${title}'`, 'not found');
  return item;
}

function noteText(item) {
  const field = (item.fields || []).find((f) => f.name === 'text');
  return field ? field.value : '';
}

async function run(opts) {
  const [command, ...args] = opts.rest;
  const password = process.env.ZKVAULT_PASSWORD || await askPassword('Master password: ');
  const client = new zk.Client(opts.store);
  let server = null;
  try {
    if (command === 'init') {
      await client.createAsync(password, ...KDF);
      console.log(`created ${opts.store}`);
      return;
    }
    if (command === 'login') {
      server = connect(client, opts);
      // A new device needs the account's Secret Key (from the Emergency Kit).
      client.setSecretKey(process.env.ZKVAULT_SECRET_KEY || await askPassword('Secret Key: '));
      delete process.env.ZKVAULT_SECRET_KEY;
      await client.loginAsync(args[0], password);
      console.log(`logged in: ${client.vault.size} notes`);
      return;
    }
    await client.unlockAsync(password);
    const vault = client.vault;
    switch (command) {
      case 'list':
        for (const item of vault.list()) console.log(`${item.title}: ${noteText(item).slice(0, 60)}`);
        break;
      case 'show':
        console.log(noteText(find(vault, args[0])));
        break;
      case 'add':
        vault.add({ type: 'note', title: args[0], fields: [{ name: 'text', value: args[1], hidden: false }] });
        client.save();
        break;
      case 'edit':
        vault.update(find(vault, args[0]).id,
          { type: 'note', title: args[0], fields: [{ name: 'text', value: args[1], hidden: false }] });
        client.save();
        break;
      case 'rm':
        vault.delete(find(vault, args[0]).id);
        client.save();
        break;
      case 'register':
        server = connect(client, opts);
        await client.registerAsync(args[0]);
        console.log(`registered ${args[0]}`);
        console.log(client.emergencyKit());
        break;
      case 'sync':
        server = connect(client, opts);
        await client.loginAsync(args[0], password);
        await client.syncAsync();
        console.log(`synced: ${client.vault.size} notes, revision ${client.revision}`);
        break;
      default:
        throw new Error(`unknown command '${command}'`);
    }
  } finally {
    client.close();
    if (server) server.close();
  }
}

run(parseArgs(process.argv.slice(2))).catch((err) => {
  console.error(`notes: ${err.message}`);
  process.exit(1);
});
