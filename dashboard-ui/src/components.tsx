/** Small pieces every view uses: badges, times, JSON, charts, the confirmation dialog, toasts. */
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { QueueOverview } from './api.js';
import { shownReason } from '../../src/dashboard/reason.js';
import { absolute, relative } from './format.js';
import { useToasts } from './live.js';

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge b-${kind.toLowerCase().replace(/[^a-z_]/g, '')}`}>{children}</span>;
}

/** A time as "3m ago", with the exact local time beside it (and as the element's datetime). */
export function Time({ at, short }: { at: number | null; short?: boolean }) {
  if (at === null) return <span class="muted">–</span>;
  return (
    <time dateTime={new Date(at).toISOString()} title={absolute(at)}>
      {relative(at)}
      {short ? null : <span class="abs"> · {absolute(at)}</span>}
    </time>
  );
}

const LARGE_CHARS = 2000;

/** JSON, pretty-printed; collapsed when large (open it to read), never parsed twice. */
export function Json({ value, label }: { value: unknown; label: string }) {
  const preview = value as { truncated?: boolean; chars?: number; preview?: string } | null;
  if (preview && typeof preview === 'object' && preview.truncated === true) {
    return (
      <details class="json">
        <summary>
          {label}: {(preview.chars ?? 0).toLocaleString('en-US')} characters, too large to show whole (first 4
          KB)
        </summary>
        <pre>{preview.preview}</pre>
      </details>
    );
  }
  const text = JSON.stringify(value, null, 2) ?? 'null';
  const lines = text.split('\n').length;
  if (text.length <= LARGE_CHARS && lines <= 40)
    return (
      <pre class="json" aria-label={label}>
        {text}
      </pre>
    );
  return (
    <details class="json">
      <summary>
        {label}: {lines.toLocaleString('en-US')} lines, {text.length.toLocaleString('en-US')} characters
        (collapsed)
      </summary>
      <pre>{text}</pre>
    </details>
  );
}

export interface Line {
  name: string;
  cls: string;
  values: (number | null)[];
}

/** A line chart in SVG (no style attributes: the page's CSP allows none). */
export function Chart({
  title,
  times,
  lines,
  unit,
}: {
  title: string;
  times: number[];
  lines: Line[];
  unit: string;
}) {
  const w = 600;
  const h = 160;
  const pad = { l: 44, r: 8, t: 10, b: 22 };
  const all = lines.flatMap((l) => l.values.filter((v): v is number => v !== null));
  const max = Math.max(1, ...all);
  const t0 = times[0] ?? 0;
  const t1 = times[times.length - 1] ?? 1;
  const x = (t: number): number => pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (w - pad.l - pad.r);
  const y = (v: number): number => h - pad.b - (v / max) * (h - pad.t - pad.b);
  const latest = lines
    .map((l) => `${l.name} ${fmt([...l.values].reverse().find((v) => v !== null) ?? null)} ${unit}`)
    .join(', ');
  return (
    <figure class="chart">
      <figcaption>
        {title}
        <span class="legend">
          {lines.map((l) => (
            <span key={l.name} class={`key ${l.cls}`}>
              {l.name}
            </span>
          ))}
        </span>
      </figcaption>
      {times.length < 2 ? (
        <p class="muted small">Collecting data: a point every few seconds while the dashboard is open.</p>
      ) : (
        <svg
          viewBox={`0 0 ${w} ${h}`}
          role="img"
          aria-label={`${title}: latest ${latest}`}
          preserveAspectRatio="none"
        >
          <line class="axis" x1={pad.l} y1={h - pad.b} x2={w - pad.r} y2={h - pad.b} />
          <text class="tick" x={pad.l - 4} y={pad.t + 8} text-anchor="end">
            {fmt(max)}
          </text>
          <text class="tick" x={pad.l - 4} y={h - pad.b} text-anchor="end">
            0
          </text>
          <text class="tick" x={pad.l} y={h - 6}>
            {new Date(t0).toLocaleTimeString()}
          </text>
          <text class="tick" x={w - pad.r} y={h - 6} text-anchor="end">
            {new Date(t1).toLocaleTimeString()}
          </text>
          {lines.map((l) => (
            <polyline
              key={l.name}
              class={`series ${l.cls}`}
              points={l.values
                .map((v, i) => (v === null ? null : `${x(times[i]!).toFixed(1)},${y(v).toFixed(1)}`))
                .filter((p) => p !== null)
                .join(' ')}
            />
          ))}
        </svg>
      )}
    </figure>
  );
}

const fmt = (v: number | null): string =>
  v === null ? '–' : v >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 10) / 10);

const never = new Promise<never>(() => undefined);

/**
 * Only the latest of a view's reads is delivered: `latest(api.jobs(…))` settles only if no later
 * read went out meanwhile, so a slow, older answer never overwrites a newer one.
 */
export function useLatest(): <T>(read: Promise<T>) => Promise<T> {
  const seq = useRef(0);
  return (read) => {
    const n = ++seq.current;
    return read.then(
      (v) => (n === seq.current ? v : never),
      (e: unknown) => (n === seq.current ? Promise.reject(e) : never),
    );
  };
}

export interface ConfirmRequest {
  title: string;
  body: string;
  action: string;
  danger?: boolean;
  /** Ask for a reason (pause). */
  reason?: boolean;
  run: (reason: string) => Promise<void>;
}

/** A modal confirmation (native <dialog>: focus stays inside, Escape cancels). */
export function Confirm({ req, onClose }: { req: ConfirmRequest | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState('');
  // In the render's own task (a layout effect), so that the dialog's state never lags the request.
  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (req && !d.open) {
      setReason('');
      d.showModal();
    }
    if (!req && d.open) d.close();
  }, [req]);
  // A `close` event is queued: one that arrives after the dialog was opened again (an Escape, then
  // at once another action) must not close the new request.
  const closed = (): void => {
    if (!ref.current?.open) onClose();
  };
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onClose={closed} onCancel={onClose}>
      {req ? (
        <form
          method="dialog"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            try {
              await req.run(reason);
            } finally {
              setBusy(false);
              onClose();
            }
          }}
        >
          <h2 id="confirm-title">{req.title}</h2>
          <p>{req.body}</p>
          {req.reason ? (
            <p>
              <label for="confirm-reason">Reason (shown to other operators)</label>
              <input
                id="confirm-reason"
                value={reason}
                maxLength={500}
                onInput={(e) => setReason(e.currentTarget.value)}
              />
            </p>
          ) : null}
          <div class="row end">
            <button type="button" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button type="submit" class={req.danger ? 'danger' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : req.action}
            </button>
          </div>
        </form>
      ) : null}
    </dialog>
  );
}

export function Toasts() {
  const toasts = useToasts();
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <p key={t.id} class={`toast t-${t.kind}`}>
          {t.text}
        </p>
      ))}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Why a queue (or some of its groups) is not running: who paused it and why, until when, which breaker. */
export function Why({ q }: { q: QueueOverview }) {
  const groups = q.pausedGroups ?? [];
  const throttled = q.throttledGroups ?? [];
  return (
    <>
      <QueueWhy q={q} />
      {groups.length ? (
        <p class="why">
          {groups.length === 1 ? 'Group' : 'Groups'} paused:{' '}
          {groups.map((g, i) => (
            <span key={g.name}>
              {i ? '; ' : ''}
              <strong>{g.name}</strong> by {g.by}
              {shownReason(g.reason) ? `: ${shownReason(g.reason)}` : ''}
            </span>
          ))}
        </p>
      ) : null}
      {throttled.length ? (
        <p class="why">
          {throttled.length === 1 ? 'Group' : 'Groups'} throttled by a rate limit:{' '}
          {throttled.map((g, i) => (
            <span key={g.name}>
              {i ? '; ' : ''}
              <strong>{g.name}</strong> until <Time at={g.until} />
            </span>
          ))}
        </p>
      ) : null}
    </>
  );
}

function QueueWhy({ q }: { q: QueueOverview }) {
  if (q.paused) {
    const reason = shownReason(q.pauseReason);
    return (
      <p class="why">
        Paused by {q.pausedBy}
        {reason ? `: ${reason}` : ''}
      </p>
    );
  }
  if (q.blockedBy) {
    return (
      <p class="why">
        Blocked: breaker <strong>{q.blockedBy.dependency}</strong> is open; it may take calls again{' '}
        <Time at={q.blockedBy.until} short />
      </p>
    );
  }
  if (q.throttledUntil > 0) {
    return (
      <p class="why">
        Throttled by a rate limit until <Time at={q.throttledUntil} />
      </p>
    );
  }
  return null;
}
