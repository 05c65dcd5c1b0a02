/**
 * Belady's OPT (clairvoyant): on a miss with the cache full, drop whichever of the cached keys and the
 * newcomer is requested again furthest in the future (never again counts as furthest), so the
 * newcomer may bypass the cache. The upper bound of any policy. Returns the number of hits.
 */
export function simulateOpt(keys: Int32Array, universe: number, capacity: number): number {
  const n = keys.length;
  // nextUse[i]: the next position of keys[i], or n + key when it never comes back (distinct, and later
  // than every real position).
  const nextUse = new Int32Array(n);
  const seen = new Int32Array(universe).fill(-1);
  for (let i = n - 1; i >= 0; i--) {
    const k = keys[i]!;
    const s = seen[k]!;
    nextUse[i] = s < 0 ? n + k : s;
    seen[k] = i;
  }
  // Max-heap of next-use positions of cached keys. A position is unique to one request, so a key is
  // cached and current exactly while its recorded next use is in the heap.
  const heap = new Int32Array(capacity + 1);
  const slotOf = new Int32Array(n + universe).fill(-1);
  let size = 0;
  const up = (i: number): void => {
    const v = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pv = heap[parent]!;
      if (pv >= v) break;
      heap[i] = pv;
      slotOf[pv] = i;
      i = parent;
    }
    heap[i] = v;
    slotOf[v] = i;
  };
  const down = (i: number): void => {
    const v = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1]! > heap[child]!) child++;
      const cv = heap[child]!;
      if (cv <= v) break;
      heap[i] = cv;
      slotOf[cv] = i;
      i = child;
    }
    heap[i] = v;
    slotOf[v] = i;
  };
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const next = nextUse[i]!;
    const at = slotOf[i]!;
    if (at >= 0) {
      // Hit: this request was the key's recorded next use; replace it with the one after.
      hits++;
      slotOf[i] = -1;
      heap[at] = next;
      slotOf[next] = at;
      const parent = (at - 1) >> 1;
      if (at > 0 && heap[parent]! < next) up(at);
      else down(at);
      continue;
    }
    if (size < capacity) {
      heap[size] = next;
      up(size++);
      continue;
    }
    if (heap[0]! <= next) continue; // the newcomer is the one needed furthest ahead: bypass
    slotOf[heap[0]!] = -1;
    heap[0] = next;
    slotOf[next] = 0;
    down(0);
  }
  return hits;
}
