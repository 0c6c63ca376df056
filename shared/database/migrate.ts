import { DataSource } from 'typeorm';
import { EnvReader, type Env } from '../config';
import { describeDatabase, readDatabaseSettings, readDataDir, type DatabaseSettings } from './config';
import { createDataSource } from './data-source';

/** Applies pending migrations, each in its own transaction; returns the names applied. */
export async function migrate(settings: DatabaseSettings): Promise<string[]> {
  const dataSource: DataSource = createDataSource(settings, []);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}

export function readMigrateSettings(env: Env): DatabaseSettings {
  const reader = new EnvReader(env);
  const settings = readDatabaseSettings(reader, readDataDir(reader));
  return reader.finish(settings);
}

if (require.main === module) {
  const settings = readMigrateSettings(process.env);
  migrate(settings).then(
    (applied) => console.log(`migrate: ${describeDatabase(settings)}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`),
    (error: unknown) => {
      console.error('migrate: failed:', error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
