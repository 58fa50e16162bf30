// An independent FAPI 2.0 client (oauth4webapi, not benteng's code) run by
// crates/benteng/tests/it/fapi_node.rs: discovery, PAR with a signed request object and PKCE
// S256, private_key_jwt, DPoP, the tenant user's consent through the real HTML page, the JARM
// response checked against the server's published keys, the token, then a transfer with it.
// Prints one JSON line with the outcome; exits non-zero (with the library's message) on any
// check that fails.
import * as oauth from 'oauth4webapi';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const issuer = new URL(env('FAPI_ISSUER'));
const redirectUri = env('FAPI_REDIRECT_URI');
const clientId = env('FAPI_CLIENT_ID');

// The client's key: EC P-256 (ES256) or RSA (PS256), as registered.
const pkcs8 = Buffer.from(env('FAPI_CLIENT_KEY_PKCS8'), 'base64');
const keyAlgorithm = env('FAPI_CLIENT_ALG') === 'PS256'
  ? { name: 'RSA-PSS', hash: 'SHA-256' }
  : { name: 'ECDSA', namedCurve: 'P-256' };
const clientKey = await crypto.subtle.importKey('pkcs8', pkcs8, keyAlgorithm, false, ['sign']);
const signingKey = { key: clientKey, kid: env('FAPI_CLIENT_KID') };

const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer));
const client = {
  client_id: clientId,
  // Never the RS256 default: the server's JARM algorithm.
  authorization_signed_response_alg: 'ES256',
};
const clientAuth = oauth.PrivateKeyJwt(signingKey);
const dpopKeys = await oauth.generateKeyPair(env('FAPI_DPOP_ALG'));
const DPoP = oauth.DPoP(client, dpopKeys);

// PAR with a signed request object (JAR) and PKCE S256.
const verifier = oauth.generateRandomCodeVerifier();
const state = oauth.generateRandomState();
const request = await oauth.issueRequestObject(as, client, {
  response_type: 'code',
  response_mode: 'jwt',
  redirect_uri: redirectUri,
  scope: env('FAPI_SCOPE'),
  state,
  code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
}, signingKey);
const pushed = await oauth.processPushedAuthorizationResponse(as, client,
  await oauth.pushedAuthorizationRequest(as, client, clientAuth, { request }, { DPoP }));

// The user's browser: the consent page, then the form (sign-in and approval).
const authorize = new URL(as.authorization_endpoint);
authorize.searchParams.set('client_id', clientId);
authorize.searchParams.set('request_uri', pushed.request_uri);
const page = await fetch(authorize);
if (page.status !== 200) throw new Error(`consent page: ${page.status}`);
const html = await page.text();
const field = (name) => {
  const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!match) throw new Error(`consent page: no ${name} field`);
  return match[1].replaceAll('&amp;', '&').replaceAll('&quot;', '"');
};
const form = new URLSearchParams({
  client_id: field('client_id'),
  request_uri: field('request_uri'),
  form_token: field('form_token'),
  login: env('FAPI_USER_LOGIN'),
  password: env('FAPI_USER_PASSWORD'),
  code: env('FAPI_USER_CODE'),
  decision: 'approve',
});
const decided = await fetch(new URL(new URL(html.match(/action="([^"]*)"/)[1], authorize)), {
  method: 'POST',
  body: form,
  redirect: 'manual',
});
if (decided.status !== 303) throw new Error(`consent: ${decided.status}`);
const callback = new URL(decided.headers.get('location'));

// JARM: signature, iss, aud, exp, state.
const params = await oauth.validateJwtAuthResponse(as, client, callback, state);

// The token endpoint: private_key_jwt and DPoP.
const tokens = await oauth.processAuthorizationCodeResponse(as, client,
  await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier,
    { DPoP }));
if (tokens.token_type.toLowerCase() !== 'dpop') throw new Error(`token_type ${tokens.token_type}`);

// A transfer with the DPoP-bound token.
const headers = new Headers({
  'content-type': 'application/json',
  'x-idempotency-key': crypto.randomUUID(),
});
const transfer = await oauth.protectedResourceRequest(tokens.access_token, 'POST',
  new URL('/v1/transfers', issuer), headers, env('FAPI_TRANSFER_BODY'), { DPoP });
const body = await transfer.json();
if (transfer.status !== 201) throw new Error(`transfer: ${transfer.status} ${JSON.stringify(body)}`);
console.log(JSON.stringify({
  transfer_id: body.id, status: body.status, scope: tokens.scope,
  client_alg: env('FAPI_CLIENT_ALG'), dpop_alg: env('FAPI_DPOP_ALG'),
}));
