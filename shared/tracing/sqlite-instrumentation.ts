import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, InstrumentationNodeModuleFile } from '@opentelemetry/instrumentation';

type Query = (this: SqliteQueryRunner, sql: string, parameters?: unknown[], structured?: boolean) => Promise<unknown>;

interface SqliteQueryRunner {
  query: Query;
  driver: { options: { database?: unknown } };
}

interface QueryRunnerModule {
  BetterSqlite3QueryRunner: { prototype: SqliteQueryRunner };
}

const QUERY_RUNNER_FILE = 'typeorm/driver/better-sqlite3/BetterSqlite3QueryRunner.js';

/**
 * A client span for each SQL statement TypeORM runs on SQLite, as the mysql2 instrumentation
 * makes for MySQL (better-sqlite3 has no instrumentation of its own). It wraps TypeORM's
 * better-sqlite3 query runner, through which every statement passes, and records the statement
 * with its `?` placeholders: parameter values are never recorded.
 */
export class SqliteQueryInstrumentation extends InstrumentationBase {
  constructor() {
    super('federation-platform/sqlite-query', '1.0.0', {});
  }

  protected init() {
    const file = new InstrumentationNodeModuleFile(
      QUERY_RUNNER_FILE,
      ['>=0.3.0 <2'],
      (runner: QueryRunnerModule) => {
        this._wrap(runner.BetterSqlite3QueryRunner.prototype, 'query', (original) => this.traced(original));
        return runner;
      },
      (runner: QueryRunnerModule) => {
        this._unwrap(runner.BetterSqlite3QueryRunner.prototype, 'query');
        return runner;
      },
    );
    return new InstrumentationNodeModuleDefinition('typeorm', ['>=0.3.0 <2'], undefined, undefined, [file]);
  }

  private traced(original: Query): Query {
    const tracer = this.tracer;
    return function (this: SqliteQueryRunner, sql, ...rest) {
      const span = tracer.startSpan(sql.trimStart().split(/\s/, 1)[0]!.toUpperCase(), {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system.name': 'sqlite', 'db.namespace': String(this.driver.options.database ?? ''), 'db.query.text': sql },
      });
      return original
        .call(this, sql, ...rest)
        .catch((error: unknown) => {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          throw error;
        })
        .finally(() => span.end());
    };
  }
}
