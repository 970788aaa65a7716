// node-oidc-provider as the real CIBA peer for pam_ciba's interoperability suite (test-only).
//
// Usage: node provider.mjs CONFIG.json
// CONFIG (written by test_interop.py): {cert, key, client_ca, ready_file, clients: [client
// metadata, plus public_key_pem and key_id for private_key_jwt clients], accounts: {id:
// {email, user_code}}, acr_values: [...]}.
// Serves OpenID Connect with CIBA poll mode over HTTPS on 127.0.0.1 (client certificates
// requested for tls_client_auth), and a plain-HTTP control channel on 127.0.0.1 for the
// simulated phone, the request log and signing-key rotation. Writes {"port", "control_port",
// "issuer"} to ready_file once both listen (stdout carries the library's own notices).
// Exits when its stdin closes, so it never outlives the test.

import { createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

import Provider, { errors } from 'oidc-provider';

const conf = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

// ---------------------------------------------------------------- signing keys

let generation = 0;
// Newest first: node-oidc-provider signs with the first key that fits the algorithm.
let signingKeys = [];

function newSigningKeys() {
  generation += 1;
  const tag = `g${generation}-${randomBytes(3).toString('hex')}`;
  const make = (type, opts, kid) => ({
    ...generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' }),
    kid,
    use: 'sig',
  });
  return [
    make('rsa', { modulusLength: 2048 }, `rsa-${tag}`),
    make('ec', { namedCurve: 'P-256' }, `ec-${tag}`),
    make('ed25519', {}, `ed-${tag}`),
  ];
}

// ---------------------------------------------------------------- state the tests read

const log = []; // every request to the OpenID server: {method, path, time, status, ...}
const backchannel = []; // every CIBA request the provider accepted
let phone = { mode: 'approve', delay: 0.5, acr: undefined };

function accountFor(id) {
  if (!Object.hasOwn(conf.accounts, id)) return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, email: conf.accounts[id].email };
    },
  };
}

// Auth0-style JSON iss_sub hints, email addresses, and plain subjects.
function processLoginHint(issuer) {
  return async (ctx, hint) => {
    if (hint.startsWith('{')) {
      let h;
      try {
        h = JSON.parse(hint);
      } catch {
        return undefined;
      }
      if (h?.format !== 'iss_sub' || h.iss !== issuer || typeof h.sub !== 'string') return undefined;
      return accountFor(h.sub) ? h.sub : undefined;
    }
    if (accountFor(hint)) return hint;
    if (hint.includes('@')) {
      return Object.keys(conf.accounts).find((id) => conf.accounts[id].email === hint);
    }
    return undefined;
  };
}

// ---------------------------------------------------------------- the simulated phone

let provider;

async function settle(entry, verdict) {
  if (entry.outcome) return false;
  entry.outcome = verdict;
  entry.settled_at = Date.now() / 1000;
  if (verdict === 'approve') {
    const grant = new provider.Grant({ clientId: entry.client_id, accountId: entry.account_id });
    grant.addOIDCScope(entry.scope);
    await grant.save();
    const acr = phone.acr ?? entry.acr_values?.split(' ')[0];
    await provider.backchannelResult(entry.jti, grant, {
      authTime: Math.floor(Date.now() / 1000),
      ...(acr ? { acr } : {}),
    });
  } else {
    await provider.backchannelResult(entry.jti, new errors.AccessDenied('the user denied the request'));
  }
  return true;
}

function triggerAuthenticationDevice(ctx, request, account, client) {
  const p = request.params;
  const entry = {
    jti: request.jti,
    client_id: client.clientId,
    account_id: account.accountId,
    scope: request.scope,
    login_hint: p.login_hint,
    binding_message: p.binding_message,
    acr_values: p.acr_values,
    user_code_present: p.user_code !== undefined,
    requested_expiry: p.requested_expiry,
    expires_in: request.expiration,
    time: Date.now() / 1000,
    outcome: undefined,
  };
  backchannel.push(entry);
  if (phone.mode === 'approve' || phone.mode === 'deny') {
    const verdict = phone.mode;
    setTimeout(() => settle(entry, verdict).catch((e) => console.error('phone:', e)), phone.delay * 1000);
  }
}

// ---------------------------------------------------------------- the provider

function b64json(part) {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function peerCertificate(ctx) {
  const sock = ctx.req.socket;
  return typeof sock.getPeerX509Certificate === 'function' ? sock.getPeerX509Certificate() : undefined;
}

function buildProvider(issuer) {
  const clients = conf.clients.map(({ public_key_pem: pem, ...meta }) => ({
    grant_types: [CIBA_GRANT],
    response_types: [],
    redirect_uris: [],
    backchannel_token_delivery_mode: 'poll',
    ...meta,
    ...(pem ? { jwks: { keys: [{ ...createPublicKey(pem).export({ format: 'jwk' }), kid: meta.key_id }] } } : {}),
  })).map(({ key_id: _kid, ...meta }) => meta);

  const p = new Provider(issuer, {
    clients,
    jwks: { keys: signingKeys },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    findAccount: (ctx, id) => accountFor(id),
    acrValues: conf.acr_values,
    scopes: ['openid', 'email'],
    claims: { openid: ['sub'], email: ['email'] },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
      clientAuthSigningAlgValues: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
        'ES256', 'ES384', 'EdDSA', 'Ed25519'],
    },
    clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'tls_client_auth'],
    ttl: {
      AccessToken: 600,
      BackchannelAuthenticationRequest: (ctx) => Math.min(600, +(ctx?.oidc?.params.requested_expiry || 600)),
      Grant: 600,
      IdToken: 600,
    },
    features: {
      devInteractions: { enabled: false },
      ciba: {
        enabled: true,
        deliveryModes: ['poll'],
        processLoginHint: processLoginHint(issuer),
        // No validateBindingMessage: the library's default check, as a new user has it
        // (at most 20 characters of [a-zA-Z0-9-._+/!?#]; the module's "node-oidc" profile).
        validateRequestContext: async () => {},
        verifyUserCode: async (ctx, account, userCode) => {
          if (!ctx.oidc.client.backchannelUserCodeParameter) return;
          if (!userCode) throw new errors.MissingUserCode('user_code is required for this client');
          if (userCode !== conf.accounts[account.accountId]?.user_code) {
            throw new errors.InvalidUserCode('user_code does not match');
          }
        },
        triggerAuthenticationDevice,
      },
      mTLS: {
        enabled: true,
        tlsClientAuth: true,
        getCertificate: (ctx) => peerCertificate(ctx),
        certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
        certificateSubjectMatches: (ctx, property, expected) => {
          const cert = peerCertificate(ctx);
          if (!cert) return false;
          switch (property) {
            case 'tls_client_auth_subject_dn':
              return cert.subject.split('\n').join(',') === expected;
            case 'tls_client_auth_san_dns':
              return (cert.subjectAltName ?? '').split(', ').includes(`DNS:${expected}`);
            default:
              return false;
          }
        },
      },
    },
  });

  // The request log: method, path, time, status, and what the tests assert on.
  p.use(async (ctx, next) => {
    const entry = { method: ctx.method, path: ctx.path, time: Date.now() / 1000 };
    log.push(entry);
    try {
      await next();
    } finally {
      entry.status = ctx.status;
      entry.content_type = ctx.response.type;
      entry.client_id = ctx.oidc?.client?.clientId;
      entry.auth_method = ctx.oidc?.client?.clientAuthMethod;
      entry.peer_cert = Boolean(peerCertificate(ctx));
      entry.basic = ctx.headers.authorization !== undefined;
      const body = ctx.body && typeof ctx.body === 'object' ? ctx.body : {};
      if (body.error) entry.error = body.error;
      if (body.error_description) entry.error_description = body.error_description;
      if (body.interval !== undefined) entry.interval = body.interval;
      // The parsed form body: ctx.oidc.params drops what a route does not list.
      const form = ctx.oidc?.body ?? {};
      if (form.grant_type) entry.grant_type = form.grant_type;
      if (form.client_assertion_type) entry.client_assertion_type = form.client_assertion_type;
      if (form.client_assertion) {
        const [h, c] = String(form.client_assertion).split('.');
        entry.client_assertion = { header: b64json(h), claims: b64json(c) };
      }
      if (typeof body.id_token === 'string') {
        const [h, c] = body.id_token.split('.');
        const header = b64json(h);
        const claims = b64json(c);
        entry.id_token = { alg: header?.alg, kid: header?.kid, sub: claims?.sub, aud: claims?.aud, acr: claims?.acr };
      }
    }
  });
  p.on('server_error', (ctx, err) => console.error('server_error:', err));
  return p;
}

// ---------------------------------------------------------------- servers

const tlsServer = createHttpsServer({
  key: readFileSync(conf.key),
  cert: readFileSync(conf.cert),
  ca: readFileSync(conf.client_ca),
  requestCert: true, // tls_client_auth; clients without a certificate are still served
  rejectUnauthorized: false,
  minVersion: 'TLSv1.2',
});
let handler;
tlsServer.on('request', (req, res) => handler(req, res));

function install(issuer) {
  provider = buildProvider(issuer);
  handler = provider.callback();
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { data += d; });
    req.on('end', () => {
      try {
        resolve(data ? JSON.parse(data) : {});
      } catch (e) {
        reject(e);
      }
    });
  });
}

const publicKid = (k) => ({ kid: k.kid, kty: k.kty, crv: k.crv });

async function control(req, res, issuer) {
  const send = (code, obj) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const body = req.method === 'POST' ? await readJson(req) : {};
  const latestOpen = () => [...backchannel].reverse().find((e) => !e.outcome);
  switch (`${req.method} ${req.url}`) {
    case 'GET /log':
      return send(200, log);
    case 'GET /backchannel': // auth_req_id (jti) stays inside
      return send(200, backchannel.map(({ jti: _jti, ...rest }) => rest));
    case 'GET /keys':
      return send(200, { generation, keys: signingKeys.map(publicKid) });
    case 'POST /reset':
      log.length = 0;
      backchannel.length = 0;
      phone = { mode: 'approve', delay: 0.5, acr: undefined };
      return send(200, {});
    case 'POST /phone':
      phone = { ...phone, ...body };
      return send(200, phone);
    case 'POST /approve':
    case 'POST /deny': {
      const entry = latestOpen();
      if (!entry) return send(404, { error: 'no open request' });
      await settle(entry, req.url.slice(1));
      return send(200, {});
    }
    case 'POST /rotate': {
      // A new generation of signing keys; keep_old publishes the old ones after it.
      const fresh = newSigningKeys();
      signingKeys = body.keep_old ? [...fresh, ...signingKeys] : fresh;
      install(issuer);
      return send(200, { generation, keys: signingKeys.map(publicKid) });
    }
    default:
      return send(404, { error: 'unknown control request' });
  }
}

tlsServer.listen(0, '127.0.0.1', () => {
  const { port } = tlsServer.address();
  const issuer = `https://127.0.0.1:${port}`;
  signingKeys = newSigningKeys();
  install(issuer);
  const ctl = createHttpServer((req, res) => {
    control(req, res, issuer).catch((e) => {
      console.error('control:', e);
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(e) }));
    });
  });
  ctl.listen(0, '127.0.0.1', () => {
    writeFileSync(`${conf.ready_file}.tmp`, JSON.stringify({ port, control_port: ctl.address().port, issuer }));
    renameSync(`${conf.ready_file}.tmp`, conf.ready_file);
  });
});

process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)); // the test went away: stop
process.stdin.resume();
