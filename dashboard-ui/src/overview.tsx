/** The front page: the health verdict with its reasons, every queue, dependencies, top errors. */
import type { QueueOverview, TopError } from './api.js';
import { Badge, Empty, Time, Why } from './components.js';
import { num } from './format.js';
import { useLive } from './live.js';

const STATES = ['waiting', 'delayed', 'blocked', 'active', 'completed', 'dead', 'cancelled'] as const;
export const queueHref = (name: string, state?: string): string =>
  `#/q/${encodeURIComponent(name)}${state ? `?state=${state}` : ''}`;

export function HealthPanel() {
  const { health, overview } = useLive();
  if (!health) return null;
  return (
    <section class="panel" aria-labelledby="health-title">
      <h2 id="health-title">
        Health <Badge kind={health.status}>{health.status}</Badge>
      </h2>
      {health.reasons.length ? (
        <ul class="reasons">
          {health.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      ) : (
        <p class="muted">Nothing to report{overview?.queues.length ? '' : ': no queues yet'}.</p>
      )}
      <div class="scroll">
        <table class="deps">
          <caption class="sr-only">Dependencies</caption>
          <thead>
            <tr>
              <th scope="col">Dependency</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {health.dependencies.map((d) => (
              <tr key={`${d.kind}:${d.name}`}>
                <td>{d.name}</td>
                <td>{d.kind}</td>
                <td>
                  <Badge kind={d.status}>{d.status}</Badge>
                </td>
                <td>{d.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function QueueCard({ q }: { q: QueueOverview }) {
  return (
    <li class="card">
      <div class="row between">
        <h3>
          <a href={queueHref(q.name)}>{q.name}</a>
        </h3>
        <Badge kind={q.state}>{q.state}</Badge>
      </div>
      <Why q={q} />
      <dl class="counts">
        {/* Blocked jobs (flows waiting for their dependencies) get a cell when there are any. */}
        {STATES.filter((s) => s !== 'blocked' || q.counts.blocked > 0).map((s) => (
          <div key={s} class={`count c-${s}`}>
            <dt>{s}</dt>
            <dd>
              <a href={queueHref(q.name, s)} aria-label={`${num(q.counts[s])} ${s} jobs in ${q.name}`}>
                {num(q.counts[s])}
              </a>
            </dd>
          </div>
        ))}
      </dl>
    </li>
  );
}

const ARROW = { rising: '↑ rising', falling: '↓ falling', steady: '→ steady' } as const;

export function TopErrors({ errors }: { errors: TopError[] }) {
  return (
    <section class="panel" aria-labelledby="errors-title">
      <h2 id="errors-title">Top errors</h2>
      {errors.length === 0 ? (
        <Empty>No errors in the last ten minutes.</Empty>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Error</th>
                <th scope="col">Category</th>
                <th scope="col" class="num">
                  Count
                </th>
                <th scope="col">Trend</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {errors.map((e) => (
                <tr key={`${e.category}:${e.pattern}`}>
                  <td class="wrap" title={e.example}>
                    {e.pattern}
                    <span class="muted small"> {e.queues.join(', ')}</span>
                  </td>
                  <td>
                    <Badge kind={e.category}>{e.category}</Badge>
                  </td>
                  <td class="num">
                    {num(e.count)} <span class="muted small">(before: {num(e.previousCount)})</span>
                  </td>
                  <td class={`trend-${e.trend}`}>{ARROW[e.trend]}</td>
                  <td>
                    <Time at={e.lastSeen} short />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function OverviewPage() {
  const { overview, errors } = useLive();
  if (!overview) return <p class="muted">Connecting…</p>;
  return (
    <>
      {overview.store.error ? (
        <p class="alert" role="alert">
          The store {overview.store.label} does not answer: {overview.store.error}. Showing the last known
          state.
        </p>
      ) : null}
      <HealthPanel />
      <section class="panel" aria-labelledby="queues-title">
        <h2 id="queues-title">Queues</h2>
        {overview.queues.length === 0 ? (
          <Empty>
            No queues yet: add a job (bulwark enqueue &lt;queue&gt; '&#123;…&#125;') and it shows up here.
          </Empty>
        ) : (
          <ul class="cards">
            {overview.queues.map((q) => (
              <QueueCard key={q.name} q={q} />
            ))}
          </ul>
        )}
      </section>
      <TopErrors errors={errors} />
    </>
  );
}
