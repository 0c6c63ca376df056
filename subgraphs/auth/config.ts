import { EnvReader, readHttpSettings, type Env, type HttpSettings } from '../../shared/config';
import { readDataDir } from '../../shared/database/config';
import { readJwtSettings, type JwtSettings } from '../../shared/jwt';
import { readJwtMode } from '../../shared/jwt-mode';
import { readSigningSettings, type SigningSettings } from '../../shared/signing-keys';
import { readSubgraphProofSettings, type SubgraphProofSettings } from '../../shared/subgraph-proof';

/** How the auth subgraph signs: with its asymmetric key ring (jwks), or the shared secret (hs256). */
export type TokenIssuing = { readonly mode: 'jwks'; readonly signing: SigningSettings } | { readonly mode: 'hs256'; readonly sharedSecret: JwtSettings };

export interface AuthConfig {
  /** `HOST` @default "127.0.0.1"; `PORT` @default 19095; `METRICS_PORT` @default 19195 */
  http: HttpSettings;
  /** How tokens are signed: the asymmetric key ring (jwks mode) or the shared secret (hs256 mode); docs/authentication.md. */
  tokens: TokenIssuing;
  /** The key that checks the gateway's proof on every request (docs/hardening.md#subgraph-trust). */
  subgraphProof: SubgraphProofSettings;
}

function readTokenIssuing(reader: EnvReader, dataDir: string): TokenIssuing {
  return readJwtMode(reader) === 'hs256'
    ? { mode: 'hs256', sharedSecret: readJwtSettings(reader, dataDir) }
    : { mode: 'jwks', signing: readSigningSettings(reader, dataDir) };
}

export function loadAuthConfig(env: Env = process.env): Readonly<AuthConfig> {
  const reader = new EnvReader(env);
  const dataDir = readDataDir(reader);
  return reader.finish({
    http: readHttpSettings(reader, { host: '127.0.0.1', port: 19095, metricsPort: 19195 }),
    tokens: readTokenIssuing(reader, dataDir),
    subgraphProof: readSubgraphProofSettings(reader, dataDir),
  });
}
