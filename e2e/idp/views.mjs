// HTML pages of the development OpenID Provider's sign-in interaction.

const escapeHtml = (value) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

const STYLE = `
  body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; line-height: 1.5; margin: 0; }
  main { max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }
  h1 { font-size: 1.4rem; }
  .note { background: #fef3c7; color: #78350f; border: 1px solid #f59e0b; border-radius: 0.375rem; padding: 0.5rem 0.75rem; }
  .error { color: #b91c1c; font-weight: 600; }
  label { display: block; margin-top: 0.75rem; }
  input { display: block; width: 100%; box-sizing: border-box; font: inherit; padding: 0.35rem; }
  .actions { margin-top: 1rem; display: flex; gap: 0.5rem; }
  button { font: inherit; padding: 0.4rem 0.9rem; border-radius: 0.375rem; border: 1px solid #2563eb; background: #2563eb; color: #fff; cursor: pointer; }
  button.secondary { background: transparent; color: #2563eb; }
`

function layout(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

/**
 * The sign-in form.
 * @param {{uid: string, clientName: string, users: ReadonlyArray<{email: string, password: string, name: string}>, email?: string, error?: string}} view
 */
export function loginPage({ uid, clientName, users, email = '', error }) {
  const action = `/interaction/${encodeURIComponent(uid)}`
  const userList = users
    .map((u) => `<li><code>${escapeHtml(u.email)}</code> / <code>${escapeHtml(u.password)}</code> (${escapeHtml(u.name)})</li>`)
    .join('\n')
  return layout(
    'CodeMetrics development sign-in',
    `<h1>CodeMetrics development sign-in</h1>
<p class="note">This OpenID Provider is for development only. Never use it in production.</p>
<p>Sign in to continue to <strong>${escapeHtml(clientName)}</strong>.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${action}/login">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(email)}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <div class="actions">
    <button type="submit">Sign in</button>
    <button type="submit" class="secondary" formaction="${action}/abort" formnovalidate>Cancel</button>
  </div>
</form>
<h2>Test users</h2>
<ul>
${userList}
</ul>`,
  )
}

export function errorPage(message) {
  return layout(
    'Sign-in problem',
    `<h1>CodeMetrics development sign-in</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>`,
  )
}
