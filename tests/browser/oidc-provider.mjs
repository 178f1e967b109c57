#!/usr/bin/env node
// A small, real OpenID Connect provider for the browser tests, built on the
// certified `oidc-provider` package. It stands in for NHS CIS2 Authentication
// as the service is configured on AWS: authorization code flow with PKCE (S256)
// required, `state` and `nonce` passed through, a confidential client that
// authenticates at the token endpoint with client_secret_basic (or
// client_secret_post), scopes `openid email profile`, and RS256-signed ID
// tokens whose keys are generated at start-up and published at the JWKS URI.
//
//   node oidc-provider.mjs --port 0 --client-id mavis --client-secret SECRET \
//     --redirect-uri http://127.0.0.1:3000/auth/callback [--redirect-uri ...] \
//     [--post-logout-redirect-uri http://127.0.0.1:3000/ ...] \
//     --user nurse@example.com:"Test User" [--user ...]
//
// It binds 127.0.0.1 (port 0 = any free port), uses the issuer
// http://127.0.0.1:PORT and prints exactly one line on stdout once listening:
//
//   OIDC provider at http://127.0.0.1:PORT
//
// Everything else (oidc-provider's notices, errors) goes to stderr. It runs
// until SIGTERM or SIGINT and then exits with status 0.
//
// All state (sessions, codes, grants) is in memory and lost on exit; the
// signing key and the cookie-signing key are new on every start.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

// oidc-provider prints its notices with console.info, which writes to stdout.
// Stdout carries only the ready line, so anything else goes to stderr.
console.log = console.error;
console.info = console.error;

// oidc-provider warns when its built-in in-memory adapter is used as is. An
// in-memory store is exactly what a test provider wants, so use that same
// adapter through a subclass (the package version is pinned exactly).
const { default: Provider } = await import('oidc-provider');
const { default: MemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js');
class InMemoryAdapter extends MemoryAdapter {}

const HOST = '127.0.0.1';
const SCOPES = ['openid', 'email', 'profile'];

function usage(message) {
  process.stderr.write(`oidc-provider.mjs: ${message}
usage: node oidc-provider.mjs --port PORT --client-id ID --client-secret SECRET
         --redirect-uri URI [--redirect-uri URI ...]
         [--post-logout-redirect-uri URI ...]
         --user EMAIL:"Given Family" [--user ...]
`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true, default: [] },
      'post-logout-redirect-uri': { type: 'string', multiple: true, default: [] },
      user: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  usage(err.message);
}

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad --port ${args.port}`);
const clientId = args['client-id'];
const clientSecret = args['client-secret'];
if (!clientId) usage('--client-id is required');
if (!clientSecret) usage('--client-secret is required');
if (args['redirect-uri'].length === 0) usage('at least one --redirect-uri is required');
if (args.user.length === 0) usage('at least one --user is required');

// --- accounts -------------------------------------------------------------

// A stable subject identifier derived from the (case-folded) email address.
function subjectFor(email) {
  return createHash('sha256').update(`mavis-test-oidc:${email.toLowerCase()}`).digest('hex').slice(0, 32);
}

const accountsByEmail = new Map();
const accountsBySub = new Map();
for (const spec of args.user) {
  const colon = spec.indexOf(':');
  const email = (colon === -1 ? spec : spec.slice(0, colon)).trim();
  let name = colon === -1 ? '' : spec.slice(colon + 1).trim();
  if (!email.includes('@')) usage(`bad --user ${spec} (expected EMAIL:"Given Family")`);
  if (!name) name = email.slice(0, email.indexOf('@'));
  const space = name.lastIndexOf(' ');
  const account = {
    sub: subjectFor(email),
    email,
    email_verified: true,
    name,
    given_name: space === -1 ? name : name.slice(0, space),
    family_name: space === -1 ? name : name.slice(space + 1),
  };
  accountsByEmail.set(email.toLowerCase(), account);
  accountsBySub.set(account.sub, account);
}

async function findAccount(_ctx, sub) {
  const account = accountsBySub.get(sub);
  if (!account) return undefined;
  return {
    accountId: sub,
    // oidc-provider filters these down to the claims of the granted scopes.
    async claims() {
      return { ...account };
    },
  };
}

// --- pages ----------------------------------------------------------------

function escapeHtml(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `body{font-family:Arial,sans-serif;margin:2rem;line-height:1.5;color:#212b32}
main{max-width:30rem}label{display:block;font-weight:bold}
input{display:block;font-size:1rem;padding:.4rem;margin:.3rem 0 1rem;width:100%;box-sizing:border-box}
button{font-size:1rem;padding:.5rem 1rem}.error{color:#b10e1e;font-weight:bold}`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – test OIDC provider</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function loginPage(uid, { email = '', error } = {}) {
  const action = `/interaction/${encodeURIComponent(uid)}`;
  const errorHtml = error ? `<p class="error" id="email-error" role="alert">${escapeHtml(error)}</p>\n` : '';
  const describedBy = error ? ' aria-describedby="email-error"' : '';
  return page('Sign in', `<h1>Sign in</h1>
${errorHtml}<form method="post" action="${action}/login" novalidate>
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" spellcheck="false" value="${escapeHtml(email)}"${describedBy}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${action}/abort">
<button type="submit">Cancel</button>
</form>`);
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

// --- provider -------------------------------------------------------------

function generateSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

function configuration() {
  return {
    adapter: InMemoryAdapter,
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        client_name: clientId,
        application_type: 'web',
        redirect_uris: args['redirect-uri'],
        post_logout_redirect_uris: args['post-logout-redirect-uri'],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        // The client authenticates with HTTP Basic; oidc-provider also accepts
        // client_secret_post from a client registered for client_secret_basic.
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
        scope: SCOPES.join(' '),
      },
    ],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    scopes: SCOPES,
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    // Put the scope claims (email, name, ...) in the ID token, not only in the
    // userinfo response.
    conformIdTokenClaims: false,
    findAccount,
    jwks: { keys: [generateSigningKey()] },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    pkce: { required: () => true },
    cookies: {
      // Cookies are scoped by host, not port: the service under test on
      // 127.0.0.1:3000 shares a cookie jar with this provider, so use names
      // that cannot clash with the service's own cookies.
      names: {
        session: 'test_oidc_session',
        interaction: 'test_oidc_interaction',
        resume: 'test_oidc_interaction_resume',
      },
      // oidc-provider marks cookies Secure only on https requests, so these
      // work over plain http on loopback.
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
      keys: [randomBytes(32).toString('base64url')],
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: 60 * 60,
      AuthorizationCode: 5 * 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      Session: 8 * 60 * 60,
      Grant: 8 * 60 * 60,
      RefreshToken: 24 * 60 * 60,
      ClientCredentials: 10 * 60,
      DeviceCode: 10 * 60,
      BackchannelAuthenticationRequest: 10 * 60,
      PreAuthorizedCode: 10 * 60,
    },
    // No browser calls the token or userinfo endpoints cross-origin here.
    clientBasedCORS: () => false,
    renderError,
  };
}

// The defaults of these three pages load a web font from the internet; these
// are self-contained.
async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = page('Sign out', `<h1>Sign out</h1>
<p>Do you want to sign out of ${escapeHtml(ctx.host)}?</p>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<h1>Signed out</h1>\n<p>You have signed out.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Error', `<h1>Error</h1>
${Object.entries(out).map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`).join('\n')}`);
}

// --- interactions ---------------------------------------------------------

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16 * 1024) throw new Error('request body too large');
  }
  return new URLSearchParams(body);
}

// Consent for the client is granted without a page, through the Grant API.
async function grantConsent(provider, req, res, details) {
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  grant.addOIDCScope(missing.missingOIDCScope ?? SCOPES);
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes);
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function handleInteraction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<h1>Error</h1>\n<p>This sign-in request has expired or was replaced.</p>'));
    return;
  }

  if (action === '' && req.method === 'GET') {
    if (details.prompt.name === 'consent') {
      await grantConsent(provider, req, res, details);
    } else {
      send(res, 200, loginPage(uid, { email: details.params.login_hint ?? '' }));
    }
    return;
  }

  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const email = (form.get('email') ?? '').trim();
    const account = accountsByEmail.get(email.toLowerCase());
    if (!account) {
      send(res, 200, loginPage(uid, { email, error: 'Unknown user' }));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (action === 'abort' && req.method === 'POST') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  res.statusCode = 405;
  res.end();
}

// --- server ---------------------------------------------------------------

let provider;
let providerCallback;

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://placeholder');
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?\/?$/.exec(url.pathname);
  if (!match) {
    providerCallback(req, res);
    return;
  }
  try {
    await handleInteraction(provider, req, res, decodeURIComponent(match[1]), match[2] ?? '');
  } catch (err) {
    if (err.name === 'SessionNotFound') {
      send(res, 400, page('Error', `<h1>Error</h1>\n<p>${escapeHtml(err.error_description ?? err.message)}</p>`));
      return;
    }
    console.error('interaction error:', err);
    if (!res.headersSent) send(res, 500, page('Error', '<h1>Error</h1>\n<p>Internal error.</p>'));
    else res.end();
  }
});

server.on('error', (err) => {
  console.error(`oidc-provider.mjs: ${err.message}`);
  process.exit(1);
});

server.listen(port, HOST, () => {
  const issuer = `http://${HOST}:${server.address().port}`;
  provider = new Provider(issuer, configuration());
  provider.on('server_error', (_ctx, err) => console.error('server_error:', err));
  providerCallback = provider.callback();
  process.stdout.write(`OIDC provider at ${issuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
