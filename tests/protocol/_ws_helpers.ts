/**
 * Test helpers for the WebSocket codec: byte utilities, the fuzz runs' size
 * mix, and a
 * recorder of what a `WsFrameParser` hands out, normalized so that runs with
 * different chunkings compare equal.
 */
import {
  encodeWsFrame,
  WsFrameParser,
  type WsFrameParserOptions,
  type WsOpcode,
} from "../../protocol/mod.ts";

import { concat as stdConcat } from "@std/bytes/concat";
export { Random } from "../_random.ts";

/** The size mix of the WebSocket fuzz runs: frames are mostly tiny. */
export const WS_SIZES = [8, 200, 3000, 70_000] as const;

export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/** The parts joined into one buffer (`@std/bytes`, typed here). */
export const concat: (parts: Uint8Array[]) => Uint8Array = stdConcat;

export function bytesOf(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** What a parser handed out, in order; consecutive data pieces joined. */
export type WsEvent =
  | { type: "data"; text: boolean; bytes: Uint8Array }
  | { type: "end"; text: boolean }
  | { type: "ping"; bytes: Uint8Array }
  | { type: "pong"; bytes: Uint8Array }
  | { type: "close"; code: number; reason: string };

/** Records events; checks every data view lies in the chunk being parsed. */
export class Recorder {
  events: WsEvent[] = [];
  /** The chunk being parsed: data views must be views of it (no copy). */
  current: Uint8Array | null = null;
  dataCalls = 0;
  readonly parser: WsFrameParser;

  constructor(options: WsFrameParserOptions = {}) {
    this.parser = new WsFrameParser({
      onData: (payload, text) => {
        if (payload.length === 0) throw new Error("onData with no bytes");
        const chunk = this.current;
        if (chunk !== null) {
          if (
            payload.buffer !== chunk.buffer ||
            payload.byteOffset < chunk.byteOffset ||
            payload.byteOffset + payload.length >
              chunk.byteOffset + chunk.length
          ) throw new Error("onData payload is not a view of the chunk");
        }
        this.dataCalls++;
        const last = this.events.at(-1);
        if (last?.type === "data") {
          if (last.text !== text) throw new Error("text flag changed mid-run");
          last.bytes = concat([last.bytes, payload]);
        } else {
          this.events.push({ type: "data", text, bytes: payload.slice() });
        }
      },
      onEnd: (text) => this.events.push({ type: "end", text }),
      onPing: (payload) =>
        this.events.push({ type: "ping", bytes: payload.slice() }),
      onPong: (payload) =>
        this.events.push({ type: "pong", bytes: payload.slice() }),
      onClose: (code, reason) =>
        this.events.push({ type: "close", code, reason }),
    }, options);
  }

  /** Parses a copy of `chunk` (the parser unmasks in place). */
  feed(chunk: Uint8Array): void {
    const copy = chunk.slice();
    this.current = copy;
    try {
      this.parser.parse(copy);
    } finally {
      this.current = null;
    }
    if (this.parser.buffered > 14 + 125) {
      throw new Error(`buffered ${this.parser.buffered}`);
    }
  }
}

/** One frame of a fixture, before encoding. */
export interface FrameSpec {
  opcode: WsOpcode;
  payload: Uint8Array;
  fin?: boolean;
  mask?: Uint8Array;
}

/** Encodes frames, masked with each frame's key or a fixed one. */
export function encodeFrames(
  frames: readonly FrameSpec[],
  masked = true,
): Uint8Array {
  return concat(frames.map((f) =>
    encodeWsFrame(
      f.opcode,
      f.payload,
      masked
        ? { fin: f.fin ?? true, mask: f.mask ?? new Uint8Array([1, 2, 3, 4]) }
        : { fin: f.fin ?? true },
    )
  ));
}

/**
 * The events a correct parser gives for valid `frames`: a reference model
 * with no notion of chunks.
 */
export function expectedEvents(frames: readonly FrameSpec[]): WsEvent[] {
  const events: WsEvent[] = [];
  let text = false;
  const decoder = new TextDecoder();
  for (const f of frames) {
    const fin = f.fin ?? true;
    if (f.opcode === 1 || f.opcode === 2) text = f.opcode === 1;
    if (f.opcode <= 2) {
      if (f.payload.length > 0) {
        const last = events.at(-1);
        if (last?.type === "data") {
          last.bytes = concat([last.bytes, f.payload]);
        } else events.push({ type: "data", text, bytes: f.payload.slice() });
      }
      if (fin) events.push({ type: "end", text });
    } else if (f.opcode === 9) {
      events.push({ type: "ping", bytes: f.payload.slice() });
    } else if (f.opcode === 10) {
      events.push({ type: "pong", bytes: f.payload.slice() });
    } else {
      const p = f.payload;
      events.push(
        p.length === 0 ? { type: "close", code: 1005, reason: "" } : {
          type: "close",
          code: (p[0]! << 8) | p[1]!,
          reason: decoder.decode(p.subarray(2)),
        },
      );
      break;
    }
  }
  return events;
}
