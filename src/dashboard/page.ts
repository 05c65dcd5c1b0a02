/**
 * The HTML around the prebuilt app, and the token login page. Both use relative URLs only, so the
 * dashboard works wherever it is mounted (`/`, `/ops/`, behind a proxy's path prefix).
 */

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const head = (title: string, version: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<link rel="stylesheet" href="assets/app.css?v=${esc(version)}">
</head>`;

export function dashboardPage(o: { version: string }): string {
  return `${head('bulwark', o.version)}
<body>
<div id="app"><p class="boot">Loading the dashboard…</p></div>
<noscript><p class="boot">The dashboard needs JavaScript. The JSON API is under <code>api/</code>.</p></noscript>
<script type="module" src="assets/app.js?v=${esc(o.version)}"></script>
</body>
</html>`;
}

/** The page a browser gets instead of a raw 401: one field for the token. */
export function loginPage(o: { version: string; error?: string }): string {
  return `${head('Sign in · bulwark', o.version)}
<body class="login">
<main class="login-box">
<h1>bulwark</h1>
<form method="post" action="login">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${o.error ? `<p class="login-error" role="alert">${esc(o.error)}</p>` : ''}
<button type="submit">Sign in</button>
</form>
<p class="hint">The server was started with a token (<code>--token</code> or <code>BULWARK_TOKEN</code>). Scripts send it as <code>Authorization: Bearer …</code>.</p>
</main>
</body>
</html>`;
}
