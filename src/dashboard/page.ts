/**
 * The dashboard page: one self-contained HTML document (no build step, no external assets). It
 * follows the live feed (`/api/events`), draws throughput, and browses, searches and acts on jobs
 * through the JSON API.
 */
export function dashboardPage(options: { readOnly: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bulwark</title>
<style>
  :root { font: 14px/1.4 system-ui, sans-serif; color: #1d2433; background: #f5f6f8; }
  body { margin: 0; }
  header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.25rem; background: #1d2433; color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; }
  main { padding: 1rem 1.25rem; display: grid; gap: 1rem; }
  section { background: #fff; border-radius: 6px; padding: .75rem 1rem; box-shadow: 0 1px 2px #0001; }
  h2 { font-size: .95rem; margin: 0 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eceef2; font-variant-numeric: tabular-nums; }
  th { font-weight: 600; color: #5b6478; }
  tr.sel { background: #eef4ff; }
  button { font: inherit; padding: .15rem .6rem; border: 1px solid #c6ccd8; background: #fff; border-radius: 4px; cursor: pointer; }
  button:disabled { opacity: .4; cursor: default; }
  .badge { padding: .05rem .45rem; border-radius: 9px; font-size: .8rem; background: #e8ebf0; color: #1d2433; }
  .HEALTHY, .closed, .completed { background: #d9f5e3; } .DEGRADED, .half_open, .delayed { background: #fff1cc; }
  .UNHEALTHY, .open, .isolated, .dead { background: #ffd9d9; } .active { background: #dbe8ff; }
  #jobs-controls { display: flex; gap: .5rem; margin-bottom: .5rem; flex-wrap: wrap; }
  pre { background: #f5f6f8; padding: .5rem; overflow: auto; max-height: 20rem; }
  #status { margin-left: auto; font-size: .85rem; opacity: .8; }
</style>
</head>
<body>
<header><h1>bulwark</h1><span id="health" class="badge">…</span><span id="status">connecting…</span></header>
<main>
  <section><h2>Queues</h2>
    <table id="queues"><thead><tr><th>queue</th><th>waiting</th><th>delayed</th><th>active</th><th>completed</th><th>dead</th><th>cancelled</th><th>state</th><th></th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Throughput (completed per second, last 2 minutes)</h2><canvas id="chart" width="900" height="120" style="width:100%;height:120px"></canvas></section>
  <section><h2>Jobs</h2>
    <div id="jobs-controls">
      <select id="queue-select" aria-label="queue"></select>
      <select id="state-select" aria-label="state"><option value="">any state</option>${[
        'waiting',
        'delayed',
        'active',
        'completed',
        'dead',
        'cancelled',
      ]
        .map((s) => `<option>${s}</option>`)
        .join('')}</select>
      <input id="search" placeholder="search id, name, correlation id, payload" size="36">
      <button id="refresh">Search</button>
      <button id="dlq-replay" class="write">Replay all dead</button>
      <button id="dlq-purge" class="write">Purge dead</button>
    </div>
    <table id="jobs"><thead><tr><th>id</th><th>state</th><th>attempts</th><th>created</th><th>last error</th><th></th></tr></thead><tbody></tbody></table>
    <pre id="job-detail" hidden></pre>
  </section>
  <section id="breakers-section" hidden><h2>Dependencies</h2><table id="breakers"><tbody></tbody></table></section>
  <section id="errors-section" hidden><h2>Top errors</h2><table id="errors"><tbody></tbody></table></section>
</main>
<script>
const READ_ONLY = ${options.readOnly ? 'true' : 'false'};
const token = new URLSearchParams(location.search).get('token');
const headers = token ? { authorization: 'Bearer ' + token } : {};
const $ = (s) => document.querySelector(s);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const api = async (method, path) => {
  const r = await fetch(path, { method, headers });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
};
const points = [];
let lastCompleted = null, lastAt = null, current = null;

function renderOverview(o) {
  current = o;
  const tbody = $('#queues tbody');
  tbody.innerHTML = o.queues.map((q) => '<tr data-queue="' + esc(q.name) + '"><td>' + esc(q.name) + '</td>' +
    ['waiting', 'delayed', 'active', 'completed', 'dead', 'cancelled'].map((s) => '<td class="count-' + s + '">' + q.counts[s] + '</td>').join('') +
    '<td>' + (q.paused ? '<span class="badge dead">paused' + (q.pauseReason ? ': ' + esc(q.pauseReason) : '') + '</span>' : '<span class="badge completed">running</span>') + '</td>' +
    '<td><button class="write toggle" data-queue="' + esc(q.name) + '" data-paused="' + q.paused + '">' + (q.paused ? 'Resume' : 'Pause') + '</button></td></tr>').join('');
  const sel = $('#queue-select');
  const names = o.queues.map((q) => q.name);
  if (sel.dataset.names !== names.join('\\n')) {
    const keep = sel.value;
    sel.innerHTML = names.map((n) => '<option>' + esc(n) + '</option>').join('');
    if (names.includes(keep)) sel.value = keep;
    sel.dataset.names = names.join('\\n');
    if (!keep && names.length) loadJobs();
  }
  const completed = o.queues.reduce((a, q) => a + q.counts.completed, 0);
  if (lastCompleted !== null && o.at > lastAt) points.push(Math.max(0, (completed - lastCompleted) / ((o.at - lastAt) / 1000)));
  lastCompleted = completed; lastAt = o.at;
  while (points.length > 120) points.shift();
  drawChart();
  const h = o.health && (o.health.status || o.health.overall);
  $('#health').textContent = h ? String(h) : 'health: n/a';
  $('#health').className = 'badge ' + (h || '');
  renderRows('#breakers', '#breakers-section', o.breakers, (b) => '<td>' + esc(b.name) + '</td><td><span class="badge ' + esc(b.state) + '">' + esc(b.state) + '</span></td>');
  renderRows('#errors', '#errors-section', o.errors, (e) => '<td>' + esc(e.count) + '</td><td>' + esc(e.category) + '</td><td>' + esc(e.pattern) + '</td><td>' + esc(e.trend) + '</td>');
  for (const b of document.querySelectorAll('.write')) b.disabled = READ_ONLY;
}

function renderRows(table, section, rows, cells) {
  if (!Array.isArray(rows)) return;
  $(section).hidden = false;
  $(table + ' tbody').innerHTML = rows.map((r) => '<tr>' + cells(r) + '</tr>').join('');
}

function drawChart() {
  const c = $('#chart'), g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1, ...points);
  g.strokeStyle = '#3467d6'; g.lineWidth = 2; g.beginPath();
  points.forEach((p, i) => { const x = (i / 119) * c.width, y = c.height - (p / max) * (c.height - 10) - 5; i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke();
  g.fillStyle = '#5b6478'; g.fillText(Math.round(points[points.length - 1] || 0) + '/s (max ' + Math.round(max) + ')', 6, 12);
}

async function loadJobs() {
  const q = $('#queue-select').value;
  if (!q) return;
  const p = new URLSearchParams({ limit: '50' });
  if ($('#state-select').value) p.set('state', $('#state-select').value);
  if ($('#search').value) p.set('search', $('#search').value);
  try {
    const jobs = await api('GET', '/api/queues/' + encodeURIComponent(q) + '/jobs?' + p);
    $('#jobs tbody').innerHTML = jobs.map((j) => '<tr data-id="' + esc(j.id) + '"><td><a href="#" class="show">' + esc(j.id) + '</a></td>' +
      '<td><span class="badge ' + esc(j.state) + '">' + esc(j.state) + '</span></td><td>' + j.attempts + '/' + j.maxAttempts + '</td>' +
      '<td>' + new Date(j.createdAt).toLocaleTimeString() + '</td><td>' + esc((j.errors[j.errors.length - 1] || {}).message) + '</td><td>' +
      (j.state === 'dead' ? '<button class="write replay">Replay</button>' : '') +
      (['waiting', 'delayed', 'active'].includes(j.state) ? '<button class="write cancel">Cancel</button>' : '') + '</td></tr>').join('');
    for (const b of document.querySelectorAll('.write')) b.disabled = READ_ONLY;
  } catch (e) { $('#status').textContent = e.message; }
}

document.addEventListener('click', async (ev) => {
  const t = ev.target;
  const q = $('#queue-select').value;
  const id = t.closest && t.closest('tr') && t.closest('tr').dataset.id;
  try {
    if (t.classList.contains('toggle')) { await api('POST', '/api/queues/' + encodeURIComponent(t.dataset.queue) + '/' + (t.dataset.paused === 'true' ? 'resume' : 'pause')); refreshNow(); }
    else if (t.classList.contains('replay')) { await api('POST', '/api/queues/' + encodeURIComponent(q) + '/jobs/' + encodeURIComponent(id) + '/replay'); loadJobs(); }
    else if (t.classList.contains('cancel')) { await api('POST', '/api/queues/' + encodeURIComponent(q) + '/jobs/' + encodeURIComponent(id) + '/cancel'); loadJobs(); }
    else if (t.classList.contains('show')) { ev.preventDefault(); const j = await api('GET', '/api/queues/' + encodeURIComponent(q) + '/jobs/' + encodeURIComponent(id)); $('#job-detail').hidden = false; $('#job-detail').textContent = JSON.stringify(j, null, 2); }
    else if (t.id === 'dlq-replay') { await api('POST', '/api/queues/' + encodeURIComponent(q) + '/dlq/replay'); loadJobs(); }
    else if (t.id === 'dlq-purge') { if (confirm('Delete every dead job of ' + q + '?')) { await api('POST', '/api/queues/' + encodeURIComponent(q) + '/dlq/purge'); loadJobs(); } }
    else if (t.id === 'refresh') loadJobs();
  } catch (e) { $('#status').textContent = e.message; }
});
$('#queue-select').addEventListener('change', loadJobs);
$('#state-select').addEventListener('change', loadJobs);
$('#search').addEventListener('keydown', (e) => { if (e.key === 'Enter') loadJobs(); });

async function refreshNow() { try { renderOverview(await api('GET', '/api/overview')); } catch (e) { $('#status').textContent = e.message; } }
const feed = new EventSource('/api/events' + (token ? '?token=' + encodeURIComponent(token) : ''));
feed.addEventListener('overview', (e) => { $('#status').textContent = 'live · ' + new Date().toLocaleTimeString(); renderOverview(JSON.parse(e.data)); });
feed.onerror = () => { $('#status').textContent = 'reconnecting…'; };
</script>
</body>
</html>`;
}
