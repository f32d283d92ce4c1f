/**
 * The msghub wire protocol, version 1: frame kinds, limits, the encoder, the
 * incremental binary and text parsers, the outbound write queue and the pool
 * of large buffers it writes from. Pure
 * code: no sockets, timers or console; `hub/` and `client/` build on it.
 *
 * @module
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./encode.ts";
export * from "./frame_parser.ts";
export * from "./text.ts";
export * from "./outbound.ts";
export * from "./buffer_pool.ts";
export * from "./sha1.ts";
export * from "./utf8.ts";
export * from "./ws_constants.ts";
export * from "./ws_errors.ts";
export * from "./ws_encode.ts";
export * from "./ws_frame_parser.ts";
export * from "./ws_handshake.ts";
export * from "./ws_origin.ts";
