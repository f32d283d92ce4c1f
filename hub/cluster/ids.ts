/**
 * Client ids in a cluster: `epoch × 2^32 + n`, where the epoch is a number
 * this hub took from NATS (JetStream's sequence number, never handed out
 * twice) and `n` counts from 1. A hub that uses up an epoch's 2^32 - 1 ids
 * takes another. Ids stay below 2^53, so they are exact as JavaScript numbers.
 *
 * @module
 */

/** Ids one epoch gives out. */
export const IDS_PER_EPOCH = 0x1_0000_0000;
/** The largest epoch whose ids stay below 2^53. */
export const MAX_EPOCH = 0x1f_ffff;

/** Hands out ids from epochs, fetching the next epoch before one runs out. */
export class IdSource {
  #epoch: number;
  #base: number;
  #next = 1;
  #perEpoch: number;
  #spare: number | null = null;
  #fetching = false;
  #takeEpoch: () => Promise<number>;
  #onError: (error: unknown) => void;

  /**
   * Starts handing out the ids of `epoch`.
   *
   * @param epoch the first epoch, already taken
   * @param takeEpoch takes a fresh epoch from NATS
   * @param onError told when taking an epoch fails (it is tried again later)
   * @param perEpoch ids per epoch; smaller only in tests
   */
  constructor(
    epoch: number,
    takeEpoch: () => Promise<number>,
    onError: (error: unknown) => void,
    perEpoch: number = IDS_PER_EPOCH,
  ) {
    checkEpoch(epoch);
    this.#epoch = epoch;
    this.#base = epoch * perEpoch;
    this.#perEpoch = perEpoch;
    this.#takeEpoch = takeEpoch;
    this.#onError = onError;
  }

  /** The epoch of the ids given out now. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The next id, or `null` when the epoch ran out before the next arrived. */
  next(): number | null {
    if (this.#next >= this.#perEpoch) {
      if (this.#spare === null) {
        this.#fetch();
        return null;
      }
      this.#epoch = this.#spare;
      this.#base = this.#spare * this.#perEpoch;
      this.#spare = null;
      this.#next = 1;
    }
    // From half-way through an epoch, take the next one (again, each id,
    // while taking it fails).
    if (this.#next >= this.#perEpoch / 2 && this.#spare === null) {
      this.#fetch();
    }
    return this.#base + this.#next++;
  }

  #fetch(): void {
    if (this.#fetching) return;
    this.#fetching = true;
    this.#takeEpoch().then(
      (epoch) => {
        checkEpoch(epoch);
        this.#spare = epoch;
      },
    ).catch(this.#onError).finally(() => {
      this.#fetching = false;
    });
  }
}

/** Throws when an epoch would make ids past 2^53. */
export function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 1 || epoch > MAX_EPOCH) {
    throw new RangeError(
      `hub epoch ${epoch} is out of range 1 to ${MAX_EPOCH}: the cluster has used up its ids (see docs/CLUSTER.md)`,
    );
  }
}
