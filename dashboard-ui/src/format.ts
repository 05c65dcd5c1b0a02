/** Times and numbers as people read them. */

export function relative(at: number, now = Date.now()): string {
  const d = at - now;
  const s = Math.abs(d) / 1000;
  if (s < 1) return 'just now';
  const text =
    s < 90
      ? `${Math.round(s)}s`
      : s < 5400
        ? `${Math.round(s / 60)}m`
        : s < 129_600
          ? `${Math.round(s / 3600)}h`
          : `${Math.round(s / 86_400)}d`;
  return d < 0 ? `${text} ago` : `in ${text}`;
}

export function absolute(at: number): string {
  const d = new Date(at);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export const num = (n: number): string => n.toLocaleString('en-US');

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** `<input type="datetime-local">` value ↔ epoch ms, in local time. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
export function fromLocalInput(v: string): number | undefined {
  if (!v) return undefined;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t : undefined;
}
