// The OpenID Connect provider of the test suite: panva's certified `oidc-provider`, configured for
// Passerelle (docs/identity.md). Not for production: its login accepts any password.
//
//   node passerelle/devstack/oidc/provider.mjs [port]      (or OIDC_PORT; default 0: a free port)
//
// It prints one line of JSON once it listens: {"issuer": ..., "port": ...}.
//
// Environment (all optional):
//   OIDC_ISSUER             the issuer URL (default http://127.0.0.1:<port>)
//   OIDC_AUDIENCE           the `aud` of the access tokens (default "passerelle")
//   OIDC_ROLES_CLAIM        the claim that carries the roles (default "groups")
//   OIDC_ACCESS_TOKEN_TTL   seconds an access token lives (default 300)
//   OIDC_ACCOUNTS           JSON {login: {email, email_verified?, roles, organisation?}} replacing the accounts below
//
// Test-only administration, on the same port (loopback only):
//   POST /_test/keys/add      publish a new key, not signing yet (verifiers can fetch it first)
//   POST /_test/keys/promote  the newest key signs from now on; the others stay published
//   POST /_test/keys/retire   withdraw every key but the signing one from the JWKS
//   GET  /_test/keys          {"kids": [...]}, the signing key first, the newest last
// The provider is rebuilt with the new key set; grants, device codes and refresh tokens survive
// in the store below, which every instance shares (oidc-provider's own in-memory adapter gives each
// instance a store of its own, so a rebuilt provider would forget every refresh token).

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const RESOURCE = 'urn:passerelle:api';

const port = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);
const audience = process.env.OIDC_AUDIENCE || 'passerelle';
const rolesClaim = process.env.OIDC_ROLES_CLAIM || 'groups';
const accessTokenTTL = Number(process.env.OIDC_ACCESS_TOKEN_TTL || 300);

const accounts = process.env.OIDC_ACCOUNTS
  ? JSON.parse(process.env.OIDC_ACCOUNTS)
  : {
      anne: { email: 'anne@coalition-next.example', roles: ['coalition-next:operator'] },
      claire: { email: 'claire.martin@coalition-next.example', roles: ['coalition-next:approver'] },
      audrey: { email: 'audrey@audit.example', roles: ['coalition-next:auditor'] },
    };

// oidc-provider's adapter interface, in memory: one record per model and id, with the indexes its
// lookups need (user code, session uid, grant id).
const records = new Map();
const now = () => Math.floor(Date.now() / 1000);

class SharedMemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    records.set(this.key(id), { payload, expiresAt: expiresIn ? now() + expiresIn : Infinity });
    if (payload.userCode) records.set(`userCode:${payload.userCode}`, { payload: id, expiresAt: Infinity });
    if (payload.uid) records.set(`sessionUid:${payload.uid}`, { payload: id, expiresAt: Infinity });
    if (payload.grantId) {
      const members = records.get(`grant:${payload.grantId}`)?.payload ?? [];
      records.set(`grant:${payload.grantId}`, { payload: [...members, this.key(id)], expiresAt: Infinity });
    }
  }

  async find(id) {
    const record = records.get(this.key(id));
    if (!record || record.expiresAt < now()) return undefined;
    return record.payload;
  }

  async findByUserCode(userCode) {
    const id = records.get(`userCode:${userCode}`)?.payload;
    return id && this.find(id);
  }

  async findByUid(uid) {
    const id = records.get(`sessionUid:${uid}`)?.payload;
    return id && this.find(id);
  }

  async consume(id) {
    const record = records.get(this.key(id));
    if (record) record.payload.consumed = now();
  }

  async destroy(id) {
    records.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of records.get(`grant:${grantId}`)?.payload ?? []) records.delete(key);
    records.delete(`grant:${grantId}`);
  }
}

function claimsOf(login) {
  const account = accounts[login];
  return {
    email: account.email,
    email_verified: account.email_verified ?? true,
    [rolesClaim]: account.roles ?? [],
    // A sponsor's group: Passerelle shows them their own group's collaborations only.
    ...(account.organisation ? { organisation: account.organisation } : {}),
  };
}

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

// The signing key comes first: oidc-provider signs with the first key that fits the algorithm.
let keys = [newSigningKey()];

function configuration() {
  return {
    adapter: SharedMemoryAdapter,
    jwks: { keys },
    clients: [
      {
        // `passerelle login`: a public client on the operator's machine (RFC 8628).
        client_id: 'passerelle-cli',
        client_name: 'passerelle',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    scopes: ['openid', 'offline_access', 'email', 'roles'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], roles: [rolesClaim] },
    async findAccount(_ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claimsOf(id) }) };
    },
    // The access token is the proof of who acted: it carries the e-mail and roles itself, so
    // Passerelle never has to call the provider (userinfo) to learn them.
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== 'AccessToken' || !Object.hasOwn(accounts, token.accountId)) return undefined;
      return claimsOf(token.accountId);
    },
    features: {
      devInteractions: { enabled: true }, // login form: any password; the login picks the account
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Without a resource an access token is opaque; with one, a JWT of the resource's format.
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'passerelle',
            audience,
            accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // A public client's refresh token rotates on every use (oidc-provider's default for it).
    ttl: {
      DeviceCode: 600,
      Grant: 14 * 24 * 3600,
      Interaction: 600,
      Session: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
      IdToken: 300,
    },
    pkce: { required: () => false },
    cookies: { keys: ['passerelle-test-oidc-provider-cookie-key'] },
  };
}

let issuer;
let handle; // the current provider's request handler

function build() {
  handle = new Provider(issuer, configuration()).callback();
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function admin(req, res) {
  const path = new URL(req.url, issuer).pathname;
  if (req.method === 'GET' && path === '/_test/keys') {
    return json(res, 200, { kids: keys.map((k) => k.kid) });
  }
  if (req.method === 'POST' && path === '/_test/keys/add') {
    keys = [...keys, newSigningKey()];
  } else if (req.method === 'POST' && path === '/_test/keys/promote') {
    keys = [keys.at(-1), ...keys.slice(0, -1)];
  } else if (req.method === 'POST' && path === '/_test/keys/retire') {
    keys = keys.slice(0, 1);
  } else {
    return json(res, 404, { error: 'not_found' });
  }
  build();
  return json(res, 200, { kids: keys.map((k) => k.kid) });
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/_test/')) return admin(req, res);
  return handle(req, res);
});

server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  issuer = process.env.OIDC_ISSUER || `http://127.0.0.1:${bound}`;
  build();
  process.stdout.write(`${JSON.stringify({ issuer, port: bound })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
