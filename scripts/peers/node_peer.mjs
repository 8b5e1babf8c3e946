#!/usr/bin/env node
// Node `ws` as a real peer of wsproto (scripts/peers.sh runs it).
//
//   node_peer.mjs server PORT [VARIANT]
//       An echo server on 127.0.0.1:PORT (0: any free port; the first line printed is
//       "listening on PORT"). VARIANT sets its permessage-deflate (see serverOptions).
//       /echo (any path): echoes every message whole (ws does not expose fragments).
//       /fragments: first sends the fragmented messages below (a ping between two fragments of
//       the last), then echoes.
//       /close/CODE: closes at once with CODE and the reason "node server closes with CODE".
//       It pings every client each second with its own payload and closes with 1011 when the
//       pong does not carry that payload or does not come within 20 s.
//
//   node_peer.mjs client URL [--deflate VARIANT] [--expect PARAMS|none] [--server NAME]
//   node_peer.mjs client URL --close-codes
//   node_peer.mjs client BASE_URL --server-cases
//       Runs the scenarios against the echo endpoint URL, printing one line per case ("ok ..." or
//       "FAIL ..."); exits non-zero if any case failed. --expect is the permessage-deflate response
//       the server must give: its parameters separated by ";" ("" for none), or "none" when
//       compression must not be negotiated. --close-codes: one connection per close code, which
//       this client sends. --server-cases: what the server starts (peer_check serve): the
//       fragmented messages of BASE_URL/fragments, and each close code at BASE_URL/close/CODE.
//       --server names the server in the output.
//
// `ws` is loaded from $PEERS_NODE_PREFIX/node_modules (npm install --prefix), or from the usual
// places.

import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const require = createRequire(
  process.env.PEERS_NODE_PREFIX ? path.join(process.env.PEERS_NODE_PREFIX, 'package.json') : import.meta.url
);
const WebSocket = require('ws');
const { WebSocketServer } = WebSocket;
const wsVersion = require('ws/package.json').version;

const PEER = 'node';
const TIMEOUT = 60_000;
const MIB = 1 << 20;
const MAX_PAYLOAD = 64 * MIB;
const SIZES = [0, 1, 125, 126, 127, 65535, 65536, MIB, 16 * MIB];
const CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const VARIANTS = [
  'off',
  'default',
  'server_no_context_takeover',
  'client_no_context_takeover',
  'server_max_window_bits',
  'client_max_window_bits',
  'all'
];

// The permessage-deflate options of a variant. `default` is the library's own (`true`: no
// parameters, messages under 1 KiB uncompressed); the others compress every message.
function deflateOptions(variant) {
  const params = {
    server_no_context_takeover: { serverNoContextTakeover: true },
    client_no_context_takeover: { clientNoContextTakeover: true },
    server_max_window_bits: { serverMaxWindowBits: 10 },
    client_max_window_bits: { clientMaxWindowBits: 12 },
    all: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }
  };
  if (variant === 'off') return false;
  if (variant === 'default') return true;
  return { ...params[variant], threshold: 0 };
}

// ---------------------------------------------------------------------------------------------
// Payloads. Every peer script and peer_check.rs build the same ones.

function pattern(n) {
  // Compressible binary: byte i is i * 31 mod 251.
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31) % 251;
  return b;
}

// 256 characters: 64 of each UTF-8 length, so random text is full of multi-byte sequences.
const CHARS = [];
for (const base of [0x30, 0x400, 0x4e00, 0x1f600]) {
  for (let i = 0; i < 64; i++) CHARS.push(Buffer.from(String.fromCodePoint(base + i)));
}

// The first n bytes of UTF-8 `data` (repeated as needed), cut at a character boundary and padded
// with 'x'.
function cut(data, n) {
  const reps = Math.ceil(n / Math.max(data.length, 1)) + 1;
  const all = n > 0 ? Buffer.concat(Array(reps).fill(data)) : Buffer.alloc(0);
  let end = Math.min(n, all.length);
  while (end > 0 && end < all.length && (all[end] & 0xc0) === 0x80) end--;
  return Buffer.concat([all.subarray(0, end), Buffer.alloc(n - end, 'x')]).toString();
}

let randomBlock = null;
// Text of n bytes of random characters. The block repeats every 1 MB, further than any deflate
// window reaches.
function randomText(n) {
  if (!randomBlock) randomBlock = Buffer.concat(Array.from(randomBytes(400_000), (b) => CHARS[b]));
  return cut(randomBlock, n);
}

let compressibleBlock = null;
// Text of n bytes: JSON-like lines with multi-byte characters.
function compressibleText(n) {
  if (!compressibleBlock || compressibleBlock.length < n) {
    const lines = [];
    let size = 0;
    for (let i = 0; size < Math.max(n, 1); i++) {
      const line = Buffer.from(`{"seq":${i},"user":"ada","text":"κόσμε — compressible 🦀"}\n`);
      lines.push(line);
      size += line.length;
    }
    compressibleBlock = Buffer.concat(lines);
  }
  return cut(compressibleBlock, n);
}

// What /fragments sends, fragment by fragment (the echo of a fragmented message is the whole).
const FRAG_TEXT = Buffer.from('fragmented κόσμε — 🦀 text');
const FRAG_TEXT_CHUNKS = [];
for (let i = 0; i < FRAG_TEXT.length; i += 3) FRAG_TEXT_CHUNKS.push(FRAG_TEXT.subarray(i, i + 3)); // splits characters
const FRAG_BINARY_CHUNKS = [Buffer.alloc(0), Buffer.from([0, 1, 2]), Buffer.alloc(0), Buffer.alloc(200, 0xff), Buffer.alloc(0)];
const FRAG_LARGE = pattern(MIB + 3);
const FRAG_LARGE_CHUNKS = [];
for (let i = 0; i < FRAG_LARGE.length; i += 65536) FRAG_LARGE_CHUNKS.push(FRAG_LARGE.subarray(i, i + 65536));
const MID_PING = Buffer.from('mid-message');

function sendAsync(ws, data, options) {
  return new Promise((resolve, reject) => ws.send(data, options, (err) => (err ? reject(err) : resolve())));
}

// Sends `chunks` as one fragmented message; with `ping`, a ping goes out after the first fragment.
async function sendFragmented(ws, chunks, binary, ping) {
  for (let i = 0; i < chunks.length; i++) {
    await sendAsync(ws, chunks[i], { binary, fin: i === chunks.length - 1 });
    if (i === 0 && ping) ws.ping(ping);
  }
}

// ---------------------------------------------------------------------------------------------
// Server.

function runServer(port, variant) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: deflateOptions(variant), maxPayload: MAX_PAYLOAD });
  wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    keepalive(ws);
    const close = /^\/close\/(\d+)$/.exec(req.url);
    if (close) {
      const code = Number(close[1]);
      ws.close(code, `node server closes with ${code}`);
      return;
    }
    // Echo; messages that arrive while /fragments is sending wait for it.
    let sending = Promise.resolve();
    if (req.url === '/fragments') {
      sending = (async () => {
        await sendFragmented(ws, FRAG_TEXT_CHUNKS, false);
        await sendFragmented(ws, FRAG_BINARY_CHUNKS, true);
        await sendFragmented(ws, FRAG_LARGE_CHUNKS, true, MID_PING);
      })().catch(() => {});
    }
    ws.on('message', (data, isBinary) => {
      sending = sending.then(() => sendAsync(ws, data, { binary: isBinary })).catch(() => {});
    });
  });
}

function keepalive(ws) {
  let n = 0;
  let waiting = null;
  const timer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (waiting) {
      if (Date.now() - waiting.at > 20_000) ws.close(1011, 'keepalive ping not answered');
      return;
    }
    waiting = { payload: Buffer.from(`node keepalive ${n++}`), at: Date.now() };
    ws.ping(waiting.payload);
  }, 1000);
  ws.on('pong', (data) => {
    if (!waiting) return; // an unsolicited pong is allowed
    if (!data.equals(waiting.payload)) ws.close(1011, `pong ${data} does not answer ping ${waiting.payload}`);
    waiting = null;
  });
  ws.on('close', () => clearInterval(timer));
}

// ---------------------------------------------------------------------------------------------
// Client.

class CaseFailed extends Error {}

function check(cond, what) {
  if (!cond) throw new CaseFailed(what);
}

// Wraps a client WebSocket: incoming messages, pongs and the close as one awaitable queue.
class Conn {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    this.error = null;
    this.pings = [];
    ws.on('ping', (data) => this.pings.push(data));
    ws.on('message', (data, isBinary) => this.push({ type: isBinary ? 'binary' : 'text', data }));
    ws.on('pong', (data) => this.push({ type: 'pong', data }));
    ws.on('error', (e) => (this.error = e));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.push({ type: 'close', code, reason: reason.toString() });
    });
  }

  push(event) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(event);
    else this.queue.push(event);
  }

  next(what) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve, reject) => {
      const waiter = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new CaseFailed(`timed out waiting for ${what}`));
      }, TIMEOUT);
      this.waiters.push(waiter);
    });
  }

  // The next message (pongs are kept aside); a close or an error fails the case.
  async message(what) {
    for (;;) {
      const event = await this.next(what);
      if (event.type === 'pong') {
        (this.pongs ||= []).push(event.data);
        continue;
      }
      if (event.type === 'close') {
        const err = this.error ? ` (${this.error.message})` : '';
        throw new CaseFailed(`connection closed with ${event.code} ${JSON.stringify(event.reason)}${err} while waiting for ${what}`);
      }
      return event;
    }
  }

  async pong(what) {
    if (this.pongs && this.pongs.length) return this.pongs.shift();
    const event = await this.next(what);
    if (event.type === 'pong') return event.data;
    throw new CaseFailed(`got ${event.type} while waiting for ${what}`);
  }
}

function describe(kind, buf) {
  return `${kind} of ${buf.length} B`;
}

function same(sentKind, sent, event) {
  if (event.type !== sentKind) return `sent ${describe(sentKind, sent)}, got ${describe(event.type, event.data)}`;
  if (!sent.equals(event.data)) {
    let i = 0;
    while (i < sent.length && i < event.data.length && sent[i] === event.data[i]) i++;
    return `sent ${describe(sentKind, sent)}, got ${describe(event.type, event.data)}, first difference at byte ${i}`;
  }
  return null;
}

function parseExtensions(value) {
  if (value === undefined) return null;
  const parts = value.split(';').map((p) => p.trim());
  return { name: parts[0], params: new Set(parts.slice(1).filter((p) => p).map((p) => p.replace(/[\s"]/g, ''))) };
}

class Client {
  constructor(url, variant, expect, server = 'wsproto server') {
    this.url = url;
    this.variant = variant;
    this.expect = expect;
    this.failures = 0;
    this.where = `${PEER} client → ${server} [deflate=${variant}]`;
  }

  ok(what, extra = '') {
    console.log(`ok   ${this.where}: ${what}${extra}`);
  }

  fail(what, why) {
    this.failures++;
    console.log(`FAIL ${this.where}: ${what}: ${why}`);
  }

  async runCase(what, fn) {
    try {
      const extra = await fn();
      this.ok(what, extra || '');
      return true;
    } catch (e) {
      this.fail(what, e instanceof CaseFailed ? e.message : e.stack || String(e));
      return false;
    }
  }

  connect(url = this.url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: deflateOptions(this.variant), maxPayload: MAX_PAYLOAD });
      const conn = new Conn(ws);
      const timer = setTimeout(() => reject(new Error('handshake timed out')), TIMEOUT);
      ws.on('upgrade', (res) => (conn.header = res.headers['sec-websocket-extensions']));
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(conn);
      });
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  checkHandshake(conn) {
    const header = conn.header;
    const got = parseExtensions(header);
    const inUse = Object.keys(conn.ws._extensions);
    if (this.expect === 'none') {
      check(got === null, `expected no permessage-deflate, the response has ${JSON.stringify(header)}`);
      check(inUse.length === 0, `extensions in use: ${inUse}`);
      return ': permessage-deflate not negotiated, as expected';
    }
    const want = new Set(this.expect.split(';').map((p) => p.replace(/\s/g, '')).filter((p) => p));
    const sorted = (s) => JSON.stringify([...s].sort());
    check(got !== null, `expected permessage-deflate with ${sorted(want)}, the response has none`);
    check(got.name === 'permessage-deflate', `response ${JSON.stringify(header)}`);
    check(sorted(got.params) === sorted(want), `expected parameters ${sorted(want)}, the response has ${JSON.stringify(header)}`);
    check(inUse.length === 1 && inUse[0] === 'permessage-deflate', `extensions in use: ${inUse}`);
    return `: ${header}`;
  }

  // Sends one message, checks its echo, and for large compressible ones checks from the bytes on
  // the wire that both ends really compressed (or did not, without the extension).
  async echoCase(conn, kind, message, compressible) {
    const socket = conn.ws._socket;
    const out0 = socket.bytesWritten;
    const in0 = socket.bytesRead;
    const payload = Buffer.isBuffer(message) ? message : Buffer.from(message);
    await sendAsync(conn.ws, message, { binary: kind === 'binary' });
    const event = await conn.message(`the echo of ${describe(kind, payload)}`);
    const problem = same(kind, payload, event);
    check(problem === null, problem);
    const out = socket.bytesWritten - out0;
    const back = socket.bytesRead - in0;
    const size = payload.length;
    if (compressible && size >= 65536) {
      if (this.expect !== 'none') {
        check(out < size / 2, `sent ${out} bytes on the wire for ${size} compressible bytes: not compressed`);
        check(back < size / 2, `received ${back} bytes on the wire for ${size} compressible bytes: not compressed`);
      } else {
        check(out >= size && back >= size, `${out} bytes out, ${back} in for ${size} bytes without compression`);
      }
    }
    return ` (wire: ${out} B out, ${back} B in)`;
  }

  async messages(conn) {
    for (const size of SIZES) {
      for (const kind of ['text', 'binary']) {
        for (const compressible of [true, false]) {
          let message;
          if (kind === 'text') message = compressible ? compressibleText(size) : randomText(size);
          else message = compressible ? pattern(size) : randomBytes(size);
          const what = `${kind} ${compressible ? 'compressible' : 'random'} ${size} B`;
          if (!(await this.runCase(what, () => this.echoCase(conn, kind, message, compressible)))) return false;
        }
      }
    }
    // Context takeover: the same message three times; with takeover, repeats are tiny.
    const message = compressibleText(4096);
    for (let i = 1; i <= 3; i++) {
      if (!(await this.runCase(`text compressible 4096 B, repeat ${i} of 3`, () => this.echoCase(conn, 'text', message, true)))) {
        return false;
      }
    }
    return true;
  }

  async fragments(conn) {
    const cases = [
      ['fragmented text, split inside characters', FRAG_TEXT_CHUNKS, 'text', null],
      ['fragmented binary with empty fragments, the last one empty', FRAG_BINARY_CHUNKS, 'binary', null],
      [`fragmented binary of ${FRAG_LARGE.length} B in 64 KiB fragments, a ping between fragments`, FRAG_LARGE_CHUNKS, 'binary', MID_PING]
    ];
    for (const [what, chunks, kind, ping] of cases) {
      const ok = await this.runCase(`${what}; the next message is intact`, async () => {
        await sendFragmented(conn.ws, chunks, kind === 'binary', ping);
        const whole = Buffer.concat(chunks);
        const problem = same(kind, whole, await conn.message(`the echo of ${describe(kind, whole)}`));
        check(problem === null, problem);
        if (ping) {
          const pong = await conn.pong('the pong of the ping sent between fragments');
          check(pong.equals(ping), `pong ${JSON.stringify(pong.toString())} for ping ${JSON.stringify(ping.toString())}`);
        }
        // A compressed stream left in a bad state shows in the next message.
        await this.echoCase(conn, 'text', compressibleText(2048), true);
      });
      if (!ok) return false;
    }
    return true;
  }

  async pings(conn) {
    for (const payload of [Buffer.from('node ping 🦀'), Buffer.alloc(0), Buffer.from(Array.from({ length: 125 }, (_, i) => i))]) {
      const ok = await this.runCase(`ping with ${payload.length} B payload gets a pong with it`, async () => {
        conn.ws.ping(payload);
        const pong = await conn.pong('a pong');
        check(pong.equals(payload), `ping ${payload.toString('hex')} got pong ${pong.toString('hex')}`);
      });
      if (!ok) return false;
    }
    return true;
  }

  async closing(conn, code, reason) {
    return this.runCase(`close ${code}`, async () => {
      conn.ws.close(code, reason);
      for (;;) {
        const event = await conn.next(`the reply to close ${code}`);
        if (event.type !== 'close') continue; // echoes and pongs still in flight
        check(conn.ws._closeFrameReceived, `sent close ${code}, the connection ended without a close frame (${event.code})`);
        check(event.code === code, `sent close ${code} ${JSON.stringify(reason)}, the reply has code ${event.code} (${JSON.stringify(event.reason)})`);
        return `: the server's reply has code ${event.code} and reason ${JSON.stringify(event.reason)}`;
      }
    });
  }

  async suite() {
    let conn;
    try {
      conn = await this.connect();
    } catch (e) {
      return this.fail('connect', String(e));
    }
    if (!(await this.runCase('handshake', async () => this.checkHandshake(conn)))) return conn.ws.terminate();
    if ((await this.messages(conn)) && (await this.fragments(conn)) && (await this.pings(conn))) {
      await this.closing(conn, 4000, 'node client says bye');
    }
    conn.ws.terminate();
  }

  async serverCases() {
    const base = this.url.replace(/\/+$/, '');
    let conn;
    try {
      conn = await this.connect(`${base}/fragments`);
    } catch (e) {
      return this.fail('connect to /fragments', String(e));
    }
    const expected = [
      ['text', FRAG_TEXT, FRAG_TEXT_CHUNKS.length, false],
      ['binary', Buffer.concat(FRAG_BINARY_CHUNKS), FRAG_BINARY_CHUNKS.length, false],
      ['binary', FRAG_LARGE, FRAG_LARGE_CHUNKS.length, true]
    ];
    let ok = true;
    for (const [kind, whole, count, ping] of expected) {
      ok = await this.runCase(`receive a ${describe(kind, whole)} sent in ${count} fragments${ping ? ', a ping between them' : ''}`, async () => {
        const problem = same(kind, whole, await conn.message(`${describe(kind, whole)} in fragments`));
        check(problem === null, problem);
        if (ping) check(conn.pings.some((p) => p.equals(MID_PING)), `the ping between fragments did not arrive (pings: ${conn.pings})`);
      });
      if (!ok) break;
    }
    if (ok) {
      ok = await this.runCase('then a message and its echo', () => this.echoCase(conn, 'text', compressibleText(2048), true));
    }
    if (ok) await this.closing(conn, 1000, '');
    conn.ws.terminate();
    for (const code of CLOSE_CODES) {
      const reason = `wsproto server closes with ${code}`;
      await this.runCase(`the server closes with ${code}`, async () => {
        const c = await this.connect(`${base}/close/${code}`);
        try {
          const event = await c.next('the close frame');
          check(event.type === 'close', `got ${event.type} instead of a close frame`);
          check(c.ws._closeFrameReceived, `the connection ended without a close frame (${event.code})`);
          check(event.code === code && event.reason === reason, `expected close ${code} ${JSON.stringify(reason)}, got ${event.code} ${JSON.stringify(event.reason)}`);
          return `: got ${code} ${JSON.stringify(reason)}`;
        } finally {
          c.ws.terminate();
        }
      });
    }
  }

  async closeCodes() {
    for (const code of CLOSE_CODES) {
      let conn;
      try {
        conn = await this.connect();
      } catch (e) {
        this.fail(`close ${code}: connect`, String(e));
        continue;
      }
      const hello = `about to close with ${code}`;
      const ok = await this.runCase(`close ${code}: echo before`, async () => {
        await sendAsync(conn.ws, hello, { binary: false });
        const problem = same('text', Buffer.from(hello), await conn.message('the echo'));
        check(problem === null, problem);
      });
      if (ok) await this.closing(conn, code, `node client closes with ${code}`);
      conn.ws.terminate();
    }
  }
}

async function main() {
  const args = process.argv.slice(2);
  const mode = args.shift();
  if (mode === 'server') {
    const port = Number(args[0]);
    const variant = args[1] || 'off';
    if (!Number.isInteger(port) || !VARIANTS.includes(variant)) throw new Error(`usage: server PORT [${VARIANTS.join('|')}]`);
    return runServer(port, variant);
  }
  if (mode !== 'client' || !args[0]) throw new Error('usage: node_peer.mjs server PORT [VARIANT] | client URL [--deflate V] [--expect E] [--close-codes]');
  const url = args.shift();
  let variant = 'off';
  let expect;
  let closeCodes = false;
  let serverCases = false;
  let server = 'wsproto server';
  while (args.length) {
    const a = args.shift();
    if (a === '--deflate') variant = args.shift();
    else if (a === '--server') server = args.shift();
    else if (a === '--server-cases') serverCases = true;
    else if (a === '--expect') expect = args.shift();
    else if (a === '--close-codes') closeCodes = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}`);
  if (expect === undefined) expect = variant === 'off' ? 'none' : '';
  console.log(`# ${PEER} ws ${wsVersion}`);
  const client = new Client(url, variant, expect, server);
  if (closeCodes) await client.closeCodes();
  else if (serverCases) await client.serverCases();
  else await client.suite();
  process.exit(client.failures ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL ${PEER}: ${e.stack || e}`);
  process.exit(1);
});
