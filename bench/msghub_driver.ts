/**
 * Drives a msghub hub over the binary dialect: every connection registers
 * with IDENTITY (which also tells its id), and each sender RELAYs to all of
 * its receivers at once.
 *
 * @module
 */
import { connect } from "../client/mod.ts";
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
} from "./driver.ts";
import { FrameWalker } from "./frame_walker.ts";
import type { Transport } from "./wire.ts";

const IDENTITY = encodeFrame(Kind.Identity);

/** Opens a binary connection and waits for its id: it is registered then. */
async function register(
  address: Address,
  plan: ConnectPlan,
): Promise<{ peer: Peer; id: bigint }> {
  const wire = await dial(address, plan.transport);
  const walker = new FrameWalker(plan.histogram, plan.stampLength);
  const peer = { wire, walker };
  try {
    await wire.write(IDENTITY);
    await readUntil(peer, () => walker.id !== null, "IDENTITY");
  } catch (error) {
    wire.close();
    throw error;
  }
  return { peer, id: walker.id! };
}

/**
 * Waits until the hub at `address` lists every id of `ids`: receivers on
 * another hub of a cluster are reachable from then on.
 */
async function waitListed(
  address: Address,
  transport: Transport,
  ids: bigint[],
): Promise<void> {
  const host = address.hostname.includes(":")
    ? `[${address.hostname}]`
    : address.hostname;
  const scheme = transport === "ws" ? "ws" : "msghub";
  await using probe = await connect(`${scheme}://${host}:${address.port}`);
  const start = performance.now();
  while (true) {
    const listed = new Set(await probe.list());
    if (ids.every((id) => listed.has(id))) return;
    if (performance.now() - start > 10_000) {
      throw new Error(
        `the senders' hub did not list all ${ids.length} receivers in 10 s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The msghub driver. */
export const msghubDriver: Driver = {
  name: "msghub",
  pong: encodeFrame(Kind.Pong),
  async connect(address: Address, plan: ConnectPlan): Promise<Link[]> {
    const { shape } = plan;
    const opened: Peer[] = [];
    const open = async (at: Address = address) => {
      const registered = await register(at, plan);
      opened.push(registered.peer);
      return registered;
    };
    const senderAddress = plan.senderAddress;
    try {
      return await openAll(shape.senders, async () => {
        const receivers = await openAll(shape.receivers, () => open());
        const sender = await open(senderAddress);
        if (senderAddress !== undefined) {
          await waitListed(
            senderAddress,
            plan.transport,
            receivers.map((r) => r.id),
          );
        }
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
      for (const peer of opened) peer.wire.close();
      throw error;
    }
  },
};
