/**
 * The conformance suite: a store passes it to be part of bulwark. Each backend's test file calls
 * `describeStore` with a factory; known gaps go in `skip` with their reason.
 */
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import {
  ManualClock,
  Queue,
  Worker,
  type Handler,
  type QueueOptions,
  type Store,
  type StoreCapabilities,
  type WorkerOptions,
} from '../../src/index.js';
import { capabilityCases } from './cases-capabilities.js';
import { faultCases } from './cases-faults.js';
import { prefetchCases } from './cases-prefetch.js';
import { storeCases } from './cases-store.js';
import { workerCases } from './cases-worker.js';
import { inputCases } from './cases-input.js';
import { featureCases } from './cases-features.js';

export interface StoreUnderTest {
  name: string;
  /** Makes the store for this test file (a fresh schema or key prefix). */
  create: () => Store | Promise<Store>;
  /** What the store declares; the suite checks the store says the same and runs each one's cases. */
  capabilities: StoreCapabilities;
  /**
   * Another store object on the same data, as another process would make (needed for `notify`,
   * `multiProcess` and `durable`). The case that opens it closes it.
   */
  open?: () => Store | Promise<Store>;
  /** Runs `fn` inside a backend transaction, then commits or rolls back (for `transactionalEnqueue`). */
  transaction?: <T>(fn: (tx: unknown) => Promise<T>, end: 'commit' | 'rollback') => Promise<T>;
  /** Drops what `create` made, after the store is closed. */
  destroy?: () => Promise<void>;
  /** Test names to skip, each with its reason. */
  skip?: Record<string, string>;
  /**
   * Set when the store's server cannot be reached here: every case is reported as skipped under a
   * title that gives this reason (the service gate has printed its notice).
   */
  unavailable?: string;
}

export interface Harness {
  store(): Store;
  readonly capabilities: StoreCapabilities;
  /** Another store object on the same data (see StoreUnderTest.open). */
  open(): Promise<Store>;
  transaction<T>(fn: (tx: unknown) => Promise<T>, end: 'commit' | 'rollback'): Promise<T>;
  /** A queue with a unique name and a manual clock (store-level tests move time by hand). */
  manualQueue<T = unknown>(options?: Partial<QueueOptions>): { queue: Queue<T>; clock: ManualClock };
  /** A queue with a unique name on the system clock. */
  queue<T = unknown>(options?: Partial<QueueOptions>): Queue<T>;
  /** A worker that the suite closes (and complains about) if a test leaves it running. */
  worker<T>(queue: Queue<T>, handler: Handler<T>, options?: WorkerOptions): Worker<T>;
  skip(test: string): boolean;
}

let seq = 0;
const unique = (): string =>
  `q${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export function describeStore(sut: StoreUnderTest): void {
  const suite = sut.unavailable === undefined ? describe : describe.skip;
  const title = `store conformance: ${sut.name}${sut.unavailable ? ` (skipped: ${sut.unavailable})` : ''}`;
  suite(title, () => {
    let store: Store;
    const workers: Worker<never>[] = [];

    beforeAll(async () => {
      store = await sut.create();
      await store.init();
    });
    afterEach(async () => {
      const leaked = workers.filter((w) => w.isRunning);
      await Promise.all(workers.map((w) => w.close({ graceMs: 0 })));
      workers.length = 0;
      expect(leaked.length, 'a test left a worker running').toBe(0);
    });
    afterAll(async () => {
      await store.close();
      await sut.destroy?.();
    });

    const h: Harness = {
      store: () => store,
      capabilities: sut.capabilities,
      async open() {
        if (!sut.open) throw new Error(`${sut.name}: the suite needs open() for its declared capabilities`);
        const other = await sut.open();
        await other.init();
        return other;
      },
      transaction(fn, end) {
        if (!sut.transaction) throw new Error(`${sut.name}: transactionalEnqueue needs transaction()`);
        return sut.transaction(fn, end);
      },
      manualQueue<T>(options: Partial<QueueOptions> = {}) {
        const clock = new ManualClock(Date.now());
        return { queue: new Queue<T>(unique(), { store, clock, ...options }), clock };
      },
      queue<T>(options: Partial<QueueOptions> = {}) {
        return new Queue<T>(unique(), { store, ...options });
      },
      worker<T>(queue: Queue<T>, handler: Handler<T>, options: WorkerOptions = {}) {
        const w = new Worker<T>(queue, handler, { pollIntervalMs: 50, retention: false, ...options });
        workers.push(w as unknown as Worker<never>);
        return w;
      },
      skip: (test) => sut.skip?.[test] !== undefined,
    };

    storeCases(h);
    capabilityCases(h);
    workerCases(h);
    faultCases(h);
    prefetchCases(h);
    inputCases(h);
    featureCases(h);
  });
}
