/**
 * Hub numbers through JetStream. Every hub of a cluster takes a number that
 * no other hub had before: the sequence number JetStream gives a message on
 * the cluster's numbering stream (file storage keeps the count across NATS
 * restarts). The number is the epoch of the hub's first client ids (see
 * `ids.ts`), and a hub that uses up an epoch takes another the same way.
 *
 * {@linkcode takeNumber} holds the rule for a count that went back: a number
 * at or below one in use means NATS lost its count, and the count is moved
 * past every number in use before one is handed out. Nothing here loads
 * NATS: `link.ts` hands in the JetStream calls ({@linkcode StreamApi}).
 *
 * @example A count that went back is moved past the numbers in use
 * ```ts
 * import { type HubNumbers, takeNumber } from "./numbering.ts";
 * import { assertEquals } from "@std/assert";
 *
 * let count = 0;
 * const numbers: HubNumbers = {
 *   take: () => Promise.resolve(++count),
 *   skipTo: (next) => {
 *     count = next - 1;
 *     return Promise.resolve();
 *   },
 * };
 * assertEquals(await takeNumber(numbers, 7, () => {}), 8);
 * ```
 *
 * @module
 */
import { decodePresence, Presence } from "./wire.ts";
import {
  type ClusterConnection,
  ClusterError,
  type ClusterLog,
  type ClusterOptions,
} from "./types.ts";

/** The cluster's count of hub numbers. */
export interface HubNumbers {
  /** Takes the next number. */
  take(): Promise<number>;
  /** Moves the count on so that the next number taken is `next`. */
  skipTo(next: number): Promise<void>;
}

/**
 * Takes a hub number larger than `inUse`, the largest number or epoch known
 * to be in use. When the count went back (the stream's files were lost, or it
 * was deleted) it skips past every number in use rather than hand one out
 * twice, and logs that; rejects with {@linkcode ClusterError} if even that
 * gives a number in use.
 */
export async function takeNumber(
  numbers: HubNumbers,
  inUse: number,
  log: ClusterLog,
): Promise<number> {
  let epoch = await numbers.take();
  if (epoch <= inUse) {
    log("warn", "hub numbering was reset in NATS; skipping past", {
      given: epoch,
      in_use: inUse,
    });
    await numbers.skipTo(inUse + 1);
    epoch = await numbers.take();
    if (epoch <= inUse) {
      throw new ClusterError(
        `NATS gave hub number ${epoch}, but ${inUse} is in use`,
      );
    }
  }
  return epoch;
}

/**
 * Listens to the cluster's heartbeats for one and a half heartbeat periods
 * and returns the largest hub number or epoch in use (0 for none).
 */
export async function epochsInUse(
  nc: ClusterConnection,
  options: ClusterOptions,
): Promise<number> {
  let most = 0;
  const sub = nc.subscribe(`msghub.${options.name}.presence`, {
    callback: (error, msg) => {
      if (error !== null) return;
      try {
        const message = decodePresence(msg.data);
        most = Math.max(most, message.hub);
        if (message.kind === Presence.Heartbeat) {
          most = Math.max(most, message.epoch);
        }
      } catch {
        // Someone else's mistake; the link counts these once it runs.
      }
    },
  });
  await nc.flush();
  await new Promise((resolve) =>
    setTimeout(resolve, options.heartbeatMs * 1.5)
  );
  sub.unsubscribe();
  return most;
}

/**
 * What numbering needs of JetStream: the few calls it makes, so that the
 * rules here run without NATS in tests (`link.ts` adapts the NATS client).
 */
export interface StreamApi {
  /**
   * Resolves when stream `name` exists, with its replicas when known;
   * rejects when it does not.
   */
  info(name: string): Promise<{ replicas?: number }>;
  /**
   * Makes a stream of file storage on `subject` that keeps one message, with
   * `replicas` copies on as many NATS servers.
   */
  add(name: string, subject: string, replicas: number): Promise<unknown>;
  /** Purges stream `name` up to sequence `seq`, exclusive. */
  purge(name: string, seq: number): Promise<unknown>;
  /** Publishes `data` on `subject`; resolves with its stream sequence. */
  publish(subject: string, data: Uint8Array): Promise<number>;
}

/**
 * Makes sure the stream that numbers the hubs of cluster `name` exists and
 * returns its count: each number is the sequence JetStream gives a message
 * on it (file storage keeps the count across NATS restarts). A stream made
 * here has `replicas` copies; one already there is used as it is (a
 * different count is logged). `api` is `null`
 * when the server has no JetStream: that rejects with
 * {@linkcode ClusterError}.
 */
export async function hubNumbers(
  api: StreamApi | null,
  name: string,
  replicas = 1,
  log: ClusterLog = () => {},
): Promise<HubNumbers> {
  if (api === null) {
    throw new ClusterError(
      "the NATS server has no JetStream (start nats-server with -js): msghub numbers its hubs with it",
    );
  }
  const stream = `MSGHUB_${name}_HUBS`;
  const subject = `msghub.${name}.hubs`;
  let found: { replicas?: number } | null = null;
  try {
    found = await api.info(stream);
  } catch {
    try {
      await api.add(stream, subject, replicas);
    } catch (error) {
      // Another hub may have made it meanwhile.
      await api.info(stream).catch(() => {
        throw error;
      });
    }
  }
  if (found?.replicas !== undefined && found.replicas !== replicas) {
    // An operator may have made it by hand: it is used as it is.
    log(
      "warn",
      "the hub-numbering stream has other replicas; using it as it is",
      {
        stream,
        replicas: found.replicas,
        asked: replicas,
      },
    );
  }
  return {
    take: () => api.publish(subject, new TextEncoder().encode("hub")),
    // A purge up to a sequence past the last one moves the count there.
    skipTo: async (next) => {
      await api.purge(stream, next);
    },
  };
}
