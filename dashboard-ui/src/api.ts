/** The JSON API, with the server's own types. Every URL is relative: the app works under any mount path. */
import type {
  JobDetail,
  JobPage,
  Overview,
  QueueDetail,
  TopError,
  Verdict,
} from '../../src/dashboard/index.js';

export type {
  JobDetail,
  JobPage,
  JobRow,
  Overview,
  QueueDetail,
  QueueOverview,
  SeriesPoint,
  TopError,
  Verdict,
} from '../../src/dashboard/index.js';

export interface Config {
  readOnly: boolean;
  version: string | null;
  /** The server asks for a token: offer to sign out. */
  signIn: boolean;
}

export interface HealthView {
  verdict: Verdict;
  breakers: { name: string; state: string }[];
  errors: TopError[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const r = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers:
      body === undefined
        ? { accept: 'application/json' }
        : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401) {
    location.href = 'login';
    throw new ApiError(401, 'signed out');
  }
  const data = (await r.json().catch(() => ({}))) as { error?: string };
  if (!r.ok) throw new ApiError(r.status, data.error ?? r.statusText);
  return data as T;
}

const q = (name: string): string => `api/queues/${encodeURIComponent(name)}`;

export const api = {
  config: () => call<Config>('GET', 'api/config'),
  overview: () => call<Overview>('GET', 'api/overview'),
  health: () => call<HealthView>('GET', 'api/health'),
  queue: (name: string) => call<QueueDetail>('GET', q(name)),
  jobs: (name: string, params: URLSearchParams) => call<JobPage>('GET', `${q(name)}/jobs?${params}`),
  job: (name: string, id: string) => call<JobDetail>('GET', `${q(name)}/jobs/${encodeURIComponent(id)}`),
  pause: (name: string, reason: string) => call<{ paused: boolean }>('POST', `${q(name)}/pause`, { reason }),
  resume: (name: string) => call<{ resumed: boolean }>('POST', `${q(name)}/resume`, {}),
  replayJob: (name: string, id: string) =>
    call<{ replayed: string[] }>('POST', `${q(name)}/jobs/${encodeURIComponent(id)}/replay`, {}),
  cancelJob: (name: string, id: string) =>
    call<{ cancelled: string[] }>('POST', `${q(name)}/jobs/${encodeURIComponent(id)}/cancel`, {}),
  purgeJob: (name: string, id: string) =>
    call<{ purged: number }>('POST', `${q(name)}/jobs/${encodeURIComponent(id)}/purge`, {}),
  replayDead: (name: string, ids?: string[]) =>
    call<{ replayed: string[] }>('POST', `${q(name)}/dlq/replay`, ids ? { ids } : {}),
  purgeDead: (name: string, ids?: string[]) =>
    call<{ purged: number }>('POST', `${q(name)}/dlq/purge`, ids ? { ids } : {}),
};
