// Minimal OpenID Connect provider for rollcall's integration tests.
//
// Env:
//   OIDC_PORT    TCP port on 127.0.0.1 (default 0 = pick a free port)
//   OIDC_KEYSET  path to a private JWKS file {"keys":[...]}; generated (one
//                RS256 key, random kid) if missing. Unset = ephemeral key.
//   OIDC_VERBOSE set to 1 to log token endpoint errors to stderr
//
// stdout carries exactly one line, `issuer http://127.0.0.1:<port>`, printed
// once the server is listening. Everything else goes to stderr.
//
// ID tokens come from a real authorization code flow (PKCE, nonce) whose
// browser and login are scripted: `GET /test/id-token?client=C&account=A
// &nonce=N&claims=JSON` stores the account's claims, then walks /auth, the
// interaction (login and consent, done here), the redirect and /token, and
// answers the token endpoint's JSON ({"id_token", "access_token", …}).
//
// A JetBrains Hub keeps roles out of its ID tokens and serves them from its
// REST API: `GET /api/rest/users/{id}/transitiveprojectroles` answers, to the
// bearer token HUB_TOKEN, a page of the account's `hub_roles` keys in Hub's
// shape ({"transitiveprojectroles": [{"role": {"key"}, "project"}]}).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

// Keep stdout reserved for the issuer line: oidc-provider prints notices with
// console.info. Also drop the "Unsupported runtime" notice it prints on
// Node.js 20 (v9 targets 22 LTS, but runs fine on 20.18+).
{
  const toStderr = console.error.bind(console);
  const filtered = (...args) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
    toStderr(...args);
  };
  console.log = filtered;
  console.info = filtered;
  console.warn = filtered;
}

const { default: Provider, errors } = await import('oidc-provider');

const VERBOSE = process.env.OIDC_VERBOSE === '1';

const CLIENT_ID = 'rollcall-test';
const CLIENT_SECRET = 's3cret';

// Host applications that sign users in (authorization code flow), with the
// lifetime of their ID tokens in seconds.
const HOST_CLIENTS = {
  'host-app': 300,
  'host-app-short': 1,
  'other-app': 300,
};
const HOST_SECRET = 'h0st-s3cret';
const REDIRECT_URI = 'http://127.0.0.1/callback';
const ROLES_CLAIM = 'https://rollcall.test/roles';

const HUB_TOKEN = 'perm:hub-service-token';

// The Rollcall console's own client: authorization code with PKCE
// (required), HTTP Basic client authentication. A native application, so
// that its loopback redirect URI may use any port (RFC 8252), whichever the
// server under test listens on.
const CONSOLE_CLIENT = 'rollcall-console';
const CONSOLE_SECRET = 'c0nsole-s3cret';
const CONSOLE_REDIRECT = 'http://127.0.0.1/console/oidc/callback';

// Test accounts: id -> claims (set by /test/id-token).
const accounts = new Map();

// Resource indicator -> access token TTL (seconds).
const RESOURCES = {
  'urn:rollcall:scim': 300,
  'urn:rollcall:short': 1,
  'urn:other:api': 300,
};

function generateKeyset() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    keys: [{ ...jwk, kid: crypto.randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig' }],
  };
}

function loadKeyset(file) {
  if (!file) return generateKeyset();
  if (fs.existsSync(file)) {
    const jwks = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) {
      throw new Error(`${file}: expected a JWKS object {"keys":[...]}`);
    }
    return jwks;
  }
  const jwks = generateKeyset();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return jwks;
}

// Tiny in-memory adapter (avoids the library's loud "development-only adapter"
// warning; state is per-process, which is what a test provider wants).
const stores = new Map();
class MemoryAdapter {
  constructor(name) {
    this.name = name;
    if (!stores.has(name)) stores.set(name, new Map());
    this.store = stores.get(name);
  }

  async upsert(id, payload, expiresIn) {
    this.store.set(id, payload);
    if (expiresIn) setTimeout(() => this.store.delete(id), expiresIn * 1000).unref();
  }

  async find(id) { return this.store.get(id); }

  async findByUid(uid) {
    for (const v of this.store.values()) if (v.uid === uid) return v;
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const v of this.store.values()) if (v.userCode === userCode) return v;
    return undefined;
  }

  async consume(id) {
    const v = this.store.get(id);
    if (v) v.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { this.store.delete(id); }

  async revokeByGrantId(grantId) {
    for (const [k, v] of this.store) if (v.grantId === grantId) this.store.delete(k);
  }
}

const jwks = loadKeyset(process.env.OIDC_KEYSET);
const port = Number.parseInt(process.env.OIDC_PORT ?? '0', 10) || 0;

let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});

const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  jwks,
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      // oidc-provider v9 accepts client_secret_basic for this client too.
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'scim',
    },
    ...Object.keys(HOST_CLIENTS).map((id) => ({
      client_id: id,
      client_secret: HOST_SECRET,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    {
      client_id: CONSOLE_CLIENT,
      client_secret: CONSOLE_SECRET,
      application_type: 'native',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [CONSOLE_REDIRECT],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: {
    required: (_ctx, client) => client.clientId === CONSOLE_CLIENT || client.clientAuthMethod === 'none',
  },
  scopes: ['openid', 'scim', 'email', 'profile', 'roles'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    roles: [ROLES_CLAIM, 'groups'],
  },
  // Scope claims go into the ID token itself, as Auth0 puts an Action's
  // custom claims there.
  conformIdTokenClaims: false,
  async findAccount(_ctx, id) {
    if (!accounts.has(id)) return undefined;
    return {
      accountId: id,
      async claims() { return { ...accounts.get(id), sub: id }; },
    };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  clientBasedCORS: () => false,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No `resource` parameter -> opaque (non-JWT) access token.
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo(_ctx, resource) {
        const ttl = RESOURCES[resource];
        if (ttl === undefined) throw new errors.InvalidTarget();
        return {
          scope: 'scim',
          audience: resource,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  formats: {
    customizers: {
      // oidc-provider does not put `nbf` in JWT access tokens by default.
      jwt(_ctx, _token, jwt) {
        jwt.payload.nbf = jwt.payload.iat;
      },
    },
  },
  ttl: {
    Interaction: 300,
    Session: 3600,
    Grant: 3600,
    IdToken: (_ctx, _token, client) => HOST_CLIENTS[client?.clientId] ?? 300,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
  },
});

provider.on('server_error', (_ctx, err) => console.error('oidc server_error:', err));
if (VERBOSE) {
  provider.on('grant.error', (_ctx, err) => console.error('oidc grant.error:', err.message, err.error_description ?? ''));
  provider.on('grant.success', (ctx) => console.error('oidc grant.success:', ctx.oidc.client?.clientId));
}

// The query of the last authorization request (tests check what a client sent).
let lastAuth = {};

const oidc = provider.callback();
handler = (req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'GET' && url.pathname === '/auth') {
    lastAuth = Object.fromEntries(url.searchParams);
  }
  if (req.method === 'GET' && url.pathname.startsWith('/interaction/')) {
    finishInteraction(req, res).catch((e) => fail(res, e));
  } else if (req.method === 'GET' && /^\/api\/rest\/users\/[^/]+\/transitiveprojectroles$/.test(url.pathname)) {
    hubRoles(req, res, decodeURIComponent(url.pathname.split('/')[4]));
  } else if (req.method === 'GET' && url.pathname === '/test/account') {
    const account = url.searchParams.get('account');
    accounts.set(account, JSON.parse(url.searchParams.get('claims') ?? '{}'));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ account }));
  } else if (req.method === 'GET' && url.pathname === '/test/last-auth') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(lastAuth));
  } else if (req.method === 'GET' && url.pathname === '/test/id-token') {
    scriptedSignIn(url.searchParams).then(
      (body) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); },
      (e) => fail(res, e),
    );
  } else {
    oidc(req, res);
  }
};

// Hub's REST API: a user's roles, directly or through groups, per project.
function hubRoles(req, res, id) {
  if (req.headers.authorization !== `Bearer ${HUB_TOKEN}`) {
    res.statusCode = 401;
    res.end();
    return;
  }
  const keys = accounts.get(id)?.hub_roles ?? [];
  const items = keys.map((key, i) => ({ id: `pr-${i}`, role: { id: `r-${i}`, key, name: key }, project: { name: 'Global' } }));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ skip: 0, top: items.length, total: items.length, transitiveprojectroles: items }));
}

function fail(res, e) {
  console.error('test sign-in failed:', e);
  res.statusCode = 500;
  res.end(String(e?.message ?? e));
}

// The login and consent pages: the account named by login_hint (or typed
// into the login page, `?login=`) signs in and grants what the client asked
// for; `?deny=1` declines instead (the client gets access_denied).
async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const query = new URL(req.url, issuer).searchParams;
  if (query.get('deny') === '1') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user declined' }, { mergeWithLastSubmission: false });
    return;
  }
  const accountId = details.params.login_hint ?? query.get('login');
  if (!accountId) {
    loginPage(res, details.uid);
    return;
  }
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

// A login page for a person at a browser: type the account, sign in.
function loginPage(res, uid) {
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><html lang="en"><head><title>Test IdP sign-in</title></head><body>
<h1>Test identity provider</h1>
<form method="get" action="/interaction/${uid}">
<label for="login">Login</label> <input id="login" name="login" autocomplete="username">
<button type="submit">Continue</button>
</form>
<form method="get" action="/interaction/${uid}"><input type="hidden" name="deny" value="1"><button type="submit">Decline</button></form>
</body></html>`);
}

// The browser and the host application of an authorization code flow.
async function scriptedSignIn(params) {
  const client = params.get('client') ?? 'host-app';
  const isConsole = client === CONSOLE_CLIENT;
  const redirectUri = isConsole ? CONSOLE_REDIRECT : REDIRECT_URI;
  const account = params.get('account');
  if (!account) throw new Error('account is required');
  accounts.set(account, JSON.parse(params.get('claims') ?? '{}'));
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const auth = new URL('/auth', issuer);
  const query = {
    client_id: client,
    response_type: 'code',
    scope: 'openid email profile roles',
    redirect_uri: redirectUri,
    state: crypto.randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    login_hint: account,
  };
  if (params.get('nonce')) query.nonce = params.get('nonce');
  auth.search = new URLSearchParams(query).toString();
  const jar = new Map();
  let location = auth.href;
  for (let hop = 0; hop < 10; hop += 1) {
    if (location.startsWith(redirectUri)) break;
    const r = await fetch(location, { redirect: 'manual', headers: { cookie: cookies(jar) } });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const next = r.headers.get('location');
    if (!next) throw new Error(`flow stopped at ${location}: ${r.status} ${await r.text()}`);
    location = new URL(next, location).href;
  }
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  // The console's client authenticates with HTTP Basic, the hosts in the body.
  const form = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier };
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (isConsole) {
    headers.authorization = `Basic ${Buffer.from(`${basicPart(client)}:${basicPart(CONSOLE_SECRET)}`).toString('base64')}`;
  } else {
    Object.assign(form, { client_id: client, client_secret: HOST_SECRET });
  }
  const token = await fetch(new URL('/token', issuer), {
    method: 'POST', headers, body: new URLSearchParams(form),
  });
  const body = await token.json();
  if (!token.ok) throw new Error(`token endpoint: ${JSON.stringify(body)}`);
  return body;
}

// HTTP Basic client credentials are form-urlencoded first (RFC 6749 2.3.1).
function basicPart(s) {
  return encodeURIComponent(s);
}

function cookies(jar) {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

process.stdout.write(`issuer ${issuer}\n`);

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
