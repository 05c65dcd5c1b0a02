/**
 * The live state: one EventSource, re-opened when the view watches another queue or job, feeding
 * a small store the views read (overview, health, breakers, top errors) and a bus the views listen
 * to for the changes that concern them (a job, a queue's jobs).
 */
import { useLayoutEffect, useState } from 'preact/hooks';
import type { JobChange } from '../../src/dashboard/index.js';
import type { Overview, QueueOverview, SeriesPoint, TopError, Verdict } from './api.js';
import { api } from './api.js';

export interface LiveState {
  link: 'connecting' | 'live' | 'reconnecting';
  overview: Overview | null;
  health: Verdict | null;
  breakers: { name: string; state: string }[];
  errors: TopError[];
  /** Epoch ms of the last event. */
  at: number;
}

let state: LiveState = { link: 'connecting', overview: null, health: null, breakers: [], errors: [], at: 0 };
const subscribers = new Set<() => void>();
const set = (patch: Partial<LiveState>): void => {
  state = { ...state, ...patch, at: Date.now() };
  for (const s of subscribers) s();
};

/**
 * Reads a value kept outside the components and re-renders on its changes. The subscription is made
 * in a layout effect (in the same task as the render) and then checks for a change made between
 * the render and the subscription: an event that arrives while a view mounts is never missed.
 */
function useExternal<T>(subs: Set<() => void>, get: () => T): T {
  const value = get();
  const [, render] = useState(0);
  useLayoutEffect(() => {
    const s = (): void => render((n) => n + 1);
    subs.add(s);
    if (get() !== value) s();
    return () => void subs.delete(s);
  }, []);
  return value;
}

export function useLive(): LiveState {
  return useExternal(subscribers, () => state);
}

type BusEvent =
  | { type: 'job'; change: JobChange & { gone?: boolean } }
  | { type: 'jobs'; queue: string }
  | { type: 'queue'; queue: QueueOverview }
  | { type: 'series'; queue: string; point: SeriesPoint }
  | { type: 'hello' };
const listeners = new Set<(e: BusEvent) => void>();

/** Listens to the bus while the component is mounted. */
export function useBus(fn: (e: BusEvent) => void, deps: unknown[]): void {
  useLayoutEffect(() => {
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, deps);
}
const emit = (e: BusEvent): void => {
  for (const l of listeners) l(e);
};

type Toast = { id: number; text: string; kind: 'info' | 'ok' | 'error' };
let toasts: Toast[] = [];
let toastSeq = 0;
const toastSubs = new Set<() => void>();
export function toast(text: string, kind: Toast['kind'] = 'info'): void {
  const t = { id: ++toastSeq, text, kind };
  toasts = [...toasts.slice(-4), t];
  for (const s of toastSubs) s();
  setTimeout(() => {
    toasts = toasts.filter((x) => x !== t);
    for (const s of toastSubs) s();
  }, 6000);
}
export function useToasts(): Toast[] {
  return useExternal(toastSubs, () => toasts);
}

const data = <T>(e: Event): T => JSON.parse((e as MessageEvent<string>).data) as T;

let source: EventSource | undefined;
let watching = '';

/** Opens the stream for a view; the same watch keeps the open stream. */
export function watch(queue?: string, job?: string): void {
  const params = new URLSearchParams();
  if (queue) params.set('queue', queue);
  if (job) params.set('job', job);
  const key = params.toString();
  if (source && key === watching) return;
  source?.close();
  watching = key;
  const es = new EventSource(`api/events${key ? `?${key}` : ''}`);
  source = es;
  set({ link: state.overview ? 'reconnecting' : 'connecting' });
  es.onopen = () => set({ link: 'live' });
  es.onerror = () => {
    set({ link: 'reconnecting' });
    // A stream refused for a lost session never opens: ask the API, which sends us to the login page.
    void api.config().catch(() => undefined);
  };
  es.addEventListener('hello', (e) => {
    const h = data<{
      overview: Overview;
      health: Verdict;
      breakers: LiveState['breakers'];
      errors: TopError[];
    }>(e);
    set({ link: 'live', overview: h.overview, health: h.health, breakers: h.breakers, errors: h.errors });
    emit({ type: 'hello' });
  });
  es.addEventListener('queue', (e) => {
    const q = data<QueueOverview>(e);
    const o = state.overview;
    if (o) {
      const queues = o.queues.some((x) => x.name === q.name)
        ? o.queues.map((x) => (x.name === q.name ? q : x))
        : [...o.queues, q];
      set({ overview: { ...o, queues: queues.sort((a, b) => a.name.localeCompare(b.name)) } });
    }
    emit({ type: 'queue', queue: q });
  });
  es.addEventListener('queue:removed', (e) => {
    const { name } = data<{ name: string }>(e);
    const o = state.overview;
    if (o) set({ overview: { ...o, queues: o.queues.filter((x) => x.name !== name) } });
  });
  es.addEventListener('queue:paused', (e) => {
    const p = data<{ name: string; reason: string | null; by: string }>(e);
    toast(`Queue ${p.name} paused by ${p.by}${p.reason ? `: ${p.reason}` : ''}`, 'info');
  });
  es.addEventListener('queue:resumed', (e) => toast(`Queue ${data<{ name: string }>(e).name} resumed`, 'ok'));
  es.addEventListener('queue:throttled', (e) => {
    const p = data<{ name: string; until: number }>(e);
    toast(`Queue ${p.name} throttled until ${new Date(p.until).toLocaleTimeString()}`, 'info');
  });
  es.addEventListener('queue:blocked', (e) => {
    const p = data<{ name: string; dependency: string }>(e);
    toast(`Queue ${p.name} blocked: breaker ${p.dependency} is open`, 'error');
  });
  es.addEventListener('job', (e) => emit({ type: 'job', change: data<JobChange>(e) }));
  es.addEventListener('jobs', (e) => emit({ type: 'jobs', queue: data<{ queue: string }>(e).queue }));
  es.addEventListener('series', (e) => {
    const s = data<{ queue: string; point: SeriesPoint }>(e);
    emit({ type: 'series', queue: s.queue, point: s.point });
  });
  es.addEventListener('health', (e) => set({ health: data<Verdict>(e) }));
  es.addEventListener('breaker', (e) => {
    const b = data<{ name: string; from: string | null; to: string }>(e);
    set({ breakers: [...state.breakers.filter((x) => x.name !== b.name), { name: b.name, state: b.to }] });
    if (b.from !== null) toast(`Breaker ${b.name}: ${b.from} → ${b.to}`, b.to === 'closed' ? 'ok' : 'error');
  });
  es.addEventListener('errors', (e) => set({ errors: data<TopError[]>(e) }));
  es.addEventListener('store', (e) => {
    const s = data<{ error: string | null }>(e);
    const o = state.overview;
    if (o) set({ overview: { ...o, store: { ...o.store, error: s.error } } });
    if (s.error) toast(`The store does not answer: ${s.error}`, 'error');
  });
}
