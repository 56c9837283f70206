// Development OpenID Provider for CodeMetrics.
//
// A real OpenID Connect provider (built on the `oidc-provider` package) with
// one confidential client and two in-memory test users. It exists so that the
// sign-in flow can be developed and tested end to end without an external
// identity provider. It is NOT for production: it keeps everything in memory,
// signs with a key generated at start-up and has well-known passwords.
//
//   node idp/server.mjs            (from the e2e/ directory; or `npm run idp`)
//
// Environment:
//   IDP_PORT           port to listen on (default 9400)
//   IDP_HOST           address to listen on (default 127.0.0.1; 0.0.0.0 in containers)
//   IDP_ISSUER         issuer URL (default http://127.0.0.1:<IDP_PORT>); must be the
//                      origin under which the relying party reaches this server
//   IDP_REDIRECT_URIS  comma-separated redirect URIs of the CodeMetrics client
//                      (default http://localhost:8080/auth/callback)
//   APP_ENV            the provider refuses to start when this is "production"

import { generateKeyPairSync } from 'node:crypto'
import http from 'node:http'

import Provider, { interactionPolicy } from 'oidc-provider'

import { findUserByCredentials, findUserById, TEST_USERS } from './users.mjs'
import { errorPage, loginPage } from './views.mjs'

function fail(message) {
  console.error(`development OIDC provider: ${message}`)
  process.exit(1)
}

if ((process.env.APP_ENV || '').trim().toLowerCase() === 'production') {
  fail('refusing to start because APP_ENV=production; this provider is for development and tests only')
}

const port = Number(process.env.IDP_PORT || 9400)
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`invalid IDP_PORT ${JSON.stringify(process.env.IDP_PORT)}`)

const host = process.env.IDP_HOST || '127.0.0.1'
const issuer = process.env.IDP_ISSUER || `http://127.0.0.1:${port}`
{
  let url
  try {
    url = new URL(issuer)
  } catch {
    fail(`IDP_ISSUER is not a URL: ${JSON.stringify(issuer)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('IDP_ISSUER must be an http or https URL')
  if (url.pathname !== '/' || url.search || url.hash || issuer.endsWith('/')) {
    fail(`IDP_ISSUER must be an origin without a path or trailing slash, e.g. http://127.0.0.1:${port}`)
  }
}

const redirectUris = (process.env.IDP_REDIRECT_URIS || 'http://localhost:8080/auth/callback')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean)
if (redirectUris.length === 0) fail('IDP_REDIRECT_URIS is empty')
for (const uri of redirectUris) {
  try {
    new URL(uri)
  } catch {
    fail(`IDP_REDIRECT_URIS contains an invalid URL: ${JSON.stringify(uri)}`)
  }
}
// After RP-initiated logout the application may send the user back to its home page.
const postLogoutRedirectUris = [...new Set(redirectUris.map((uri) => `${new URL(uri).origin}/`))]

// The signing key lives only as long as the process; relying parties fetch it
// from the JWKS endpoint. A restart invalidates tokens issued before it.
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })

// The development provider asks for credentials on every authorization request
// (it ignores its own single sign-on session), so switching between the test
// users only takes a new sign-in.
const policy = interactionPolicy.base()
policy
  .get('login')
  .checks.add(
    new interactionPolicy.Check('dev_always_login', 'the development provider asks for credentials every time', (ctx) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  )

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'codemetrics-dev',
      // Development-only secret: it is public knowledge, never configure it anywhere real.
      client_secret: 'codemetrics-dev-secret',
      client_name: 'CodeMetrics (development)',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  scopes: ['openid'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Put the claims of the requested scopes into the ID token as well, not only
  // into the userinfo response: the relying party reads them from the ID token.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    Grant: 8 * 60 * 60,
    IdToken: 60 * 60,
    Interaction: 30 * 60,
    Session: 8 * 60 * 60,
  },
  jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'RS256', kid: 'codemetrics-dev-idp' }] },
  // Development-only cookie signing keys.
  cookies: { keys: ['codemetrics-dev-idp-cookie-key-1', 'codemetrics-dev-idp-cookie-key-2'] },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  interactions: {
    policy,
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  findAccount: async (_ctx, sub) => {
    const user = findUserById(sub)
    if (!user) return undefined
    return {
      accountId: user.id,
      // The provider filters these by the granted scopes and claims.
      claims: async () => ({
        sub: user.id,
        email: user.email,
        email_verified: true,
        name: user.name,
        groups: [...user.groups],
      }),
    }
  },
})

for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'end_session.error']) {
  provider.on(event, (_ctx, err) => {
    const detail = err.error_description ? ` (${err.error_description})` : ''
    console.error(`development OIDC provider: ${event}: ${err.message}${detail}`)
  })
}

// --- interaction pages (sign-in; consent is granted automatically) ---------

const SECURITY_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

function sendHtml(res, status, html) {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Length': Buffer.byteLength(html) })
  res.end(html)
}

async function readForm(req) {
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > 16 * 1024) throw Object.assign(new Error('request body too large'), { status: 413 })
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

/** Grants the client everything it asked for, then resumes the authorization request. */
async function grantConsent(req, res, details) {
  const { prompt, params, session } = details
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id })
  const missing = prompt.details
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '))
    }
  }
  const grantId = await grant.save()
  await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true })
}

async function handleInteraction(req, res, uid, action) {
  let details
  try {
    details = await provider.interactionDetails(req, res)
  } catch {
    return sendHtml(res, 400, errorPage('This sign-in request has expired or is not valid. Start the sign-in again from the application.'))
  }
  if (details.uid !== uid) {
    return sendHtml(res, 400, errorPage('This sign-in request does not belong to this browser session. Start the sign-in again.'))
  }
  const client = await provider.Client.find(details.params.client_id)
  const view = { uid, clientName: client?.clientName || details.params.client_id, users: TEST_USERS }

  if (req.method === 'GET' && action === '') {
    if (details.prompt.name === 'consent') return grantConsent(req, res, details)
    return sendHtml(res, 200, loginPage(view))
  }
  if (req.method === 'POST' && action === 'login') {
    if (details.prompt.name !== 'login') {
      return sendHtml(res, 400, errorPage('This sign-in request is not waiting for credentials. Start the sign-in again.'))
    }
    const form = await readForm(req)
    const email = (form.get('email') || '').trim()
    const user = findUserByCredentials(email, form.get('password') || '')
    if (!user) {
      return sendHtml(res, 401, loginPage({ ...view, email, error: 'Invalid email or password' }))
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false })
  }
  if (req.method === 'POST' && action === 'abort') {
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
      { mergeWithLastSubmission: false },
    )
  }
  res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' })
  res.end('method not allowed\n')
}

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/

const providerCallback = provider.callback()

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url || '/', 'http://idp.invalid')
  const match = INTERACTION_PATH.exec(pathname)
  if (!match) return providerCallback(req, res)
  handleInteraction(req, res, match[1], match[2] || '').catch((err) => {
    console.error(`development OIDC provider: interaction failed: ${err.stack || err}`)
    if (!res.headersSent) sendHtml(res, err.status === 413 ? 413 : 500, errorPage('Something went wrong. Start the sign-in again.'))
    else res.end()
  })
})

server.on('error', (err) => fail(`cannot listen on ${host}:${port}: ${err.message}`))
server.listen(port, host, () => {
  const users = TEST_USERS.map((u) => `${u.email}/${u.password}`).join(', ')
  console.log(`Development OIDC provider listening on ${issuer} (users: ${users})`)
})

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close()
    server.closeAllConnections()
    process.exit(0)
  })
}
