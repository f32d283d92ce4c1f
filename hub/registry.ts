/**
 * The hub's registry of clients: it gives out user ids, knows which clients
 * are registered (visible to lists and relays), caches the sorted list that
 * LIST replies are cut from, and counts the registered clients by dialect.
 * It knows nothing of sockets: a client is anything with an id and a dialect.
 *
 * @module
 */
import { MAX_LIST_IDS } from "../protocol/mod.ts";
import type { LogLevel } from "./config.ts";

/** Which dialect a connection speaks; fixed by its first byte. */
export const Dialect = { Unknown: 0, Binary: 1, Text: 2 } as const;
/** One of {@linkcode Dialect}'s values. */
export type Dialect = typeof Dialect[keyof typeof Dialect];

/** What the registry needs of a client. */
export interface RegisteredClient {
  /** The user id it was given by {@linkcode Registry.nextId}. */
  readonly id: number;
  /** Its dialect; known by the time it registers. */
  readonly dialect: Dialect;
}

/** What the registry needs of the cluster, when the hub is in one. */
export interface RegistryCluster {
  /** The next id of this hub's epoch; `null` while it has none to give. */
  nextId(): number | null;
  /** Announces a client registered here. */
  joined(id: number): void;
  /** Announces a client that left here. */
  left(id: number): void;
  /** The clients registered on the other hubs, by id. */
  readonly view: { readonly clients: ReadonlyMap<number, unknown> };
}

/** Logs an event: the hub's logger, which never throws. */
export type HubLog = (
  level: LogLevel,
  message: string,
  fields: Record<string, string | number | bigint | boolean>,
) => void;

/** Options of {@linkcode Registry}. */
export interface RegistryOptions {
  /** The hub's link to its cluster: ids and lists then span the cluster. */
  cluster?: RegistryCluster | null;
  /** Where the registry reports a list cut short or running out of ids. */
  log?: HubLog;
}

/**
 * The registered clients of one hub, by id.
 *
 * @typeParam C the kind of client registered
 *
 * @example Ids go up, and lists leave out the asker
 * ```ts
 * import { Dialect, Registry } from "./registry.ts";
 * const registry = new Registry();
 * const a = { id: registry.nextId()!, dialect: Dialect.Binary };
 * const b = { id: registry.nextId()!, dialect: Dialect.Text };
 * registry.add(a);
 * registry.add(b);
 * registry.delete(b);
 * const c = { id: registry.nextId()!, dialect: Dialect.Binary };
 * registry.add(c);
 * if (c.id !== 3) throw new Error("An id was handed out again");
 * if (registry.listFor(a.id).join() !== "3") throw new Error("Wrong list");
 * ```
 */
export class Registry<C extends RegisteredClient = RegisteredClient> {
  #clients = new Map<number, C>();
  #cluster: RegistryCluster | null;
  #log: HubLog;
  /** The local ids of a hub without a cluster. */
  #nextId = 1;
  /** Every id in the cluster, ascending; `null` once stale. */
  #sorted: number[] | null = null;
  /** Set once a list was cut to MAX_LIST_IDS. */
  #listCut = false;
  /** Set while the cluster has no id to give: logged once per spell. */
  #outOfIds = false;

  /** Makes an empty registry; see {@linkcode RegistryOptions}. */
  constructor(options: RegistryOptions = {}) {
    this.#cluster = options.cluster ?? null;
    this.#log = options.log ?? (() => {});
  }

  /**
   * The id for a new connection: never one given before, so a message for a
   * client that left never reaches a newcomer. `null` while a cluster hub has
   * no id to give (until NATS gives it a new epoch).
   */
  nextId(): number | null {
    if (this.#cluster === null) return this.#nextId++;
    const id = this.#cluster.nextId();
    if (id === null && !this.#outOfIds) {
      this.#log("error", "out of ids until NATS gives a new epoch", {});
    }
    this.#outOfIds = id === null;
    return id;
  }

  /** How many clients are registered here. */
  get size(): number {
    return this.#clients.size;
  }

  /** The registered client with this id, if it is registered here. */
  get(id: number): C | undefined {
    return this.#clients.get(id);
  }

  /** Ids of the clients registered here. */
  ids(): IterableIterator<number> {
    return this.#clients.keys();
  }

  /** Makes a client visible to lists and relays. */
  add(client: C): void {
    this.#clients.set(client.id, client);
    this.#sorted = null;
    this.#cluster?.joined(client.id);
    this.#log("debug", "registered", {
      id: client.id,
      dialect: client.dialect === Dialect.Binary ? "binary" : "text",
    });
  }

  /** Hides a client from lists and relays; returns whether it was registered. */
  delete(client: C): boolean {
    if (this.#clients.get(client.id) !== client) return false;
    this.#clients.delete(client.id);
    this.#sorted = null;
    this.#cluster?.left(client.id);
    return true;
  }

  /** The clients of the other hubs changed: the cached list is stale. */
  invalidate(): void {
    this.#sorted = null;
  }

  /** Ids of every client in the cluster but `id`, ascending, cut to what a reply may carry. */
  listFor(id: number): number[] {
    if (this.#sorted === null) {
      const ids = [...this.#clients.keys()];
      if (this.#cluster !== null) {
        for (const remote of this.#cluster.view.clients.keys()) {
          ids.push(remote);
        }
      }
      this.#sorted = ids.sort((a, b) => a - b);
    }
    const list = this.#sorted.filter((other) => other !== id);
    // A cluster can hold more clients than one LIST_REPLY may carry: the
    // lowest ids are listed, and the operator hears of it once.
    if (list.length > MAX_LIST_IDS) {
      if (!this.#listCut) {
        this.#listCut = true;
        this.#log("warn", "lists cut to the most a reply may carry", {
          clients: list.length + 1,
          listed: MAX_LIST_IDS,
        });
      }
      list.length = MAX_LIST_IDS;
    }
    return list;
  }

  /** Registered clients here, by dialect. */
  dialects(): { binary: number; text: number } {
    const counts = { binary: 0, text: 0 };
    for (const client of this.#clients.values()) {
      if (client.dialect === Dialect.Binary) counts.binary++;
      else counts.text++;
    }
    return counts;
  }
}
