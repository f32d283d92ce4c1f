/**
 * The console's text-dialect module (hub/console/text_dialect.js): the
 * parser of what the hub sends a text client over WebSocket, and the lines
 * and URL the "try it" panel builds. Plain JS with JSDoc types, run here under
 * Deno.
 */
import { assertEquals, assertThrows } from "../_assert.ts";
import {
  bodyText,
  type HubLine,
  parseIds,
  parseLine,
  relayLine,
  socketUrl,
  TextDialectParser,
} from "../../hub/console/text_dialect.js";
import { encodeTextDeliver } from "../../protocol/mod.ts";

const encode = (s: string) => new TextEncoder().encode(s);

/** Every HubLine from feeding `chunks` in order, and what the parser kept. */
function feed(chunks: (string | Uint8Array | ArrayBuffer)[]): {
  lines: HubLine[];
  pending: number;
} {
  const parser = new TextDialectParser();
  const lines = chunks.flatMap((chunk) => parser.push(chunk));
  return { lines, pending: parser.pending };
}

function message(sender: number, body: string | Uint8Array): HubLine {
  const bytes = typeof body === "string" ? encode(body) : body;
  return {
    kind: "message",
    sender,
    body: bytes,
    text: typeof body === "string" ? body : null,
  };
}

Deno.test("text dialect: replies to identity, list, relay and auth", () => {
  const { lines, pending } = feed([
    "auth ok\nidentity 7\nlist 2,3\nlist\nrelayed 2\nrelayed 1 unknown 3\n" +
    "relayed 0 unknown 3,4\n",
  ]);
  assertEquals(lines, [
    { kind: "auth" },
    { kind: "identity", id: 7 },
    { kind: "list", ids: [2, 3] },
    { kind: "list", ids: [] },
    { kind: "relayed", delivered: 2, unknown: [] },
    { kind: "relayed", delivered: 1, unknown: [3] },
    { kind: "relayed", delivered: 0, unknown: [3, 4] },
  ]);
  assertEquals(pending, 0);
});

Deno.test("text dialect: error lines, other lines, CR and empty lines", () => {
  const { lines } = feed([
    'error unknown command "frob"\r\n\nerror\nhello there\necho hi\nidentity x\n',
  ]);
  assertEquals(lines, [
    { kind: "error", message: 'unknown command "frob"' },
    { kind: "error", message: "" },
    { kind: "other", line: "hello there" },
    { kind: "other", line: "echo hi" },
    { kind: "other", line: "identity x" },
  ]);
});

Deno.test("text dialect: a message block is length-delimited, newlines and all", () => {
  const body = "first line\nsecond\n\nmessage 9 9\nnot a header";
  const { lines, pending } = feed([
    `message 3 ${encode(body).length}\n${body}\nidentity 4\n`,
  ]);
  assertEquals(lines, [message(3, body), { kind: "identity", id: 4 }]);
  assertEquals(pending, 0);
});

Deno.test("text dialect: the length counts bytes, not characters", () => {
  const body = "héllo ☃ 👋";
  const { lines } = feed([
    `message 2 ${encode(body).length}\n${body}\nlist 2\n`,
  ]);
  assertEquals(lines, [message(2, body), { kind: "list", ids: [2] }]);
});

Deno.test("text dialect: an empty body", () => {
  assertEquals(feed(["message 5 0\n\nrelayed 1\n"]).lines, [
    message(5, ""),
    { kind: "relayed", delivered: 1, unknown: [] },
  ]);
});

Deno.test("text dialect: lines and blocks split across messages, at every byte", () => {
  const body = "a\nb\n";
  const stream = encode(
    `identity 7\nmessage 3 4\n${body}\nerror bad ids\nlist 3\n`,
  );
  const expected: HubLine[] = [
    { kind: "identity", id: 7 },
    message(3, body),
    { kind: "error", message: "bad ids" },
    { kind: "list", ids: [3] },
  ];
  for (let cut = 0; cut <= stream.length; cut++) {
    for (let second = cut; second <= stream.length; second++) {
      const got = feed([
        stream.slice(0, cut),
        stream.slice(cut, second),
        stream.slice(second),
      ]);
      assertEquals(got.lines, expected, `cut at ${cut} and ${second}`);
      assertEquals(got.pending, 0);
    }
  }
  // One byte a message, as text.
  const oneByOne = feed(
    [...new TextDecoder().decode(stream)].map((c) => c),
  );
  assertEquals(oneByOne.lines, expected);
});

Deno.test("text dialect: an incomplete line or block is kept, not parsed", () => {
  const parser = new TextDialectParser();
  assertEquals(parser.push("identity 7"), []);
  assertEquals(parser.pending, 10);
  assertEquals(parser.push("\nmessage 2 10\n12345"), [
    { kind: "identity", id: 7 },
  ]);
  assertEquals(parser.push("67890"), []);
  assertEquals(parser.push("\n"), [message(2, "1234567890")]);
  assertEquals(parser.pending, 0);
});

Deno.test("text dialect: a body that is not UTF-8 comes in a binary message", () => {
  const body = new Uint8Array([0xff, 0x00, 0x0a, 0xc3]);
  // What the hub sends: the whole block, alone, in a binary message.
  const block = encodeTextDeliver(4n, body);
  const { lines } = feed(["identity 1\n", block, "list 4\n"]);
  assertEquals(lines, [
    { kind: "identity", id: 1 },
    message(4, body),
    { kind: "list", ids: [4] },
  ]);
  assertEquals(
    bodyText(lines[1] as { body: Uint8Array; text: null }),
    "4 bytes (binary)",
  );
  // An ArrayBuffer, as a WebSocket with binaryType "arraybuffer" gives it.
  const copy = block.slice();
  assertEquals(feed([copy.buffer]).lines, [message(4, body)]);
});

Deno.test("text dialect: parseLine is case-insensitive in its word", () => {
  assertEquals(parseLine("IDENTITY 3"), { kind: "identity", id: 3 });
  assertEquals(parseLine("Auth OK"), { kind: "auth" });
  assertEquals(parseLine("relayed 1 unknown"), {
    kind: "other",
    line: "relayed 1 unknown",
  });
});

Deno.test("text dialect: typed receiver lists", () => {
  assertEquals(parseIds("2,3"), [2, 3]);
  assertEquals(parseIds(" 3 , 2,3, "), [3, 2]);
  assertEquals(parseIds(""), "Choose at least one receiver");
  assertEquals(parseIds(" , "), "Choose at least one receiver");
  assertEquals(parseIds("2,x"), '"x" is not a client id');
  assertEquals(parseIds("0"), '"0" is not a client id');
  assertEquals(parseIds("-1"), '"-1" is not a client id');
  assertEquals(parseIds("1.5"), '"1.5" is not a client id');
  assertEquals(
    parseIds("99999999999999999999"),
    '"99999999999999999999" is not a client id',
  );
  const many = Array.from({ length: 256 }, (_, i) => i + 1).join(",");
  assertEquals(parseIds(many), "At most 255 receivers, not 256");
});

Deno.test("text dialect: relay lines", () => {
  assertEquals(relayLine([2], "hello world"), "relay 2 hello world\n");
  assertEquals(relayLine([2, 3], "é"), "relay 2,3 é\n");
  assertThrows(() => relayLine([2], "a\nb"), Error, "one line");
  assertThrows(() => relayLine([2], "a\rb"), Error, "one line");
  assertThrows(() => relayLine([2], ""), Error, "empty");
});

Deno.test("text dialect: bodies as the panel shows them", () => {
  assertEquals(bodyText({ body: encode("hi"), text: "hi" }), "hi");
  assertEquals(
    bodyText({ body: new Uint8Array([0xff]), text: null }),
    "1 byte (binary)",
  );
});

Deno.test("text dialect: the WebSocket URL of a listener", () => {
  const at = (address: string, tls = false, page = "example.net") =>
    socketUrl({ address, tls }, page);
  assertEquals(at("0.0.0.0:8081"), "ws://example.net:8081/");
  assertEquals(at("[::]:8081"), "ws://example.net:8081/");
  assertEquals(at("0.0.0.0:8081", true), "wss://example.net:8081/");
  assertEquals(at("127.0.0.1:8081"), "ws://127.0.0.1:8081/");
  assertEquals(at("[::1]:8081"), "ws://[::1]:8081/");
  assertEquals(at("[::]:8081", false, "[::1]"), "ws://[::1]:8081/");
  assertEquals(at("[::]:8081", false, "::1"), "ws://[::1]:8081/");
});
