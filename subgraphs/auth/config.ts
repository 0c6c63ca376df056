import { EnvReader, readHttpSettings, type Env, type HttpSettings } from '../../shared/config';
import { readDataDir } from '../../shared/database/config';
import { readJwtSettings, type JwtSettings } from '../../shared/jwt';
import { readSubgraphProofSettings, type SubgraphProofSettings } from '../../shared/subgraph-proof';

export interface AuthConfig {
  /** `HOST` @default "127.0.0.1"; `PORT` @default 19095; `METRICS_PORT` @default 19195 */
  http: HttpSettings;
  /** `JWT_KEYS` or `JWT_SECRET`, `JWT_ISSUER`, `JWT_TTL_SECONDS`, `JWT_CLOCK_TOLERANCE_SECONDS` */
  jwt: JwtSettings;
  /** The key that checks the gateway's proof on every request (docs/hardening.md#subgraph-trust). */
  subgraphProof: SubgraphProofSettings;
}

export function loadAuthConfig(env: Env = process.env): Readonly<AuthConfig> {
  const reader = new EnvReader(env);
  const dataDir = readDataDir(reader);
  return reader.finish({
    http: readHttpSettings(reader, { host: '127.0.0.1', port: 19095, metricsPort: 19195 }),
    jwt: readJwtSettings(reader, dataDir),
    subgraphProof: readSubgraphProofSettings(reader, dataDir),
  });
}
