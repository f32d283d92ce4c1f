import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  encodeWsAccept,
  encodeWsRefusal,
  encodeWsUpgradeRequest,
  isWsOriginAllowed,
  MAX_WS_HEAD,
  parseWsOrigins,
  sha1,
  wsAcceptKey,
  WsHandshakeParser,
  type WsHandshakeResult,
  WsHttpStatus,
} from "../../protocol/mod.ts";
import { concat, Random } from "./_ws_helpers.ts";

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The request of RFC 6455 section 1.2. */
const RFC_REQUEST = "GET /chat HTTP/1.1\r\n" +
  "Host: server.example.com\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Origin: http://example.com\r\n" +
  "Sec-WebSocket-Protocol: chat, superchat\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";

function request(
  lines: Record<string, string | undefined>,
  first = "GET / HTTP/1.1",
  eol = "\r\n",
): string {
  const headers: Record<string, string | undefined> = {
    Host: "hub:4000",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "AQIDBAUGBwgJCgsMDQ4PEA==",
    "Sec-WebSocket-Version": "13",
    ...lines,
  };
  let out = first + eol;
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out += `${name}: ${value}${eol}`;
  }
  return out + eol;
}

function parseAll(chunks: readonly Uint8Array[]): WsHandshakeResult {
  const parser = new WsHandshakeParser();
  for (let i = 0; i < chunks.length; i++) {
    const result = parser.parse(chunks[i]!);
    assert(parser.buffered <= MAX_WS_HEAD);
    if (result !== null) {
      // Whatever chunks remain belong to the frame stream.
      if (result.ok) {
        const rest = concat([result.rest, ...chunks.slice(i + 1)]);
        return { ...result, rest };
      }
      return result;
    }
  }
  throw new Error("The head never completed");
}

// --- SHA-1 and the accept key -------------------------------------------------

Deno.test("accept key: the example of RFC 6455", () => {
  assertEquals(
    wsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
  assertEquals(
    text(encodeWsAccept("dGhlIHNhbXBsZSBub25jZQ==")),
    "HTTP/1.1 101 Switching Protocols\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
  );
});

Deno.test("sha1: FIPS 180 test vectors", () => {
  const hexOf = (b: Uint8Array) =>
    Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  assertEquals(
    hexOf(sha1(new Uint8Array(0))),
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
  );
  assertEquals(
    hexOf(sha1(utf8.encode("abc"))),
    "a9993e364706816aba3e25717850c26c9cd0d89d",
  );
  assertEquals(
    hexOf(
      sha1(
        utf8.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      ),
    ),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  );
  assertEquals(
    hexOf(sha1(new Uint8Array(1_000_000).fill(0x61))),
    "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
  );
});

Deno.test("sha1: agrees with crypto.subtle at every length to 300", async () => {
  const random = new Random(1455);
  for (let length = 0; length <= 300; length++) {
    const data = random.bytes(length);
    const expected = new Uint8Array(
      await crypto.subtle.digest("SHA-1", data),
    );
    assertEquals(sha1(data), expected, `length ${length}`);
  }
});

// --- Valid requests, every split point ---------------------------------------

interface Good {
  name: string;
  head: string;
  path: string;
  origin: string | null;
  key: string;
  protocols?: string[];
}

const GOOD: Good[] = [
  {
    name: "RFC 6455 example",
    head: RFC_REQUEST,
    path: "/chat",
    origin: "http://example.com",
    key: "dGhlIHNhbXBsZSBub25jZQ==",
    protocols: ["chat", "superchat"],
  },
  {
    name: "minimal, no Origin",
    head: request({}),
    path: "/",
    origin: null,
    key: "AQIDBAUGBwgJCgsMDQ4PEA==",
  },
  {
    name: "Firefox Connection and any path",
    head: request(
      { Connection: "keep-alive, Upgrade", Origin: "https://app.example" },
      "GET /any/path?x=1&y=%20 HTTP/1.1",
    ),
    path: "/any/path?x=1&y=%20",
    origin: "https://app.example",
    key: "AQIDBAUGBwgJCgsMDQ4PEA==",
  },
  {
    name: "bare LF line ends, names and tokens in odd case",
    head: "GET /x HTTP/1.1\nhOsT: a\nUPGRADE: WebSocket\n" +
      "connection: UPGRADE\nsec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEA==\n" +
      "SEC-WEBSOCKET-VERSION: 13\n\n",
    path: "/x",
    origin: null,
    key: "AQIDBAUGBwgJCgsMDQ4PEA==",
  },
  {
    name: "whitespace around values, repeated Connection",
    head: "GET / HTTP/1.1\r\nHost:h\r\nUpgrade: \t websocket \t\r\n" +
      "Connection: keep-alive\r\nConnection: upgrade\r\n" +
      "Sec-WebSocket-Key:   +/+/+/+/+/+/+/+/+/+/+w==\r\n" +
      "Sec-WebSocket-Version: 13\r\nUser-Agent: caf\xe9\r\n\r\n",
    path: "/",
    origin: null,
    key: "+/+/+/+/+/+/+/+/+/+/+w==",
  },
];

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function assertGood(g: Good, result: WsHandshakeResult, rest: Uint8Array) {
  if (!result.ok) throw new Error(`${g.name}: refused: ${result.message}`);
  const r = result.request;
  assertEquals(r.path, g.path, g.name);
  assertEquals(r.origin, g.origin, g.name);
  assertEquals(r.key, g.key, g.name);
  assertEquals(r.protocols, g.protocols ?? [], g.name);
  assert(r.host.length > 0);
  assertEquals(result.rest, rest, g.name);
}

Deno.test("valid requests fed whole, with frame bytes after the head", () => {
  const frames = new Uint8Array([0x81, 0x80, 1, 2, 3, 4]);
  for (const g of GOOD) {
    const head = latin1(g.head);
    assertGood(g, parseAll([head]), new Uint8Array(0));
    const result = new WsHandshakeParser().parse(concat([head, frames]));
    assert(result !== null);
    assertGood(g, result, frames);
  }
  const r = parseAll([latin1(GOOD[4]!.head)]);
  assert(r.ok);
  assertEquals(r.request.headers.get("connection"), "keep-alive, upgrade");
  assertEquals(r.request.headers.get("user-agent"), "caf\xe9");
});

Deno.test("valid requests split in two at every offset, and one byte at a time", () => {
  const frames = new Uint8Array([0x82, 0x80, 9, 9, 9, 9]);
  for (const g of GOOD) {
    const stream = concat([latin1(g.head), frames]);
    for (let cut = 0; cut <= stream.length; cut++) {
      assertGood(
        g,
        parseAll([stream.subarray(0, cut), stream.subarray(cut)]),
        frames,
      );
    }
    assertGood(
      g,
      parseAll(Array.from(stream, (b) => new Uint8Array([b]))),
      frames,
    );
  }
});

Deno.test("a head of exactly the limit passes; one byte more is refused", () => {
  const base = request({ "X-Pad": "" });
  const pad = "p".repeat(MAX_WS_HEAD - base.length);
  const exact = request({ "X-Pad": pad });
  assertEquals(exact.length, MAX_WS_HEAD);
  for (const cut of [0, 1, 100, MAX_WS_HEAD - 1]) {
    const bytes = latin1(exact);
    const result = parseAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
    assert(result.ok, `cut ${cut}`);
  }
  const over = latin1(request({ "X-Pad": pad + "p" }));
  const result = parseAll([over]);
  assert(!result.ok);
  assertEquals(result.status, WsHttpStatus.HeadTooLarge);
});

Deno.test("an endless head is refused with 431 at the byte past the limit", () => {
  for (const size of [1, 7, 1000, 4096, MAX_WS_HEAD + 1]) {
    const parser = new WsHandshakeParser();
    const line = latin1("GET / HTTP/1.1\r\n" + "X-A: b\r\n".repeat(2000));
    let seen = 0;
    let result: WsHandshakeResult | null = null;
    for (let i = 0; result === null; i += size) {
      const chunk = line.subarray(i, i + size);
      result = parser.parse(chunk);
      if (result === null) seen += chunk.length;
      assert(parser.buffered <= MAX_WS_HEAD);
    }
    assert(!result.ok);
    assertEquals(result.status, 431);
    assert(seen <= MAX_WS_HEAD && seen + size > MAX_WS_HEAD, `size ${size}`);
    assertThrows(() => parser.parse(line), Error, "already complete");
  }
  const small = new WsHandshakeParser({ maxHead: 64 });
  assertEquals(small.parse(new Uint8Array(64).fill(0x41)), null);
  assertEquals(small.parse(new Uint8Array([0x41]))?.ok, false);
});

// --- Malformed requests --------------------------------------------------------

interface BadRequest {
  name: string;
  head: Uint8Array;
  status: WsHttpStatus;
  /** Bytes the parser needs to answer, when before the end of the head. */
  at?: number;
}

const BAD: BadRequest[] = [
  ["POST", request({}, "POST / HTTP/1.1"), 405],
  ["lower-case get", request({}, "get / HTTP/1.1"), 405],
  ["HTTP/1.0", request({}, "GET / HTTP/1.0"), 400],
  ["HTTP/2.0", request({}, "GET / HTTP/2.0"), 400],
  ["no version", request({}, "GET /"), 400],
  ["two spaces", request({}, "GET  / HTTP/1.1"), 400],
  ["empty request line", "\r\n\r\n", 400],
  ["no Host", request({ Host: undefined }), 400],
  ["empty Host", request({ Host: "" }), 400],
  ["no Upgrade", request({ Upgrade: undefined }), 400],
  ["Upgrade h2c", request({ Upgrade: "h2c" }), 400],
  ["Upgrade websockets", request({ Upgrade: "websockets" }), 400],
  ["no Connection", request({ Connection: undefined }), 400],
  ["Connection keep-alive", request({ Connection: "keep-alive" }), 400],
  ["Connection upgraded", request({ Connection: "upgraded" }), 400],
  ["no key", request({ "Sec-WebSocket-Key": undefined }), 400],
  ["short key", request({ "Sec-WebSocket-Key": "AQIDBAUGBwgJCgsMDQ4P" }), 400],
  [
    "key of 17 bytes",
    request({ "Sec-WebSocket-Key": "AQIDBAUGBwgJCgsMDQ4PEBE=" }),
    400,
  ],
  [
    "key not base64",
    request({ "Sec-WebSocket-Key": "AQIDBAUGBwgJCgsMDQ4P!A==" }),
    400,
  ],
  [
    "two keys",
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" +
    "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n" +
    "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    400,
  ],
  ["version 8", request({ "Sec-WebSocket-Version": "8" }), 426],
  ["version 13, 8", request({ "Sec-WebSocket-Version": "13, 8" }), 426],
  ["no version", request({ "Sec-WebSocket-Version": undefined }), 426],
  [
    "header without colon",
    request({}).replace("Host: hub:4000", "Host hub"),
    400,
  ],
  ["space before colon", request({}).replace("Host:", "Host :"), 400],
  [
    "folded header",
    request({}).replace("Host: hub:4000", "Host: hub\r\n :4000"),
    400,
  ],
  ["bare CR", request({}).replace("Host: hub:4000", "Host: hub\r4000"), 400],
].map(([name, head, status]) => ({
  name: name as string,
  head: latin1(head as string),
  status: status as WsHttpStatus,
}));

// Control bytes are refused at once: a binary msghub client on the wrong port.
for (
  const [name, head, at] of [
    ["a binary IDENTITY frame", "\x02\x00\x00\x00\x00", 1],
    ["NUL in a header", "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 24],
    ["DEL in the request line", "GET /\x7f HTTP/1.1\r\n\r\n", 6],
  ] as const
) {
  BAD.push({ name, head: latin1(head), status: 400, at });
}

Deno.test("malformed requests: the refusal each gets, whole and at every split", () => {
  for (const c of BAD) {
    const check = (result: WsHandshakeResult, label: string) => {
      if (result.ok) throw new Error(`${c.name} ${label}: accepted`);
      assertEquals(result.status, c.status, `${c.name} ${label}`);
      assert(result.message.startsWith("Cannot"), result.message);
      const answer = text(result.response);
      assert(answer.startsWith(`HTTP/1.1 ${c.status} `), answer);
      assert(answer.endsWith(`\r\n\r\n${result.message}\n`), answer);
    };
    check(parseAll([c.head]), "whole");
    for (let cut = 0; cut <= c.head.length; cut++) {
      check(
        parseAll([c.head.subarray(0, cut), c.head.subarray(cut)]),
        `cut at ${cut}`,
      );
    }
    if (c.at !== undefined) {
      const parser = new WsHandshakeParser();
      for (let i = 0; i < c.at - 1; i++) {
        assertEquals(parser.parse(c.head.subarray(i, i + 1)), null, c.name);
      }
      const result = parser.parse(c.head.subarray(c.at - 1, c.at));
      assert(result !== null, `${c.name}: no answer at byte ${c.at}`);
      check(result, "at the byte");
    }
  }
});

Deno.test("refusals: exact bytes, and the headers 426 and 405 call for", () => {
  assertEquals(
    text(encodeWsRefusal(WsHttpStatus.UpgradeRequired, "Use 13")),
    "HTTP/1.1 426 Upgrade Required\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      "Content-Length: 7\r\nConnection: close\r\n" +
      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\nUse 13\n",
  );
  assert(
    text(encodeWsRefusal(WsHttpStatus.MethodNotAllowed)).includes(
      "\r\nAllow: GET\r\n",
    ),
  );
  for (const status of Object.values(WsHttpStatus)) {
    const answer = text(encodeWsRefusal(status, "é"));
    const [headPart, body] = answer.split("\r\n\r\n");
    assertEquals(body, "é\n");
    assert(headPart!.includes("Content-Length: 3"), `${status}`);
    assert(headPart!.startsWith(`HTTP/1.1 ${status} `));
  }
});

// --- Origins --------------------------------------------------------------------

Deno.test("origin rule: exact, case-insensitive, absent Origin accepted", () => {
  const allowed = parseWsOrigins("https://chat.example,http://LOCALHOST:8080");
  assertEquals(allowed, ["https://chat.example", "http://localhost:8080"]);
  const cases: Array<[string | null, boolean]> = [
    [null, true],
    ["https://chat.example", true],
    ["HTTPS://CHAT.EXAMPLE", true],
    ["http://localhost:8080", true],
    ["http://chat.example", false],
    ["https://chat.example:443", false],
    ["https://chat.example/", false],
    ["https://evil.chat.example", false],
    ["https://chat.example.evil", false],
    ["http://localhost", false],
    ["null", false],
    ["", false],
  ];
  for (const [origin, ok] of cases) {
    assertEquals(isWsOriginAllowed(origin, allowed), ok, `${origin}`);
  }
  assert(isWsOriginAllowed("https://anything", []), "no list, no check");
  for (
    const bad of ["", "chat.example", "https://a/b", "https://", "https://a,,"]
  ) {
    assertThrows(() => parseWsOrigins(bad), TypeError, "Cannot parse origin");
  }
});

// --- Fuzz ---------------------------------------------------------------------------

Deno.test("fuzz: mutated and random heads get an answer, never a throw", () => {
  const random = new Random(6455);
  const seeds = [...GOOD.map((g) => latin1(g.head)), ...BAD.map((c) => c.head)];
  const statuses = new Set<number>(Object.values(WsHttpStatus));
  let accepted = 0;
  for (let round = 0; round < 3000; round++) {
    let head: Uint8Array;
    if (round % 10 === 0) {
      head = random.bytes(random.range(1, 200));
    } else {
      head = random.pick(seeds).slice();
      for (let n = random.range(1, 3); n > 0; n--) {
        const at = random.int(head.length);
        if (random.chance(0.5)) head[at] = random.int(256);
        else head = concat([head.subarray(0, at), head.subarray(at + 1)]);
      }
    }
    const parser = new WsHandshakeParser({ maxHead: 512 });
    let result: WsHandshakeResult | null = null;
    for (const chunk of random.chunks(head)) {
      result = parser.parse(chunk);
      assert(parser.buffered <= 512);
      if (result !== null) break;
    }
    if (result === null) continue;
    if (result.ok) {
      accepted++;
      assertEquals(wsAcceptKey(result.request.key).length, 28);
    } else {
      assert(statuses.has(result.status), `${result.status}`);
    }
  }
  assert(accepted > 0);
});

Deno.test("a request from encodeWsUpgradeRequest is accepted and answered", () => {
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  const head = encodeWsUpgradeRequest({
    host: "127.0.0.1:9",
    path: "/a?b",
    key,
    origin: "https://x.example",
  });
  const result = parseAll([head]);
  assert(result.ok);
  assertEquals(result.request.path, "/a?b");
  assertEquals(result.request.host, "127.0.0.1:9");
  assertEquals(result.request.origin, "https://x.example");
  assertEquals(result.request.key, key);
  const fresh = parseAll([encodeWsUpgradeRequest({ host: "h" })]);
  assert(fresh.ok);
  assertEquals(fresh.request.origin, null);
  assert(fresh.request.key !== key);
});
