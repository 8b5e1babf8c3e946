#!/usr/bin/env python3
"""Python `websockets` as a real peer of wsproto (scripts/peers.sh runs it).

  python_peer.py server PORT [VARIANT]
      An echo server on 127.0.0.1:PORT (0: any free port; the first line printed is
      "listening on PORT"). VARIANT sets its permessage-deflate (see SERVER_VARIANTS).
      /echo (any path): echoes every message with the fragmentation it came with.
      /fragments: first sends FRAGMENTED (with a ping between two fragments), then echoes.
      /close/CODE: closes at once with CODE and the reason "python server closes with CODE".
      It pings every client each second and fails the connection (1011) without an answer.

  python_peer.py client URL [--deflate VARIANT] [--expect PARAMS|none] [--server NAME]
  python_peer.py client URL --close-codes
  python_peer.py client BASE_URL --server-cases
      Runs the scenarios against the echo endpoint URL and prints one line per case ("ok ..."
      or "FAIL ..."); exits non-zero if any case failed. --expect is the permessage-deflate
      response the server must give: its parameters separated by ";" ("" for none), or "none"
      when compression must not be negotiated. --close-codes: one connection per close code,
      which this client sends. --server-cases: what the server starts (peer_check serve):
      the fragmented messages of BASE_URL/fragments, and each close code at BASE_URL/close/CODE.
      --server names the server in the output.
"""

import argparse
import asyncio
import os
import random
import sys

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory
from websockets.version import version as websockets_version

PEER = "python"
TIMEOUT = 60
MIB = 1 << 20
SIZES = [0, 1, 125, 126, 127, 65535, 65536, MIB, 16 * MIB]
# Every close code that may be sent (RFC 6455 §7.4.1 and the IANA registry), at both ends of the
# application ranges.
CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
VARIANTS = [
    "off",
    "default",
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
    "all",
]


def _params(variant):
    """The permessage-deflate parameters a variant sets, as factory keyword arguments."""
    return {
        "server_no_context_takeover": {"server_no_context_takeover": True},
        "client_no_context_takeover": {"client_no_context_takeover": True},
        "server_max_window_bits": {"server_max_window_bits": 10},
        "client_max_window_bits": {"client_max_window_bits": 12},
        "all": {
            "server_no_context_takeover": True,
            "client_no_context_takeover": True,
            "server_max_window_bits": 10,
            "client_max_window_bits": 12,
        },
    }[variant]


def server_options(variant):
    """serve() options: off, the library's default (server and client windows of 12 bits), or
    a server that imposes one parameter (or all four)."""
    if variant == "off":
        return {"compression": None}
    if variant == "default":
        return {"compression": "deflate"}
    return {"compression": None, "extensions": [ServerPerMessageDeflateFactory(**_params(variant))]}


def client_options(variant):
    """connect() options: off, the library's default offer, or an offer asking for one
    parameter (or all four)."""
    if variant == "off":
        return {"compression": None}
    if variant == "default":
        return {"compression": "deflate"}
    return {"compression": None, "extensions": [ClientPerMessageDeflateFactory(**_params(variant))]}


# ---------------------------------------------------------------------------------------------
# Payloads. Every peer script and peer_check.rs build the same ones.

PATTERN_PERIOD = bytes((i * 31) % 251 for i in range(251))


def pattern(n):
    """Compressible binary: byte i is i * 31 mod 251."""
    return (PATTERN_PERIOD * (n // 251 + 1))[:n]


# 256 characters: 64 of each UTF-8 length, so random text is full of multi-byte sequences.
CHARS = (
    [chr(0x30 + i) for i in range(64)]
    + [chr(0x400 + i) for i in range(64)]
    + [chr(0x4E00 + i) for i in range(64)]
    + [chr(0x1F600 + i) for i in range(64)]
)
_random_block = None


def _cut(data, n):
    """The first n bytes of UTF-8 `data`, cut at a character boundary and padded with 'x'."""
    cut = min(n, len(data))
    while cut > 0 and cut < len(data) and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return (data[:cut] + b"x" * (n - cut)).decode()


def random_text(n):
    """Text of n bytes of random characters. The random block repeats every 1 MB, further than
    any deflate window reaches, so it does not compress much."""
    global _random_block
    if _random_block is None:
        _random_block = "".join(CHARS[b] for b in os.urandom(400_000)).encode()
    return _cut(_random_block * (n // len(_random_block) + 1), n)


def compressible_text(n):
    """Text of n bytes: JSON-like lines with multi-byte characters."""
    lines, size, i = [], 0, 0
    while size < n:
        line = f'{{"seq":{i},"user":"ada","text":"κόσμε — compressible 🦀"}}\n'.encode()
        lines.append(line)
        size += len(line)
        i += 1
    return _cut(b"".join(lines), n)


# What /fragments sends, fragment by fragment (the echo of a fragmented message is the whole).
FRAG_TEXT = "fragmented κόσμε — 🦀 text".encode()
FRAG_TEXT_CHUNKS = [FRAG_TEXT[i : i + 3] for i in range(0, len(FRAG_TEXT), 3)]  # splits characters
FRAG_BINARY_CHUNKS = [b"", b"\x00\x01\x02", b"", b"\xff" * 200, b""]
FRAG_LARGE = pattern(MIB + 3)
FRAG_LARGE_CHUNKS = [FRAG_LARGE[i : i + 65536] for i in range(0, len(FRAG_LARGE), 65536)]
MID_PING = b"mid-message"


# ---------------------------------------------------------------------------------------------
# Server.


async def send_fragmented_with_ping(ws, chunks, text):
    """Sends `chunks` as one fragmented message, with a ping after the first fragment."""

    async def fragments():
        yield chunks[0]
        await ws.ping(MID_PING)
        for chunk in chunks[1:]:
            yield chunk

    await ws.send(fragments(), text=text)


async def handler(ws):
    path = ws.request.path
    try:
        if path.startswith("/close/"):
            code = int(path[len("/close/") :])
            await ws.close(code, f"python server closes with {code}")
            return
        if path == "/fragments":
            await ws.send(FRAG_TEXT_CHUNKS, text=True)
            await ws.send(FRAG_BINARY_CHUNKS)
            await send_fragmented_with_ping(ws, FRAG_LARGE_CHUNKS, text=False)
        while True:
            # Echo each message with the fragmentation it came with.
            fragments = [f async for f in ws.recv_streaming()]
            await ws.send(fragments[0] if len(fragments) == 1 else fragments)
    except ConnectionClosed:
        pass


async def run_server(port, variant):
    options = server_options(variant)
    async with serve(
        handler,
        "127.0.0.1",
        port,
        max_size=None,
        ping_interval=1,
        ping_timeout=20,
        **options,
    ) as server:
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().create_future()


# ---------------------------------------------------------------------------------------------
# Client.


class Counting(ClientConnection):
    """A client connection that counts the bytes on the wire, to see compression happen."""

    bytes_in = 0
    bytes_out = 0

    def connection_made(self, transport):
        write = transport.write

        def counting_write(data):
            self.bytes_out += len(data)
            write(data)

        transport.write = counting_write
        super().connection_made(transport)

    def data_received(self, data):
        self.bytes_in += len(data)
        super().data_received(data)


class CaseFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CaseFailed(what)


def parse_extensions(value):
    """A Sec-WebSocket-Extensions value as (name, set of "param" / "param=value")."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(";")]
    return parts[0], {p.replace(" ", "").replace('"', "") for p in parts[1:] if p}


def describe(data):
    kind = "text" if isinstance(data, str) else "binary"
    size = len(data.encode()) if isinstance(data, str) else len(data)
    return f"{kind} of {size} B"


def same(sent, got):
    if type(sent) is not type(got):
        return f"sent {describe(sent)}, got {describe(got)}"
    if sent != got:
        a = sent.encode() if isinstance(sent, str) else sent
        b = got.encode() if isinstance(got, str) else got
        first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        return f"sent {describe(sent)}, got {describe(got)}, first difference at byte {first}"
    return None


class Client:
    def __init__(self, url, variant, expect, server="wsproto server"):
        self.url = url
        self.variant = variant
        self.expect = expect
        self.failures = 0
        self.where = f"{PEER} client → {server} [deflate={variant}]"

    def ok(self, case, extra=""):
        print(f"ok   {self.where}: {case}{extra}", flush=True)

    def fail(self, case, why):
        self.failures += 1
        print(f"FAIL {self.where}: {case}: {why}", flush=True)

    async def recv(self, ws):
        return await asyncio.wait_for(ws.recv(), TIMEOUT)

    async def echo(self, ws, message):
        await asyncio.wait_for(ws.send(message), TIMEOUT)
        return await self.recv(ws)

    def check_handshake(self, ws):
        header = ws.response.headers.get("Sec-WebSocket-Extensions")
        got = parse_extensions(header)
        case = "handshake"
        if self.expect == "none":
            check(got is None, f"expected no permessage-deflate, the response has {header!r}")
            check(not ws.protocol.extensions, f"extensions in use: {ws.protocol.extensions}")
            return self.ok(case, ": permessage-deflate not negotiated, as expected")
        want = {p.replace(" ", "") for p in self.expect.split(";") if p.strip()}
        check(got is not None, f"expected permessage-deflate with {sorted(want)}, the response has none")
        check(got[0] == "permessage-deflate", f"response {header!r}")
        check(got[1] == want, f"expected parameters {sorted(want)}, the response has {header!r}")
        check(len(ws.protocol.extensions) == 1, f"extensions in use: {ws.protocol.extensions}")
        self.ok(case, f": {header}")

    async def run_case(self, ws, case, coro):
        try:
            await coro
            return True
        except (CaseFailed, ConnectionClosed, asyncio.TimeoutError, OSError) as e:
            why = str(e) or type(e).__name__
            if isinstance(e, ConnectionClosed):
                why = f"connection closed: {e} (received {ws.protocol.close_rcvd}, sent {ws.protocol.close_sent})"
            self.fail(case, why)
            return False

    async def message_case(self, ws, message, compressible):
        negotiated = self.expect != "none"
        size = len(message.encode()) if isinstance(message, str) else len(message)
        out0, in0 = ws.bytes_out, ws.bytes_in
        got = await self.echo(ws, message)
        problem = same(message, got)
        check(problem is None, problem)
        out, back = ws.bytes_out - out0, ws.bytes_in - in0
        if compressible and size >= 65536:
            # The wire shows whether both ends really compressed.
            if negotiated:
                check(out < size / 2, f"sent {out} bytes on the wire for {size} compressible bytes: not compressed")
                check(back < size / 2, f"received {back} bytes on the wire for {size} compressible bytes: not compressed")
            else:
                check(out >= size and back >= size, f"{out} bytes out, {back} in for {size} bytes without compression")
        return out, back

    async def messages(self, ws):
        for size in SIZES:
            for kind in ("text", "binary"):
                for compressible in (True, False):
                    what = "compressible" if compressible else "random"
                    case = f"{kind} {what} {size} B"
                    if kind == "text":
                        message = compressible_text(size) if compressible else random_text(size)
                    else:
                        message = pattern(size) if compressible else os.urandom(size)
                    result = {}

                    async def one():
                        result["wire"] = await self.message_case(ws, message, compressible)

                    if not await self.run_case(ws, case, one()):
                        return False
                    out, back = result["wire"]
                    self.ok(case, f" (wire: {out} B out, {back} B in)")
        # Context takeover: the same message three times; with takeover, repeats are tiny.
        message = compressible_text(4096)
        for i in range(3):
            case = f"text compressible 4096 B, repeat {i + 1} of 3"
            result = {}

            async def rep():
                result["wire"] = await self.message_case(ws, message, True)

            if not await self.run_case(ws, case, rep()):
                return False
            self.ok(case, f" (wire: {result['wire'][0]} B out, {result['wire'][1]} B in)")
        return True

    async def fragments(self, ws):
        async def text():
            # Bytes with text=True: fragment boundaries fall inside multi-byte characters.
            await asyncio.wait_for(ws.send(FRAG_TEXT_CHUNKS, text=True), TIMEOUT)
            problem = same(FRAG_TEXT.decode(), await self.recv(ws))
            check(problem is None, problem)

        async def binary():
            await asyncio.wait_for(ws.send(FRAG_BINARY_CHUNKS), TIMEOUT)
            problem = same(b"".join(FRAG_BINARY_CHUNKS), await self.recv(ws))
            check(problem is None, problem)

        async def large():
            waiter = {}

            async def chunks():
                yield FRAG_LARGE_CHUNKS[0]
                waiter["pong"] = await ws.ping(MID_PING)
                for chunk in FRAG_LARGE_CHUNKS[1:]:
                    yield chunk

            await asyncio.wait_for(ws.send(chunks()), TIMEOUT)
            problem = same(FRAG_LARGE, await self.recv(ws))
            check(problem is None, problem)
            await asyncio.wait_for(waiter["pong"], TIMEOUT)

        async def then_intact(coro):
            await coro
            # A compressed stream left in a bad state shows in the next message.
            await self.expect_echo(ws, compressible_text(2048))

        cases = [
            ("fragmented text, split inside characters", text()),
            ("fragmented binary with empty fragments, the last one empty", binary()),
            (f"fragmented binary of {len(FRAG_LARGE)} B in 64 KiB fragments, a ping between fragments", large()),
        ]
        for case, coro in cases:
            case += "; the next message is intact"
            if not await self.run_case(ws, case, then_intact(coro)):
                return False
            self.ok(case)
        return True

    async def pings(self, ws):
        for payload in [b"python ping \xf0\x9f\xa6\x80", b"", bytes(range(125))]:
            case = f"ping with {len(payload)} B payload gets a pong with it"

            async def one():
                # The waiter completes only on a pong with the same payload.
                pong = await asyncio.wait_for(ws.ping(payload), TIMEOUT)
                await asyncio.wait_for(pong, TIMEOUT)

            if not await self.run_case(ws, case, one()):
                return False
            self.ok(case)
        return True

    async def closing(self, ws, code, reason):
        case = f"close {code}"

        async def one():
            await asyncio.wait_for(ws.close(code, reason), TIMEOUT)
            got = ws.protocol.close_rcvd
            check(got is not None, f"sent close {code}, no close frame came back (sent {ws.protocol.close_sent})")
            check(got.code == code, f"sent close {code} {reason!r}, the reply has code {got.code} ({got.reason!r})")

        if await self.run_case(ws, case, one()):
            self.ok(case, f": the server's reply has code {ws.protocol.close_rcvd.code} and reason {ws.protocol.close_rcvd.reason!r}")

    async def connect(self, url=None):
        return await asyncio.wait_for(
            connect(
                url or self.url,
                max_size=None,
                ping_interval=1,
                ping_timeout=20,
                create_connection=Counting,
                **client_options(self.variant),
            ),
            TIMEOUT,
        )

    async def suite(self):
        try:
            ws = await self.connect()
        except Exception as e:
            return self.fail("connect", repr(e))
        try:
            self.check_handshake(ws)
        except CaseFailed as e:
            self.fail("handshake", str(e))
            await ws.close()
            return
        if await self.messages(ws) and await self.fragments(ws) and await self.pings(ws):
            await self.closing(ws, 4000, "python client says bye")
        await ws.close()

    async def close_codes(self):
        for code in CLOSE_CODES:
            try:
                ws = await self.connect()
            except Exception as e:
                self.fail(f"close {code}: connect", repr(e))
                continue
            hello = f"about to close with {code}"
            if await self.run_case(ws, f"close {code}: echo before", self.expect_echo(ws, hello)):
                await self.closing(ws, code, f"python client closes with {code}")
            await ws.close()

    async def server_cases(self):
        base = self.url.rstrip("/")
        try:
            ws = await self.connect(base + "/fragments")
        except Exception as e:
            return self.fail("connect to /fragments", repr(e))
        expected = [FRAG_TEXT.decode(), b"".join(FRAG_BINARY_CHUNKS), FRAG_LARGE]
        counts = [len(FRAG_TEXT_CHUNKS), len(FRAG_BINARY_CHUNKS), len(FRAG_LARGE_CHUNKS)]
        for message, count in zip(expected, counts):
            case = f"receive a {describe(message)} sent in {count} fragments"

            async def one():
                problem = same(message, await self.recv(ws))
                check(problem is None, problem)

            if not await self.run_case(ws, case, one()):
                break
            self.ok(case)
        else:
            case = "then a message and its echo, then close 1000"

            async def finish():
                await self.expect_echo(ws, compressible_text(2048))
                await asyncio.wait_for(ws.close(1000), TIMEOUT)
                check(ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000, f"close reply {ws.protocol.close_rcvd}")

            if await self.run_case(ws, case, finish()):
                self.ok(case)
        await ws.close()
        for code in CLOSE_CODES:
            case = f"the server closes with {code}"
            reason = f"wsproto server closes with {code}"
            try:
                ws = await self.connect(f"{base}/close/{code}")
            except Exception as e:
                self.fail(case, f"connect: {e!r}")
                continue

            async def closed():
                try:
                    got = await self.recv(ws)
                    raise CaseFailed(f"got {describe(got)} instead of a close frame")
                except ConnectionClosed:
                    pass
                got = ws.protocol.close_rcvd
                check(got is not None, "the connection ended without a close frame")
                check(got.code == code and got.reason == reason, f"expected close {code} {reason!r}, got {got.code} {got.reason!r}")

            if await self.run_case(ws, case, closed()):
                self.ok(case, f": got {code} {reason!r}")
            await ws.close()

    async def expect_echo(self, ws, message):
        problem = same(message, await self.echo(ws, message))
        check(problem is None, problem)


async def run_client(args):
    client = Client(args.url, args.deflate, args.expect, args.server)
    print(f"# {PEER} websockets {websockets_version}", flush=True)
    if args.close_codes:
        await client.close_codes()
    elif args.server_cases:
        await client.server_cases()
    else:
        await client.suite()
    return client.failures


async def run_burst(url, count, server):
    """`count` messages in a row (text and binary, 0 B to 20 KiB) with compression offered, each
    echo checked: the server must agree to permessage-deflate and return every one intact."""
    name = f"{PEER} client → {server}"
    async with connect(url, compression="deflate", max_size=None) as ws:
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        if "permessage-deflate" not in agreed:
            print(f"FAIL {name}: permessage-deflate was not agreed ({agreed!r})")
            return 1
        for i in range(count):
            size = (i * 997) % 20_000
            message = compressible_text(size) if i % 2 else random.Random(i).randbytes(size)
            await ws.send(message)
            echo = await ws.recv()
            if echo != message:
                print(f"FAIL {name}: message {i} ({describe(message)}) came back as {describe(echo)}")
                return 1
    print(f"ok   {name}: {count} messages echoed intact with permessage-deflate ({agreed})")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("variant", nargs="?", default="off", choices=VARIANTS)
    c = sub.add_parser("client")
    c.add_argument("url")
    c.add_argument("--deflate", default="off", choices=VARIANTS)
    c.add_argument("--expect", default=None)
    c.add_argument("--close-codes", action="store_true")
    c.add_argument("--server-cases", action="store_true")
    c.add_argument("--server", default="wsproto server")
    b = sub.add_parser("burst")
    b.add_argument("url")
    b.add_argument("count", type=int)
    b.add_argument("--server", default="wsproto server")
    args = parser.parse_args()
    if args.mode == "burst":
        return asyncio.run(run_burst(args.url, args.count, args.server))
    if args.mode == "server":
        try:
            asyncio.run(run_server(args.port, args.variant))
        except KeyboardInterrupt:
            pass
        return 0
    if args.expect is None:
        args.expect = "none" if args.deflate == "off" else ""
    failures = asyncio.run(run_client(args))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
