// A small web application that signs people in with Lectern through openid-client, the OpenID
// Foundation-certified relying-party library by panva: nothing here checks a token by hand. The
// library discovers the provider, sends the authorization request with PKCE (S256), state and a
// nonce, and at the callback checks the `iss` of the response, exchanges the code and validates the
// ID token itself (signature against the JWKS, iss, aud, exp, iat, nonce), then reads userinfo.
//
// docs/oidc.md walks through this file. tests/oidc/journey.mjs starts it and drives a browser
// through it; on its own:
//
//   node relying-party.mjs   (with LECTERN_URL, RP_PORT and CLIENTS set as journey.mjs sets them)

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import * as client from 'openid-client';

/**
 * Starts the application on http://localhost:`port`.
 *
 * - `issuer`: Lectern's LECTERN_PUBLIC_URL;
 * - `clients`: `{ name: { client_id, client_secret, id_token_alg } }` as `lectern oidc clients add
 *   --json` registered them, with `http://localhost:PORT/callback/NAME` as redirect URI
 *   (`client_secret` null for a public client);
 * - `clockSkew()`: seconds to add to this machine's clock to get Lectern's (0 in real life; the
 *   test moves Lectern's clock instead of sleeping).
 */
export async function startRelyingParty({ issuer, clients, port, clockSkew = () => 0 }) {
  const base = `http://localhost:${port}`;
  // Per browser session of this application: what the callback must check.
  const pending = new Map();

  async function configuration(name) {
    const c = clients[name];
    const metadata = {
      // What the provider must sign this client's ID tokens with; the library refuses any other.
      id_token_signed_response_alg: c.id_token_alg,
      [client.clockSkew]: clockSkew(),
    };
    const auth = c.client_secret ? client.ClientSecretBasic(c.client_secret) : client.None();
    // Plain http is allowed here because the test runs on the loopback interface; a real
    // deployment of Lectern is served over https and needs no such option.
    return client.discovery(new URL(issuer), c.client_id, metadata, auth, {
      execute: [client.allowInsecureRequests],
    });
  }

  function cookie(req, name) {
    const found = (req.headers.cookie ?? '').split(';').map((s) => s.trim().split('=')).find(([k]) => k === name);
    return found?.[1];
  }

  function page(res, status, id, value) {
    const json = JSON.stringify(value, null, 2).replace(/</g, '\\u003c');
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><title>Relying party</title><pre id="${id}">${json}</pre>`);
  }

  async function login(req, res, url) {
    const name = url.searchParams.get('client');
    if (!clients[name]) return page(res, 404, 'error', { error: `no client ${name}` });
    const config = await configuration(name);
    const code_verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const sid = randomBytes(16).toString('hex');
    pending.set(sid, { name, code_verifier, state, nonce });
    const target = client.buildAuthorizationUrl(config, {
      redirect_uri: `${base}/callback/${name}`,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    res.writeHead(303, {
      location: target.href,
      'set-cookie': `rp_sid=${sid}; Path=/; HttpOnly; SameSite=Lax`,
      'cache-control': 'no-store',
    });
    res.end();
  }

  async function callback(req, res, url) {
    const flow = pending.get(cookie(req, 'rp_sid') ?? '');
    if (!flow) return page(res, 400, 'error', { error: 'no sign-in in progress' });
    pending.delete(cookie(req, 'rp_sid'));
    const config = await configuration(flow.name);
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(req.url, base), {
        pkceCodeVerifier: flow.code_verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString());
      page(res, 200, 'result', { client: flow.name, header, claims, userinfo, scope: tokens.scope });
    } catch (e) {
      page(res, 400, 'error', { error: e.error ?? e.code ?? e.name, error_description: e.error_description ?? e.message });
    }
  }

  // The application's own page, with the button people click.
  async function home(req, res, url) {
    const name = url.searchParams.get('client');
    if (!clients[name]) return page(res, 404, 'error', { error: `no client ${name}` });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>${name}</title><a id="sign-in" href="/login?client=${encodeURIComponent(name)}">Sign in with Lectern</a>`);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, base);
    const routes = { '/': home, '/login': login };
    const route = routes[url.pathname] ?? (url.pathname.startsWith('/callback/') ? callback : null);
    if (!route) return page(res, 404, 'error', { error: 'not found' });
    route(req, res, url).catch((e) => page(res, 500, 'error', { error: 'crashed', error_description: String(e) }));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: base, close: () => new Promise((resolve) => server.close(resolve)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rp = await startRelyingParty({
    issuer: process.env.LECTERN_URL,
    clients: JSON.parse(process.env.CLIENTS),
    port: Number(process.env.RP_PORT),
  });
  console.log(`relying party at ${rp.url}/login?client=NAME`);
}
