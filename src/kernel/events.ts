/**
 * A tiny typed emitter. `on` returns a disposer; a listener that throws never breaks the emitter
 * or the other listeners: its error goes to `onListenerError` (default: stderr).
 */
export type Listener<T> = (event: T) => void;
export type Disposer = () => void;

export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(
    private readonly onListenerError: (error: unknown, event: PropertyKey) => void = defaultReport,
  ) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Disposer {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Disposer {
    const off = this.on(event, (e) => {
      off();
      listener(e);
    });
    return off;
  }

  /** Resolves with the next event of this kind. */
  next<K extends keyof Events>(event: K): Promise<Events[K]> {
    return new Promise((resolve) => this.once(event, resolve));
  }

  /** True when someone listens: lets callers skip building an event nobody reads. */
  has<K extends keyof Events>(event: K): boolean {
    const set = this.listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const l of set) {
      try {
        (l as Listener<Events[K]>)(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }

  removeAll(): void {
    this.listeners.clear();
  }
}

function defaultReport(error: unknown, event: PropertyKey): void {
  console.error(`[bulwark] listener for ${String(event)} threw:`, error);
}
