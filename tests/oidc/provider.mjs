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
  ],
  scopes: ['openid', 'scim'],
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
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
  },
});

provider.on('server_error', (_ctx, err) => console.error('oidc server_error:', err));
if (VERBOSE) {
  provider.on('grant.error', (_ctx, err) => console.error('oidc grant.error:', err.message, err.error_description ?? ''));
  provider.on('grant.success', (ctx) => console.error('oidc grant.success:', ctx.oidc.client?.clientId));
}

handler = provider.callback();

process.stdout.write(`issuer ${issuer}\n`);

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
