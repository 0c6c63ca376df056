import { EnvReader, readHttpSettings, type Env, type HttpSettings } from '../../shared/config';
import { readDataDir } from '../../shared/database/config';
import { readJwtSettings, type JwtSettings } from '../../shared/jwt';

export interface AuthConfig {
  /** `HOST` @default "127.0.0.1"; `PORT` @default 19095 */
  http: HttpSettings;
  /** `JWT_SECRET`, `JWT_ISSUER`, `JWT_TTL_SECONDS`, `JWT_CLOCK_TOLERANCE_SECONDS` */
  jwt: JwtSettings;
}

export function loadAuthConfig(env: Env = process.env): Readonly<AuthConfig> {
  const reader = new EnvReader(env);
  return reader.finish({
    http: readHttpSettings(reader, { host: '127.0.0.1', port: 19095 }),
    jwt: readJwtSettings(reader, readDataDir(reader)),
  });
}
