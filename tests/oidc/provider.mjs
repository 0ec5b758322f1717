// A real OpenID Connect provider (panva/oidc-provider) for jupyterhub-saturn's login tests.
//
// Started by tests/oidc/provider.py on 127.0.0.1. Everything comes from one JSON settings file
// (path in argv[2]): {"port", "issuer", "clients": [...], "claims_file", "access_token_ttl",
// "clock_tolerance", "conform_id_token_claims"}.
// Claims are re-read from `claims_file` ({"<sub>": {"preferred_username": ..., "groups": [...]}})
// on every userinfo/ID-token request, so a test can change a user's groups between logins and
// refreshes. Any `sub` logs in with any password (devInteractions); consent is skipped by
// creating the grant in loadExistingGrant; refresh tokens are issued without offline_access.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';

import Provider from 'oidc-provider';

const settings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

// start-up steps with their times since the process began, so a slow or stuck start says where it was
const step = (what) => console.log(`oidc-provider ${process.uptime().toFixed(2)}s: ${what}`);
step(`modules loaded (node ${process.version})`);
// a signal that ends the process is written down, so a provider that vanished shows whether one did
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => { step(`${sig}, exiting`); process.exit(128 + os.constants.signals[sig]); });
}

function readClaims(sub) {
  const all = JSON.parse(fs.readFileSync(settings.claims_file, 'utf8'));
  return all[sub] || {};
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'saturn-test-1', use: 'sig', alg: 'RS256' };
step('signing key generated');

const configuration = {
  clients: settings.clients.map((c) => ({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    ...c,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups', 'roles'],
  },
  features: {
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  // tokens expire exactly at their ttl (the default tolerates 15 s), for refresh tests
  clockTolerance: settings.clock_tolerance || 0,
  // false: the ID token carries every granted claim (groups too), as many providers do, not only userinfo
  conformIdTokenClaims: settings.conform_id_token_claims ?? true,
  ttl: {
    AccessToken: settings.access_token_ttl || 3600,
    IdToken: 3600,
    RefreshToken: 86400,
    Grant: 86400,
    Session: 86400,
    Interaction: 600,
    AuthorizationCode: 60,
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { ...readClaims(sub), sub };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(configuration.scopes.join(' '));
    grant.addOIDCClaims(Object.values(configuration.claims).flat());
    await grant.save();
    return grant;
  },
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
};

const provider = new Provider(settings.issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));

step('provider configured');

http.createServer(provider.callback()).listen(settings.port, '127.0.0.1', () => {
  step(`listening on ${settings.issuer}`);
});
