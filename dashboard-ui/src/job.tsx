/** One job, readable: times relative and absolute, attempts with their stacks, progress, values. */
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError, type Config, type JobDetail } from './api.js';
import { Badge, Json, Time, useLatest, type ConfirmRequest } from './components.js';
import { duration } from './format.js';
import { toast, useBus, watch } from './live.js';
import { jobHref } from './queue.js';
import { queueHref } from './overview.js';

/** A progress value as a fraction, when it looks like one (0–100, or { percent } / { done, total }). */
function fraction(p: unknown): number | null {
  if (typeof p === 'number' && p >= 0 && p <= 100) return p / 100;
  if (typeof p === 'object' && p !== null) {
    const o = p as { percent?: unknown; done?: unknown; total?: unknown };
    if (typeof o.percent === 'number') return Math.min(1, Math.max(0, o.percent / 100));
    if (typeof o.done === 'number' && typeof o.total === 'number' && o.total > 0)
      return Math.min(1, o.done / o.total);
  }
  return null;
}

export function JobPage({
  queue,
  id,
  config,
  confirm,
}: {
  queue: string;
  id: string;
  config: Config;
  confirm: (r: ConfirmRequest) => void;
}) {
  const [job, setJob] = useState<JobDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = useLatest();
  const load = (): void => {
    latest(api.job(queue, id)).then(
      (j) => {
        setJob(j);
        setError(null);
      },
      (e: ApiError) =>
        setError(
          e.status === 404
            ? 'This job does not exist (any more): it may have been purged or removed by retention.'
            : e.message,
        ),
    );
  };
  useEffect(() => watch(queue, id), [queue, id]);
  useEffect(() => {
    setJob(null);
    load();
  }, [queue, id]);
  useBus(
    (e) => {
      if (e.type === 'hello' || (e.type === 'job' && e.change.queue === queue && e.change.id === id)) load();
    },
    [queue, id],
  );

  const act = (what: string, run: () => Promise<string>) => async (): Promise<void> => {
    try {
      toast(await run(), 'ok');
      load();
    } catch (e) {
      toast(`${what} failed: ${(e as Error).message}`, 'error');
    }
  };

  const crumbs = (
    <nav aria-label="Breadcrumb" class="crumbs">
      <a href="#/">Queues</a> / <a href={queueHref(queue)}>{queue}</a> / <span aria-current="page">{id}</span>
    </nav>
  );
  if (error) {
    return (
      <>
        {crumbs}
        <p class="alert" role="alert">
          {error}
        </p>
      </>
    );
  }
  if (!job || job.id !== id || job.queue !== queue)
    return (
      <>
        {crumbs}
        <p class="muted">Loading…</p>
      </>
    );
  const ran = job.startedAt !== null && job.finishedAt !== null ? job.finishedAt - job.startedAt : null;
  const frac = fraction(job.progress);
  const live = job.state === 'waiting' || job.state === 'delayed' || job.state === 'active';
  return (
    <>
      {crumbs}
      <section class="panel" aria-labelledby="job-title">
        <div class="row between wrap-row">
          <h2 id="job-title" class="id">
            {job.id} <Badge kind={job.state}>{job.state}</Badge>
          </h2>
          {config.readOnly ? null : (
            <div class="row actions">
              {job.state === 'dead' ? (
                <>
                  <button
                    class="primary"
                    onClick={() =>
                      confirm({
                        title: `Replay ${job.id}?`,
                        body: 'The job goes back to waiting with its attempts reset.',
                        action: 'Replay',
                        run: act('Replay', async () =>
                          (await api.replayJob(queue, id)).replayed.length
                            ? `Replayed ${id}`
                            : `${id} was not dead any more`,
                        ),
                      })
                    }
                  >
                    Replay
                  </button>
                  <button
                    class="danger"
                    onClick={() =>
                      confirm({
                        title: `Delete ${job.id}?`,
                        body: 'The job is deleted for good.',
                        action: 'Purge',
                        danger: true,
                        run: act('Purge', async () =>
                          (await api.purgeJob(queue, id)).purged
                            ? `Purged ${id}`
                            : `${id} was not dead any more`,
                        ),
                      })
                    }
                  >
                    Purge
                  </button>
                </>
              ) : null}
              {live ? (
                <button
                  class="danger"
                  onClick={() =>
                    confirm({
                      title: `Cancel ${job.id}?`,
                      body:
                        job.state === 'active'
                          ? 'Its worker loses the lease: the handler is aborted and its result refused.'
                          : 'It will not run.',
                      action: 'Cancel job',
                      danger: true,
                      run: act('Cancel', async () =>
                        (await api.cancelJob(queue, id)).cancelled.length
                          ? `Cancelled ${id}`
                          : `${id} had already finished`,
                      ),
                    })
                  }
                >
                  Cancel
                </button>
              ) : null}
            </div>
          )}
        </div>
        {job.reason ? <p class="why">{job.reason}</p> : null}
        {job.progress !== null ? (
          <div class="progress">
            <label for="job-progress">Progress</label>
            {frac !== null ? (
              <progress id="job-progress" max={1} value={frac}>
                {Math.round(frac * 100)}%
              </progress>
            ) : null}
            <Json value={job.progress} label="progress" />
          </div>
        ) : null}
        <dl class="facts">
          {job.name ? (
            <>
              <dt>Name</dt>
              <dd>{job.name}</dd>
            </>
          ) : null}
          <dt>Attempts</dt>
          <dd>
            {job.attempts} of {job.maxAttempts}
            {job.snoozes ? ` · ${job.snoozes} snoozes (no attempt used)` : ''}
          </dd>
          <dt>Priority</dt>
          <dd>{job.priority}</dd>
          <dt>Created</dt>
          <dd>
            <Time at={job.createdAt} />
          </dd>
          <dt>{job.runAt > Date.now() ? 'Runs' : 'Ready since'}</dt>
          <dd>
            <Time at={job.runAt} />
          </dd>
          <dt>Started</dt>
          <dd>
            <Time at={job.startedAt} />
          </dd>
          <dt>Finished</dt>
          <dd>
            <Time at={job.finishedAt} />
            {ran !== null ? <span class="muted"> · ran {duration(ran)}</span> : null}
          </dd>
          <dt>Correlation id</dt>
          <dd class="id">{job.correlationId}</dd>
        </dl>
      </section>

      <section class="panel" aria-labelledby="attempts-title">
        <h2 id="attempts-title">Failed attempts ({job.errors.length})</h2>
        {job.errors.length === 0 ? (
          <p class="muted">No attempt has failed.</p>
        ) : (
          <ol class="attempts">
            {[...job.errors].reverse().map((e, i) => (
              <li key={`${e.at}-${i}`}>
                <div class="row wrap-row">
                  <strong>Attempt {e.attempt}</strong>
                  <Badge kind={e.category}>{e.category}</Badge>
                  <span>→ {e.action}</span>
                  <Time at={e.at} />
                </div>
                <p class="err">
                  <span class="muted">{e.name}:</span> {e.message}
                </p>
                {(e as { stack?: string }).stack ? (
                  <details>
                    <summary>Stack</summary>
                    <pre>{(e as { stack?: string }).stack}</pre>
                  </details>
                ) : null}
              </li>
            ))}
          </ol>
        )}
      </section>

      <section class="panel" aria-labelledby="data-title">
        <h2 id="data-title">Data</h2>
        <h3>Payload</h3>
        <Json value={job.payload} label="payload" />
        {job.result !== null ? (
          <>
            <h3>Result</h3>
            <Json value={job.result} label="result" />
          </>
        ) : null}
        {job.checkpoint !== null ? (
          <>
            <h3>Checkpoint</h3>
            <Json value={job.checkpoint} label="checkpoint" />
          </>
        ) : null}
        {Object.keys(job.metadata).length ? (
          <>
            <h3>Metadata</h3>
            <Json value={job.metadata} label="metadata" />
          </>
        ) : null}
        <details class="tech">
          <summary>Technical details</summary>
          <dl class="facts">
            <dt>Fence</dt>
            <dd>{job.fence}</dd>
            <dt>Worker</dt>
            <dd>{job.workerId ?? '–'}</dd>
            <dt>Lease expires</dt>
            <dd>
              <Time at={job.leaseExpiresAt} />
            </dd>
            <dt>Timeout</dt>
            <dd>{job.timeoutMs === null ? 'none' : duration(job.timeoutMs)}</dd>
            <dt>Backoff</dt>
            <dd>{JSON.stringify(job.backoff)}</dd>
            <dt>Updated</dt>
            <dd>
              <Time at={job.updatedAt} />
            </dd>
          </dl>
        </details>
      </section>
      <p>
        <a href={jobHref(queue, id)} class="sr-only">
          Permalink to this job
        </a>
      </p>
    </>
  );
}
