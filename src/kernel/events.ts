/**
 * A tiny typed emitter. `on` returns a disposer; a listener that throws never breaks the emitter
 * or the other listeners: its error goes to `onListenerError` (default: stderr).
 */
import { ValidationError } from './errors.js';

export type Listener<T> = (event: T) => void;
export type Disposer = () => void;

export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();
  private readonly known: ReadonlySet<PropertyKey> | undefined;

  /**
   * `events`, when given, names every event (`{ open: true, close: true }`: the type makes the list
   * complete); `on` then refuses any other name, so that a typo (`on('opne')`) is a ValidationError
   * rather than a listener that never runs.
   */
  constructor(
    private readonly onListenerError: (error: unknown, event: PropertyKey) => void = defaultReport,
    events?: Readonly<Record<keyof Events, true>>,
  ) {
    this.known = events === undefined ? undefined : new Set(Object.keys(events));
  }

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Disposer {
    if (this.known !== undefined && !this.known.has(event)) {
      throw new ValidationError(
        `[bulwark] invalid event: unknown event ${JSON.stringify(String(event))}; the events are ${[...this.known].join(', ')}`,
        { path: 'event' },
      );
    }
    if (typeof listener !== 'function') {
      throw new ValidationError(
        `[bulwark] invalid listener: expected a function, got ${listener === null ? 'null' : typeof listener}`,
        { path: 'listener' },
      );
    }
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
