/**
 * The soak's load: holds a number of registered connections, churns them
 * (closes some and opens new ones), and sends receipted relays between
 * random live clients at a steady rate. Library code: it never prints; the
 * script reads {@linkcode SoakRun.snapshot} once a second.
 *
 * @module
 */
import {
  encodeSoakRelay,
  type HubClose,
  SoakClient,
  SoakOpenError,
} from "./client.ts";
import { SoakLedger } from "./ledger.ts";

/** The load's shape. */
export interface SoakLoad {
  /** Connections to hold. */
  connections: number;
  /** Connections closed and reopened per second. */
  churnPerSec: number;
  /** Relays per second, all senders together. */
  relaysPerSec: number;
  /** Body bytes per relay. */
  size: number;
}

/** Where the run stands. */
export interface SoakSnapshot {
  /** Registered connections the soak holds. */
  held: number;
  /** Connections being opened. */
  opening: number;
  /** Connections closed by the churn. */
  churned: number;
  /** Connections that could not be opened or registered. */
  openFailures: number;
  /** Connections the hub ended, by cause. */
  hubCloses: ReadonlyMap<string, number>;
  /** Messages queued per receipts and not read yet, by live receivers. */
  awaiting: number;
  /** Receipts still due to live senders. */
  pendingReceipts: number;
}

/** Opens and registers one connection within this, or it counts as failed. */
const OPEN_TIMEOUT_MS = 10_000;
/** Connections opened at once while ramping up. */
const RAMP_PARALLEL = 64;
/** Pacing tick of relays and churn. */
const TICK_MS = 10;
/** Wait before replacing a connection that could not be opened. */
const RETRY_MS = 1000;

/** One soak run against a hub at `address`. */
export class SoakRun {
  /** The relays, receipts and deliveries of this run. */
  readonly ledger: SoakLedger;
  /** The load's shape. */
  readonly load: SoakLoad;
  /** The last reason a connection failed to open, for the report. */
  lastOpenError = "";
  /** The first few hub closes, with detail, for the report. */
  readonly closeSamples: string[] = [];
  #address: Deno.NetAddr;
  #live: SoakClient[] = [];
  #byId = new Map<number, SoakClient>();
  #opening = 0;
  #opened = 0;
  #churned = 0;
  #openFailures = 0;
  #hubCloses = new Map<string, number>();
  #stopped = false;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #openings = new Set<Promise<void>>();

  /**
   * Prepares a run against the hub at `address`; nothing opens before
   * {@linkcode SoakRun.rampUp}.
   */
  constructor(address: Deno.NetAddr, load: SoakLoad) {
    this.#address = address;
    this.load = load;
    this.ledger = new SoakLedger(load.size, (id) => this.#byId.get(id));
  }

  /** Connections opened so far, registered ones only. */
  get opened(): number {
    return this.#opened;
  }

  /** Counts at this moment. */
  snapshot(): SoakSnapshot {
    let awaiting = 0;
    let pendingReceipts = 0;
    for (const client of this.#live) {
      awaiting += client.awaiting;
      pendingReceipts += client.pendingReceipts;
    }
    return {
      held: this.#live.length,
      opening: this.#opening,
      churned: this.#churned,
      openFailures: this.#openFailures,
      hubCloses: this.#hubCloses,
      awaiting,
      pendingReceipts,
    };
  }

  /** Opens connections until the soak holds `load.connections`. */
  async rampUp(): Promise<void> {
    const worker = async () => {
      while (
        !this.#stopped &&
        this.#live.length + this.#opening < this.load.connections
      ) {
        await this.#openOne(false);
      }
    };
    await Promise.all(Array.from({ length: RAMP_PARALLEL }, worker));
  }

  /**
   * Relays and churns at the load's rates until `durationMs` has passed or
   * {@linkcode stop} is called.
   */
  async run(durationMs: number): Promise<void> {
    const start = performance.now();
    const relayBurst = Math.max(1, this.load.relaysPerSec / 10);
    const churnBurst = Math.max(1, this.load.churnPerSec / 10);
    let churns = 0;
    let relays = 0;
    await new Promise<void>((resolve) => {
      this.#ticker = setInterval(() => {
        const elapsed = performance.now() - start;
        if (this.#stopped || elapsed >= durationMs) {
          clearInterval(this.#ticker);
          resolve();
          return;
        }
        // Catch up after a stall, but at most a tenth of a second at a time.
        const dueRelays = Math.min(
          relayBurst,
          Math.floor(this.load.relaysPerSec * elapsed / 1000) - relays,
        );
        for (let i = 0; i < dueRelays; i++, relays++) this.#relayOne();
        const dueChurns = Math.min(
          churnBurst,
          Math.floor(this.load.churnPerSec * elapsed / 1000) - churns,
        );
        for (let i = 0; i < dueChurns; i++, churns++) this.#churnOne();
      }, TICK_MS);
    });
  }

  /** Ends the ramp or the load early. */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Waits until every live receiver has read what was queued for it and
   * every live sender has its receipts, or `ms` has passed. Resolves to the
   * time it took.
   */
  async settle(ms: number): Promise<number> {
    const start = performance.now();
    while (performance.now() - start < ms) {
      const { awaiting, pendingReceipts } = this.snapshot();
      if (awaiting === 0 && pendingReceipts === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return performance.now() - start;
  }

  /** Closes every connection and waits for their read loops to end. */
  async closeAll(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#openings);
    const clients = this.#live;
    this.#live = [];
    this.#byId.clear();
    for (const client of clients) {
      client.slot = -1;
      client.close();
    }
    await Promise.all(clients.map((client) => client.done));
  }

  /** Forgets a live client: it no longer sends, receives or counts as live. */
  #drop(client: SoakClient): void {
    const slot = client.slot;
    if (slot < 0) return;
    const last = this.#live.pop()!;
    if (last !== client) {
      this.#live[slot] = last;
      last.slot = slot;
    }
    client.slot = -1;
    this.#byId.delete(client.id);
  }

  #onHubClose = (client: SoakClient, close: HubClose): void => {
    this.#drop(client);
    this.#hubCloses.set(
      close.cause,
      (this.#hubCloses.get(close.cause) ?? 0) + 1,
    );
    if (this.closeSamples.length < 5) {
      this.closeSamples.push(
        `client ${client.id}: ${close.cause} ${close.detail}`.trim(),
      );
    }
    // Keep the load: a client the hub dropped is replaced like a churned one.
    if (!this.#stopped) void this.#openOne(true);
  };

  /**
   * Opens one connection. With `replace`, a failure is retried after
   * {@linkcode RETRY_MS}; the ramp retries on its own.
   */
  #openOne(replace: boolean): Promise<void> {
    this.#opening++;
    const opening = (async () => {
      try {
        const client = await SoakClient.open(
          this.#address,
          this.ledger,
          this.#onHubClose,
          OPEN_TIMEOUT_MS,
        );
        this.#opened++;
        client.slot = this.#live.length;
        this.#live.push(client);
        this.#byId.set(client.id, client);
      } catch (error) {
        if (!(error instanceof SoakOpenError)) throw error;
        this.#openFailures++;
        this.lastOpenError = error.message;
        if (replace) {
          setTimeout(() => {
            if (!this.#stopped) void this.#openOne(true);
          }, RETRY_MS);
        }
      } finally {
        this.#opening--;
      }
    })();
    this.#openings.add(opening);
    opening.finally(() => this.#openings.delete(opening));
    return opening;
  }

  #pick(): SoakClient {
    return this.#live[Math.floor(Math.random() * this.#live.length)]!;
  }

  #relayOne(): void {
    if (this.#live.length < 2) return;
    const sender = this.#pick();
    let receiver = this.#pick();
    while (receiver === sender) receiver = this.#pick();
    const seq = this.ledger.record(sender.id, receiver.id);
    sender.relay(encodeSoakRelay(receiver.id, seq, this.load.size), seq);
  }

  #churnOne(): void {
    if (this.#live.length === 0) return;
    const victim = this.#pick();
    this.#drop(victim);
    victim.close();
    this.#churned++;
    void this.#openOne(true);
  }
}
