/**
 * Drives a nats-server over the NATS text protocol, with the same sockets,
 * batching and counting as the msghub driver; over WebSocket (nats-server's
 * `websocket` listener) the same protocol goes inside binary messages. Each sender publishes to a
 * subject of its own that all its receivers subscribe to: one PUB reaches
 * them all, which is NATS at its best.
 *
 * @module
 */
import {
  type Address,
  type ConnectPlan,
  dial,
  type Driver,
  type Link,
  openAll,
  type Peer,
  readUntil,
} from "./driver.ts";
import { NatsWalker } from "./nats_walker.ts";

const encoder = new TextEncoder();
const CONNECT = 'CONNECT {"verbose":false,"pedantic":false}\r\n';

/**
 * Encodes `PUB subject size\r\n<body>\r\n` with a zeroed body.
 *
 * @example
 * ```ts
 * import { encodePub } from "./nats_driver.ts";
 * const { message, bodyOffset } = encodePub("s", 3);
 * const text = new TextDecoder().decode(message);
 * if (text !== "PUB s 3\r\n\0\0\0\r\n" || bodyOffset !== 9) throw new Error("Wrong PUB");
 * ```
 */
export function encodePub(
  subject: string,
  size: number,
): { message: Uint8Array; bodyOffset: number } {
  const head = encoder.encode(`PUB ${subject} ${size}\r\n`);
  const message = new Uint8Array(head.length + size + 2);
  message.set(head, 0);
  message[message.length - 2] = 0x0d;
  message[message.length - 1] = 0x0a;
  return { message, bodyOffset: head.length };
}

/**
 * Opens a connection, sends CONNECT and `commands`, and waits for the PONG
 * to a PING sent last: the server has then processed the commands.
 */
async function handshake(
  address: Address,
  commands: string,
  plan: ConnectPlan,
): Promise<Peer> {
  const wire = await dial(address, plan.transport);
  const walker = new NatsWalker(plan.histogram, plan.stampLength);
  const peer = { wire, walker };
  try {
    await readUntil(peer, () => walker.infos > 0, "INFO");
    await wire.write(encoder.encode(`${CONNECT}${commands}PING\r\n`));
    await readUntil(peer, () => walker.pongs > 0, "CONNECT");
  } catch (error) {
    wire.close();
    throw error;
  }
  return peer;
}

/** The NATS driver; subjects are unique to each run. */
export const natsDriver: Driver = {
  name: "nats",
  pong: encoder.encode("PONG\r\n"),
  async connect(address: Address, plan: ConnectPlan): Promise<Link[]> {
    const { shape } = plan;
    const run = crypto.randomUUID().slice(0, 8);
    const opened: Peer[] = [];
    const open = async (commands: string) => {
      const peer = await handshake(address, commands, plan);
      opened.push(peer);
      return peer;
    };
    try {
      return await openAll(shape.senders, async (index) => {
        const subject = `msghub.bench.${run}.${index}`;
        const receivers = await openAll(
          shape.receivers,
          () => open(`SUB ${subject} 1\r\n`),
        );
        const sender = await open("");
        const { message, bodyOffset } = encodePub(subject, shape.size);
        return { sender, receivers, message, stampOffset: bodyOffset };
      }, 1);
    } catch (error) {
      for (const peer of opened) peer.wire.close();
      throw error;
    }
  },
};
