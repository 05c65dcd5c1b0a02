/**
 * S3-FIFO (Yang et al., SOSP 2023): a small FIFO (10% of the capacity) that new keys enter, a main
 * FIFO with reinsertion (2-bit frequency, CLOCK-like), and a ghost FIFO of keys recently dropped
 * from the small queue, as large as the cache. A key leaving the small queue moves to main if it was
 * hit there at least twice (libCacheSim's move-to-main threshold), else it becomes a ghost; a ghost
 * that is requested again goes straight to main. Returns the number of hits.
 */
export function simulateS3Fifo(keys: Int32Array, universe: number, capacity: number): number {
  const smallMax = Math.max(1, Math.floor(capacity * 0.1));
  const mainMax = capacity - smallMax;
  const ghostMax = capacity;
  // Each queue is a ring of keys; a key's place is only ever its queue's tail when it leaves.
  const small = new Ring(capacity + 1);
  const main = new Ring(capacity + 1);
  const freq = new Int8Array(universe);
  /** 0 absent, 1 small, 2 main. */
  const where = new Int8Array(universe);
  // The ghost queue is implicit: a key is a ghost while fewer than `ghostMax` keys became ghosts
  // after it. ghostStamp is the count of ghosts made up to and including the key (0: not a ghost).
  const ghostStamp = new Float64Array(universe);
  let ghostPushes = 0;
  const isGhost = (k: number): boolean => {
    const s = ghostStamp[k]!;
    return s !== 0 && ghostPushes - (s - 1) <= ghostMax;
  };
  const evictMain = (): void => {
    for (;;) {
      const k = main.pop();
      const f = freq[k]!;
      if (f > 0) {
        freq[k] = f - 1;
        main.push(k);
      } else {
        where[k] = 0;
        return;
      }
    }
  };
  const insertMain = (k: number): void => {
    if (main.size >= mainMax) evictMain();
    main.push(k);
    where[k] = 2;
  };
  const evictSmall = (): void => {
    while (small.size > 0) {
      const k = small.pop();
      if (freq[k]! > 1) {
        freq[k] = 0;
        insertMain(k);
      } else {
        where[k] = 0;
        ghostStamp[k] = ++ghostPushes;
        return;
      }
    }
  };
  let hits = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (where[k] !== 0) {
      hits++;
      if (freq[k]! < 3) freq[k]!++;
      continue;
    }
    if (small.size + main.size >= capacity) {
      if (small.size >= smallMax || main.size === 0) evictSmall();
      else evictMain();
    }
    freq[k] = 0;
    if (isGhost(k)) {
      ghostStamp[k] = 0;
      insertMain(k);
    } else {
      small.push(k);
      where[k] = 1;
    }
  }
  return hits;
}

class Ring {
  private readonly items: Int32Array;
  private head = 0;
  size = 0;
  constructor(private readonly capacity: number) {
    this.items = new Int32Array(capacity);
  }
  push(k: number): void {
    this.items[(this.head + this.size) % this.capacity] = k;
    this.size++;
  }
  pop(): number {
    const k = this.items[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return k;
  }
}
