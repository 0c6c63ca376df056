import type { EnvReader } from './config';

export const JWT_MODES = ['jwks', 'hs256'] as const;
export type JwtMode = (typeof JWT_MODES)[number];

/**
 * How tokens are signed and checked. "jwks": the auth subgraph signs with an asymmetric key and
 * publishes its public keys at `/.well-known/jwks.json`; the gateway verifies against JWKS (the
 * auth subgraph's and any external issuer's), and no process but auth holds a key that can sign.
 * "hs256": the shared-secret mode kept for compatibility (`JWT_SECRET` or `JWT_KEYS`, the same
 * on auth and every gateway, which can therefore all mint tokens); `JWT_SECRET` and `JWT_KEYS`
 * are read in this mode only (docs/authentication.md#modes). `JWT_MODE`, @default "jwks"
 */
export function readJwtMode(env: EnvReader): JwtMode {
  return env.oneOf('JWT_MODE', JWT_MODES, 'jwks');
}
