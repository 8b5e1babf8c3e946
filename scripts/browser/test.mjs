// Real-browser test of `wsproto serve --deflate`, run by scripts/browser.sh.
// Env: WSPROTO_URL (http://127.0.0.1:PORT, or https:// for the run over TLS and HTTP/2), BROWSER_CACHE (where playwright-core is installed),
// SCREENSHOT (PNG path); WSPROTO_URL2 (optional: Bob's tab opens this node instead, for the run with
// two nodes joined through Redis) and ROOM (the room both join; the lobby by default). Prints one line per check; exits 1 naming the check that failed.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const base = process.env.WSPROTO_URL;
const base2 = process.env.WSPROTO_URL2 || base;
const room = process.env.ROOM || 'lobby';
const shot = process.env.SCREENSHOT;
// playwright-core lives in a cache dir, not in the repo: resolve it from there.
const { chromium } = createRequire(join(process.env.BROWSER_CACHE, 'noop.js'))('playwright-core');

let current = 'launch'; // the check under way, named in any failure
let passed = 0;

// The whole run must never hang CI: a hard limit over everything, and a short one per action.
const deadline = setTimeout(() => {
  console.error(`FAIL ${current}: timed out (whole run over 90 s)`);
  process.exit(1);
}, 90_000);
const ACTION_MS = 10_000;
async function check(name, fn) {
  current = name;
  const detail = await fn();
  passed++;
  console.log(`ok ${name}${detail ? ` (${detail})` : ''}`);
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

// The chat log as data: [{cls, from, text, online}], from is null for join/leave notices, online
// is the room's count shown beside the line.
const readLog = (page) =>
  page.$$eval('#log .msg', (divs) =>
    divs.map((d) => ({
      cls: d.className,
      from: d.querySelector('.from')?.textContent ?? null,
      text: d.querySelector('.text').textContent,
      online: d.querySelector('.online')?.textContent ?? '',
    })),
  );
const show = (log) => JSON.stringify(log.map((l) => (l.from ? `${l.from} ${l.text}` : l.text) + l.online));

// Opens the chat page of `url` in its own browser context (separate users) and joins `room` as `name`.
async function joinChat(browser, name, url) {
  // The HTTPS run uses a certificate made for the test, which no authority signed.
  const context = await browser.newContext({ viewport: { width: 900, height: 720 }, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_MS);
  // A page error is a bug in the page: fail on it rather than let a check time out.
  page.on('pageerror', (e) => {
    console.error(`FAIL ${current}: page error in ${name}'s tab: ${e.message}`);
    process.exit(1);
  });
  await page.goto(url + '/');
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#join');
  await page.waitForFunction(([r, n]) => document.getElementById('status').textContent.startsWith(`Connected to ${r} as ${n}`), [room, name]);
  return page;
}

// Runs inside the page: the page's own WebSocket against /echo. Returns what it saw, so the
// Node side reports the details on failure.
async function echoInPage(url) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
  // page.evaluate has no timeout of its own: each wait for an echo gets one here.
  const next = () =>
    new Promise((resolve, reject) => {
      setTimeout(() => reject(new Error('no echo within 10 s')), 10_000);
      ws.onmessage = (e) => resolve(e.data);
      ws.onclose = (e) => reject(new Error(`closed with ${e.code} ${e.reason}`));
    });
  const result = { extensions: ws.extensions };

  // Multi-byte UTF-8 (2, 3 and 4-byte sequences), long enough to be worth compressing.
  const text = 'héllo wörld — 你好, мир 🌍🚀 '.repeat(200);
  ws.send(text);
  const gotText = await next();
  result.text = { sent: text.length, got: typeof gotText === 'string' ? gotText.length : typeof gotText, same: gotText === text };

  // 100 KiB: a pseudo-random half (deflate can't shrink it) and a repetitive half (it can).
  const bytes = new Uint8Array(100 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    bytes[i] = i < bytes.length / 2 ? x & 0xff : i % 251;
  }
  ws.send(bytes.buffer);
  const got = await next();
  const back = got instanceof ArrayBuffer ? new Uint8Array(got) : null;
  const firstDiff = back ? bytes.findIndex((b, i) => back[i] !== b) : 0;
  result.binary = { sent: bytes.length, got: back ? back.length : typeof got, same: !!back && back.length === bytes.length && firstDiff === -1, firstDiff };

  // Idle with no application traffic, through several of the server's keepalive pings
  // (--ping-interval 1), which the browser answers by itself: the connection must survive.
  await new Promise((r) => setTimeout(r, 3500));
  ws.send('still there?');
  result.afterIdle = await next();

  ws.close(1000, 'done');
  return result;
}

let failed = false;
let browser;
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // A fresh profile each run (launch() makes a temp user-data-dir). Background networking,
    // updates and sync off: the machine has no network beyond loopback and Chromium would keep
    // retrying. QUIC off: plain TCP only.
    args: ['--headless', '--ignore-certificate-errors', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });

  let alice, bob;
  await check('chat: two tabs join, each shows "Connected as NAME (permessage-deflate...)"', async () => {
    alice = await joinChat(browser, 'Alice', base);
    bob = await joinChat(browser, 'Bob', base2);
    for (const [who, page] of [['Alice', alice], ['Bob', bob]]) {
      const status = await page.textContent('#status');
      expect(/^Connected to [\w.-]+ as \w+ \(.*permessage-deflate.*\)$/.test(status), `${who}'s status is ${JSON.stringify(status)}`);
    }
    return await alice.textContent('#status');
  });

  // Multi-byte text that the machine's default fonts can draw, so the screenshot is readable;
  // emoji and CJK are covered by the echo check (4-byte UTF-8), where nothing is drawn.
  const hello = 'Hello Bob — ça va?';
  const reply = 'Hi Alice! Привет, Γειά σου';
  await check("chat: Alice's message reaches Bob's log under her name", async () => {
    await alice.fill('#message', hello);
    await alice.click('#send');
    const line = bob.locator('#log .msg', { has: bob.locator('.from', { hasText: 'Alice:' }) });
    await line.first().waitFor();
    expect((await line.first().locator('.text').textContent()) === hello, `Bob sees ${await line.first().textContent()}`);
    expect((await alice.inputValue('#message')) === '', 'the message box was not cleared after sending');
  });

  await check("chat: Bob's reply reaches Alice, and both logs are in order", async () => {
    await bob.fill('#message', reply);
    await bob.click('#send');
    await alice.locator('#log .msg .text', { hasText: reply }).waitFor();
    // Bob subscribed before his own join notice, so he sees it; Alice's join came before his.
    // Each line shows the room's count: with two nodes, counted across both.
    const want = {
      alice: ['Alice joined · 1 online', 'Bob joined · 2 online', `Alice: ${hello} · 2 online`, `Bob: ${reply} · 2 online`],
      bob: ['Bob joined · 2 online', `Alice: ${hello} · 2 online`, `Bob: ${reply} · 2 online`],
    };
    await bob.locator('#log .msg .text', { hasText: reply }).waitFor();
    for (const [who, page] of [['alice', alice], ['bob', bob]]) {
      const log = await readLog(page);
      expect(show(log) === JSON.stringify(want[who]), `${who}'s log is ${show(log)}, want ${JSON.stringify(want[who])}`);
      // Own lines are marked "me" (green name), others' are not.
      const me = who === 'alice' ? 'Alice:' : 'Bob:';
      for (const l of log.filter((l) => l.from)) {
        expect(l.cls.includes('me') === (l.from === me), `${who}'s line ${l.from} has class ${JSON.stringify(l.cls)}`);
      }
    }
    return 'Alice: 4 lines, Bob: 3 lines';
  });

  let echo;
  await check('echo: the page WebSocket connects to /echo with permessage-deflate', async () => {
    echo = await alice.evaluate(echoInPage, base.replace(/^http/, 'ws') + '/echo');
    expect(/\bpermessage-deflate\b/.test(echo.extensions), `ws.extensions is ${JSON.stringify(echo.extensions)}`);
    return echo.extensions;
  });
  await check('echo: multi-byte UTF-8 text comes back exactly', async () => {
    expect(echo.text.same, `sent ${echo.text.sent} UTF-16 units, got ${echo.text.got}, not equal`);
    return `${echo.text.sent} chars`;
  });
  await check('echo: 100 KiB binary ArrayBuffer comes back exactly', async () => {
    expect(echo.binary.same, `sent ${echo.binary.sent} bytes, got ${echo.binary.got}, first difference at ${echo.binary.firstDiff}`);
    return `${echo.binary.sent} bytes`;
  });
  await check('echo: still echoes after 3.5 s idle (server pings every 1 s)', async () => {
    expect(echo.afterIdle === 'still there?', `got ${JSON.stringify(echo.afterIdle)}`);
  });

  await check('chat: both tabs still connected after the idle period', async () => {
    for (const [who, page] of [['Alice', alice], ['Bob', bob]]) {
      const status = await page.textContent('#status');
      expect(status.startsWith(`Connected to ${room} as ${who}`), `${who}'s status is ${JSON.stringify(status)}`);
    }
  });

  await check(`screenshot: ${shot}`, async () => {
    mkdirSync(dirname(shot), { recursive: true });
    await alice.screenshot({ path: shot, fullPage: true });
  });
} catch (e) {
  failed = true;
  console.log(`FAIL ${current}: ${e.message.split('\n')[0]}`);
} finally {
  await browser?.close().catch(() => {});
  clearTimeout(deadline);
}
console.log(`browser: ${passed} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
