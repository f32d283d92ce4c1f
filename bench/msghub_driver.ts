/**
 * Drives a msghub hub over the binary dialect: every connection registers
 * with IDENTITY (which also tells its id), and each sender RELAYs to all of
 * its receivers at once.
 *
 * @module
 */
import { encodeFrame, encodeRelay, Kind } from "../protocol/mod.ts";
import {
  type Address,
  type ConnectPlan,
  dial,
  type Driver,
  type Link,
  openAll,
  type Peer,
  readUntil,
  writeAll,
} from "./driver.ts";
import { FrameWalker } from "./frame_walker.ts";
import type { LatencyHistogram } from "./stats.ts";

const IDENTITY = encodeFrame(Kind.Identity);

/** Opens a binary connection and waits for its id: it is registered then. */
async function register(
  address: Address,
  histogram: LatencyHistogram,
  stampLength: number,
): Promise<{ peer: Peer; id: bigint }> {
  const conn = await dial(address);
  const walker = new FrameWalker(histogram, stampLength);
  const peer = { conn, walker };
  try {
    await writeAll(conn, IDENTITY);
    await readUntil(peer, () => walker.id !== null, "IDENTITY");
  } catch (error) {
    conn.close();
    throw error;
  }
  return { peer, id: walker.id! };
}

/** The msghub driver. */
export const msghubDriver: Driver = {
  name: "msghub",
  pong: encodeFrame(Kind.Pong),
  async connect(address: Address, plan: ConnectPlan): Promise<Link[]> {
    const { shape, histogram, stampLength } = plan;
    const opened: Peer[] = [];
    const open = async () => {
      const registered = await register(address, histogram, stampLength);
      opened.push(registered.peer);
      return registered;
    };
    try {
      return await openAll(shape.senders, async () => {
        const receivers = await openAll(shape.receivers, open);
        const sender = await open();
        const message = encodeRelay(
          receivers.map((r) => r.id),
          new Uint8Array(shape.size),
        );
        return {
          sender: sender.peer,
          receivers: receivers.map((r) => r.peer),
          message,
          // Header, receiver count and ids come before the body.
          stampOffset: message.length - shape.size,
        };
      }, 1);
    } catch (error) {
      for (const peer of opened) peer.conn.close();
      throw error;
    }
  },
};
