/** One queue: why it is (not) running, its actions, charts, and its jobs with filters and pages. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError, type Config, type JobPage, type QueueDetail } from './api.js';
import { Badge, Chart, Empty, Time, useLatest, Why, type ConfirmRequest } from './components.js';
import { fromLocalInput, num, toLocalInput } from './format.js';
import { toast, useBus, watch } from './live.js';
import { queueHref } from './overview.js';

const STATES = ['waiting', 'delayed', 'blocked', 'active', 'completed', 'dead', 'cancelled'] as const;
const PAGE_SIZES = [20, 50, 100, 200];

export const jobHref = (queue: string, id: string): string =>
  `#/q/${encodeURIComponent(queue)}/job/${encodeURIComponent(id)}`;

/** Calls `fn` at most once per `ms`, the last call winning. */
function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<number | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return () => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  };
}

export function QueuePage({
  name,
  params,
  config,
  confirm,
}: {
  name: string;
  params: URLSearchParams;
  config: Config;
  confirm: (r: ConfirmRequest) => void;
}) {
  const [detail, setDetail] = useState<QueueDetail | null>(null);
  const [page, setPage] = useState<JobPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const query = params.toString();

  const latestDetail = useLatest();
  const latestJobs = useLatest();
  useEffect(() => watch(name), [name]);
  const loadDetail = (): void => {
    latestDetail(api.queue(name)).then(setDetail, (e: ApiError) => setError(e.message));
  };
  const loadJobs = (): void => {
    const p = new URLSearchParams(query);
    if (!p.has('limit')) p.set('limit', '50');
    latestJobs(api.jobs(name, p)).then(
      (r) => {
        setPage(r);
        setError(null);
      },
      (e: ApiError) => setError(e.message),
    );
  };
  useEffect(() => {
    setDetail(null);
    loadDetail();
  }, [name]);
  useEffect(() => {
    setSelected(new Set());
    loadJobs();
  }, [name, query]);
  const refresh = useDebounced(() => {
    loadDetail();
    loadJobs();
  }, 400);
  useBus(
    (e) => {
      if (e.type === 'series' && e.queue === name) {
        setDetail((d) =>
          d && d.series.at(-1)?.t !== e.point.t ? { ...d, series: [...d.series.slice(-179), e.point] } : d,
        );
      } else if (e.type === 'hello') refresh();
      else if (e.type === 'queue' && e.queue.name === name) refresh();
      else if (e.type === 'jobs' && e.queue === name) refresh();
      else if (e.type === 'job' && e.change.queue === name) refresh();
    },
    [name],
  );

  const go = (patch: Record<string, string | undefined>): void => {
    const p = new URLSearchParams(query);
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || v === '') p.delete(k);
      else p.set(k, v);
    }
    if (!('offset' in patch)) p.delete('offset');
    location.hash = `#/q/${encodeURIComponent(name)}${p.size ? `?${p}` : ''}`;
  };

  const act = (what: string, run: () => Promise<string>) => async (): Promise<void> => {
    try {
      toast(await run(), 'ok');
      refresh();
    } catch (e) {
      toast(`${what} failed: ${(e as Error).message}`, 'error');
    }
  };

  if (error && !detail) {
    return (
      <p class="alert" role="alert">
        {error} <a href="#/">Back to the queues</a>
      </p>
    );
  }
  if (!detail) return <p class="muted">Loading {name}…</p>;
  const dead = detail.counts.dead;
  const state = params.get('state') ?? '';
  const limit = Number(params.get('limit') ?? 50);
  const offset = Number(params.get('offset') ?? 0);
  const deadSelected =
    page?.jobs.filter((j) => j.state === 'dead' && selected.has(j.id)).map((j) => j.id) ?? [];

  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="#/">Queues</a> / <span aria-current="page">{name}</span>
      </nav>
      <section class="panel" aria-labelledby="queue-title">
        <div class="row between wrap-row">
          <h2 id="queue-title">
            {name} <Badge kind={detail.state}>{detail.state}</Badge>
          </h2>
          {config.readOnly ? null : (
            <div class="row actions">
              {detail.paused ? (
                <button
                  class="primary"
                  onClick={act('Resume', async () => (await api.resume(name), `Resumed ${name}`))}
                >
                  Resume
                </button>
              ) : (
                <button
                  onClick={() =>
                    confirm({
                      title: `Pause ${name}?`,
                      body: 'Workers in every process stop claiming jobs of this queue; running jobs finish.',
                      action: 'Pause',
                      reason: true,
                      run: (reason) =>
                        act('Pause', async () => {
                          await api.pause(name, reason);
                          return `Paused ${name}`;
                        })(),
                    })
                  }
                >
                  Pause
                </button>
              )}
              <button
                disabled={dead === 0}
                onClick={() =>
                  confirm({
                    title: `Replay ${num(dead)} dead jobs?`,
                    body: `Every dead job of ${name} goes back to waiting with its attempts reset.`,
                    action: 'Replay all',
                    run: act(
                      'Replay',
                      async () => `Replayed ${num((await api.replayDead(name)).replayed.length)} jobs`,
                    ),
                  })
                }
              >
                Replay all dead
              </button>
              <button
                class="danger"
                disabled={dead === 0}
                onClick={() =>
                  confirm({
                    title: `Delete ${num(dead)} dead jobs?`,
                    body: `Every dead job of ${name} is deleted for good. This cannot be undone.`,
                    action: 'Purge all',
                    danger: true,
                    run: act('Purge', async () => `Purged ${num((await api.purgeDead(name)).purged)} jobs`),
                  })
                }
              >
                Purge dead
              </button>
            </div>
          )}
        </div>
        {detail.state === 'running' ? (
          <p class="muted">Running: workers may claim jobs.</p>
        ) : (
          <Why q={detail} />
        )}
        {detail.health && detail.health.reasons.length ? (
          <ul class="reasons">
            {detail.health.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        ) : null}
        <div class="chips" role="group" aria-label="Filter by state">
          <button aria-pressed={state === ''} onClick={() => go({ state: undefined })}>
            all <span class="n">{num(Object.values(detail.counts).reduce((a, b) => a + b, 0))}</span>
          </button>
          {STATES.map((s) => (
            <button key={s} class={`c-${s}`} aria-pressed={state === s} onClick={() => go({ state: s })}>
              {s} <span class="n">{num(detail.counts[s])}</span>
            </button>
          ))}
        </div>
        <div class="charts">
          <Chart
            title="Throughput (jobs/s)"
            unit="jobs/s"
            times={detail.series.map((p) => p.t)}
            lines={[{ name: 'finished', cls: 's1', values: detail.series.map((p) => p.perSec) }]}
          />
          <Chart
            title="Duration (ms)"
            unit="ms"
            times={detail.series.map((p) => p.t)}
            lines={[
              { name: 'p50', cls: 's1', values: detail.series.map((p) => p.p50Ms) },
              { name: 'p95', cls: 's2', values: detail.series.map((p) => p.p95Ms) },
            ]}
          />
        </div>
      </section>

      <section class="panel" aria-labelledby="jobs-title">
        <h2 id="jobs-title">Jobs</h2>
        <Filters key={query} name={name} params={params} onApply={go} />
        {error ? (
          <p class="alert" role="alert">
            {error}
          </p>
        ) : null}
        {!config.readOnly && deadSelected.length > 0 ? (
          <div class="row bulk">
            <span>{deadSelected.length} dead selected</span>
            <button
              onClick={() =>
                confirm({
                  title: `Replay ${deadSelected.length} jobs?`,
                  body: 'They go back to waiting with their attempts reset.',
                  action: 'Replay',
                  run: act(
                    'Replay',
                    async () => `Replayed ${(await api.replayDead(name, deadSelected)).replayed.length} jobs`,
                  ),
                })
              }
            >
              Replay selected
            </button>
            <button
              class="danger"
              onClick={() =>
                confirm({
                  title: `Delete ${deadSelected.length} jobs?`,
                  body: 'They are deleted for good.',
                  action: 'Purge',
                  danger: true,
                  run: act(
                    'Purge',
                    async () => `Purged ${(await api.purgeDead(name, deadSelected)).purged} jobs`,
                  ),
                })
              }
            >
              Purge selected
            </button>
          </div>
        ) : null}
        {!page ? (
          <p class="muted">Loading jobs…</p>
        ) : page.jobs.length === 0 ? (
          <Empty>No jobs match.</Empty>
        ) : (
          <div class="scroll">
            <table class="jobs">
              <thead>
                <tr>
                  {config.readOnly ? null : (
                    <th scope="col">
                      <span class="sr-only">Select</span>
                    </th>
                  )}
                  <th scope="col">Job</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">
                    Attempts
                  </th>
                  <th scope="col">Created</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                {page.jobs.map((j) => (
                  <tr key={j.id} data-id={j.id}>
                    {config.readOnly ? null : (
                      <td>
                        {j.state === 'dead' ? (
                          <input
                            type="checkbox"
                            aria-label={`Select ${j.id}`}
                            checked={selected.has(j.id)}
                            onChange={(e) => {
                              const next = new Set(selected);
                              if (e.currentTarget.checked) next.add(j.id);
                              else next.delete(j.id);
                              setSelected(next);
                            }}
                          />
                        ) : null}
                      </td>
                    )}
                    <td class="id">
                      <a href={jobHref(name, j.id)}>{j.id}</a>
                      {j.name ? <span class="muted small"> {j.name}</span> : null}
                    </td>
                    <td>
                      <Badge kind={j.state}>{j.state}</Badge>
                    </td>
                    <td class="num">
                      {j.attempts}/{j.maxAttempts}
                    </td>
                    <td>
                      <Time at={j.createdAt} short />
                    </td>
                    <td class="wrap">
                      {j.lastError ? `${j.lastError.category}: ${j.lastError.message}` : (j.reason ?? '')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {page?.exact ? (
          <p class="muted small">
            That is a job's id.{' '}
            <a
              href={`#/q/${encodeURIComponent(name)}?${new URLSearchParams({ ...Object.fromEntries(params), deep: '1' })}`}
            >
              Search names, correlation ids and payloads as well
            </a>
          </p>
        ) : null}
        {page ? (
          <nav class="row between pager" aria-label="Pages">
            <button
              disabled={offset === 0}
              onClick={() => go({ offset: String(Math.max(0, offset - limit)) })}
            >
              ← Previous
            </button>
            <span>
              {page.jobs.length ? `${num(offset + 1)}–${num(offset + page.jobs.length)}` : '0'}
              {page.total !== null ? ` of ${num(page.total)}` : ''}
              {page.partial ? ' (scanned the newest jobs only)' : ''}
            </span>
            <button disabled={!page.hasMore} onClick={() => go({ offset: String(offset + limit) })}>
              Next →
            </button>
          </nav>
        ) : null}
      </section>
    </>
  );
}

function Filters({
  name,
  params,
  onApply,
}: {
  name: string;
  params: URLSearchParams;
  onApply: (p: Record<string, string | undefined>) => void;
}) {
  const [f, setF] = useState({
    state: params.get('state') ?? '',
    name: params.get('name') ?? '',
    search: params.get('search') ?? '',
    from: params.get('from') ? toLocalInput(Number(params.get('from'))) : '',
    to: params.get('to') ? toLocalInput(Number(params.get('to'))) : '',
    limit: params.get('limit') ?? '50',
  });
  const field = (k: keyof typeof f) => (e: Event) =>
    setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <form
      class="filters"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        const from = fromLocalInput(f.from);
        const to = fromLocalInput(f.to);
        onApply({
          state: f.state || undefined,
          name: f.name.trim() || undefined,
          search: f.search.trim() || undefined,
          from: from === undefined ? undefined : String(from),
          to: to === undefined ? undefined : String(to),
          limit: f.limit === '50' ? undefined : f.limit,
          deep: undefined,
        });
      }}
    >
      <label>
        State
        <select value={f.state} onChange={field('state')}>
          <option value="">any</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Name
        <input value={f.name} onInput={field('name')} placeholder="exact job name" maxLength={200} />
      </label>
      <label class="grow">
        Search
        <input
          type="search"
          value={f.search}
          onInput={field('search')}
          placeholder="id, correlation id or payload text"
          maxLength={200}
        />
      </label>
      <label>
        Created from
        <input type="datetime-local" value={f.from} onInput={field('from')} />
      </label>
      <label>
        to
        <input type="datetime-local" value={f.to} onInput={field('to')} />
      </label>
      <label>
        Per page
        <select value={f.limit} onChange={field('limit')}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={String(n)}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <div class="row end">
        <button type="submit" class="primary">
          Apply
        </button>
        <a class="button" href={queueHref(name)}>
          Clear
        </a>
      </div>
    </form>
  );
}
