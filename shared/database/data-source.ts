import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type EntitySchema } from 'typeorm';
import type { DatabaseSettings } from './config';
import { migrations } from './migrations';
import { loadSqliteModule } from './sqlite-module';
import { registerSqliteTextFunctions } from './text-match';

/** How long a SQLite writer waits for another process's lock before failing, in ms. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Builds (does not connect) a DataSource for the given entities. Schema changes come only from migrations. */
export function createDataSource(settings: DatabaseSettings, entities: EntitySchema<any>[]): DataSource {
  const common = { entities, migrations, synchronize: false, migrationsRun: false, logging: false } as const;
  if (settings.kind === 'sqlite') {
    mkdirSync(dirname(settings.file), { recursive: true });
    return new DataSource({
      ...common,
      type: 'better-sqlite3',
      driver: loadSqliteModule(),
      database: settings.file,
      enableWAL: true,
      timeout: SQLITE_BUSY_TIMEOUT_MS,
      prepareDatabase: registerSqliteTextFunctions,
    });
  }
  return new DataSource({
    ...common,
    type: 'mysql',
    url: settings.url,
    poolSize: settings.poolSize,
    charset: 'utf8mb4',
    timezone: 'Z',
  });
}

/** Connects and refuses to serve on a schema older than the code: run `npm run migrate` first. */
export async function connectWithCurrentSchema(dataSource: DataSource): Promise<DataSource> {
  await dataSource.initialize();
  if (await dataSource.showMigrations()) {
    await dataSource.destroy();
    throw new Error('The database schema has pending migrations: run `npm run migrate` first');
  }
  return dataSource;
}
