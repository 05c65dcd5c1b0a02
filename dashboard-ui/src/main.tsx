/** The dashboard app: a hash router over three views, the header, the dialog and the toasts. */
import { render } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { api, type Config } from './api.js';
import { Badge, Confirm, Toasts, type ConfirmRequest } from './components.js';
import { JobPage } from './job.js';
import { useLive, watch } from './live.js';
import { OverviewPage } from './overview.js';
import { QueuePage } from './queue.js';

type Route =
  | { view: 'overview' }
  | { view: 'queue'; name: string; params: URLSearchParams }
  | { view: 'job'; queue: string; id: string };

function parse(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  if (parts[0] === 'q' && parts[1] !== undefined) {
    if (parts[2] === 'job' && parts[3] !== undefined) return { view: 'job', queue: parts[1], id: parts[3] };
    return { view: 'queue', name: parts[1], params: new URLSearchParams(query) };
  }
  return { view: 'overview' };
}

function useRoute(): Route {
  const [first] = useState(() => location.hash);
  const [route, setRoute] = useState(() => parse(first));
  useLayoutEffect(() => {
    const on = (): void => {
      setRoute(parse(location.hash));
      window.scrollTo(0, 0);
    };
    addEventListener('hashchange', on);
    // A change between the first render and this subscription is not lost.
    if (location.hash !== first) on();
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Header({ config }: { config: Config | null }) {
  const { health, link } = useLive();
  return (
    <header class="top">
      <a class="brand" href="#/">
        bulwark
      </a>
      {health ? (
        <a href="#/" class="health-link" aria-label={`Health ${health.status}`}>
          <Badge kind={health.status}>{health.status}</Badge>
        </a>
      ) : null}
      {config?.readOnly ? <Badge kind="readonly">read-only</Badge> : null}
      <span class={`link link-${link}`} role="status">
        {link === 'live' ? 'live' : link === 'connecting' ? 'connecting…' : 'reconnecting…'}
      </span>
      {config?.signIn ? (
        <form method="post" action="logout" class="logout">
          <button type="submit" class="ghost">
            Sign out
          </button>
        </form>
      ) : null}
    </header>
  );
}

function App() {
  const route = useRoute();
  const [config, setConfig] = useState<Config | null>(null);
  const [dialog, setDialog] = useState<ConfirmRequest | null>(null);
  useEffect(() => {
    api.config().then(setConfig, () => setConfig({ readOnly: true, version: null, signIn: false }));
  }, []);
  useEffect(() => {
    if (route.view === 'overview') watch();
  }, [route.view]);
  useEffect(() => {
    const title =
      route.view === 'overview'
        ? 'Queues'
        : route.view === 'queue'
          ? route.name
          : `${route.id} · ${route.queue}`;
    document.title = `${title} · bulwark`;
  }, [route]);
  return (
    <>
      <a
        class="skip"
        href="#/"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <Header config={config} />
      <main id="main" tabIndex={-1}>
        {!config ? (
          <p class="muted">Loading…</p>
        ) : route.view === 'overview' ? (
          <OverviewPage />
        ) : route.view === 'queue' ? (
          <QueuePage name={route.name} params={route.params} config={config} confirm={setDialog} />
        ) : (
          <JobPage queue={route.queue} id={route.id} config={config} confirm={setDialog} />
        )}
      </main>
      <footer class="foot muted small">bulwark{config?.version ? ` ${config.version}` : ''}</footer>
      <Confirm req={dialog} onClose={() => setDialog(null)} />
      <Toasts />
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
