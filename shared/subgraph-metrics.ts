import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { DataSource, EntitySubscriberInterface } from 'typeorm';
import type { AfterQueryEvent } from 'typeorm/subscriber/event/QueryEvent';
import { FastCounter, FastHistogram, type HistogramChild } from './fast-metrics';
import { DURATION_BUCKETS, metricsOf, requestHistogram, useMetrics, useRequestMetrics } from './metrics';

/**
 * A subgraph's series (docs/operations.md#metrics): its requests by route pattern, its resolvers,
 * and its database. Labels are bounded: route patterns, `Type.field` names from the schema,
 * statement kinds; never an id.
 */

/** Where resolvers are timed: every root field, and entity resolution (`_entities` runs `__resolveReference`). */
const ROOT_TYPES = new Set(['Query', 'Mutation']);

/**
 * Requests and resolvers of a subgraph app: `subgraph_http_request_duration_seconds` and
 * `subgraph_resolver_duration_seconds{field, outcome}`. Returns the resolvers to build the schema
 * from, each root resolver and `__resolveReference` timed; nested fields are not wrapped, so they
 * cost nothing (Apollo's per-field hook would instrument every field of every answer).
 */
export function useSubgraphMetrics<T>(app: FastifyInstance, service: string, resolvers: GraphQLResolverMap<T>): GraphQLResolverMap<T> {
  const registry = useMetrics(app, service);
  useRequestMetrics(app, requestHistogram(registry, 'subgraph', false));
  const histogram = new FastHistogram(
    'subgraph_resolver_duration_seconds',
    'Root-field and entity-reference resolvers, by Type.field and outcome (ok or error), in seconds',
    ['field', 'outcome'],
    DURATION_BUCKETS,
    registry,
  );
  const timed: GraphQLResolverMap<T> = {};
  for (const [type, fields] of Object.entries(resolvers)) {
    if (!fields || typeof fields !== 'object' || fields.constructor !== Object) {
      timed[type] = fields;
      continue;
    }
    const wrapped: Record<string, unknown> = { ...fields };
    for (const [field, resolve] of Object.entries(fields)) {
      if (typeof resolve !== 'function' || !(ROOT_TYPES.has(type) || field === '__resolveReference')) continue;
      // Both made now, so both are exported from the start: an error rate of a field that never failed is 0, not no data.
      const ok = histogram.labels(`${type}.${field}`, 'ok');
      const failed = histogram.labels(`${type}.${field}`, 'error');
      wrapped[field] = timedResolver(resolve as (...args: unknown[]) => unknown, ok, failed);
    }
    timed[type] = wrapped as GraphQLResolverMap<T>[string];
  }
  return timed;
}

function timedResolver(resolve: (...args: unknown[]) => unknown, ok: HistogramChild, failed: HistogramChild) {
  return function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    let result: unknown;
    try {
      result = resolve.apply(this, args);
    } catch (error) {
      failed.observe(took());
      throw error;
    }
    if (!(result instanceof Promise)) {
      ok.observe(took());
      return result;
    }
    return result.then(
      (value) => {
        ok.observe(took());
        return value;
      },
      (error: unknown) => {
        failed.observe(took());
        throw error;
      },
    );
  };
}

/** SQL statement kinds, the only values of the `statement` label; anything else is `other`. */
const STATEMENTS = new Set(['select', 'insert', 'update', 'delete', 'start', 'begin', 'commit', 'rollback', 'savepoint', 'release']);

function statementOf(query: string): string {
  const word = /^\s*([a-z]+)/i.exec(query)?.[1]?.toLowerCase();
  return word !== undefined && STATEMENTS.has(word) ? word : 'other';
}

/**
 * The database series of a subgraph app: query durations by statement kind (TypeORM's `afterQuery`
 * event, as its query runner measured them, in whole ms), failed queries, and with MySQL the
 * connection pool's use read at scrape time. Nothing when the app counts nothing.
 */
export function useDatabaseMetrics(app: FastifyInstance, dataSource: DataSource): void {
  const registry = metricsOf(app);
  if (!registry) return;
  const durations = new FastHistogram(
    'subgraph_db_query_duration_seconds',
    'Database queries that succeeded, by statement kind, in seconds (measured in whole ms by TypeORM)',
    ['statement'],
    DURATION_BUCKETS,
    registry,
  );
  const failures = new FastCounter('subgraph_db_query_errors_total', 'Database queries that failed, by statement kind', ['statement'], registry);
  const subscriber: EntitySubscriberInterface = {
    afterQuery({ query, success, executionTime }: AfterQueryEvent) {
      if (success && executionTime !== undefined) durations.labels(statementOf(query)).observe(executionTime / 1000);
      else if (!success) failures.labels(statementOf(query)).inc();
    },
  };
  // TypeORM's broadcaster reads this list at every query; the data source is connected already.
  (dataSource.subscribers as EntitySubscriberInterface[]).push(subscriber);
  watchPool(registry, dataSource);
}

/** mysql2's pool counts (private fields, read at scrape time only). SQLite has one connection and no pool. */
interface Mysql2Pool {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
  config?: { connectionLimit?: number };
}

function watchPool(registry: Registry, dataSource: DataSource): void {
  if (dataSource.options.type !== 'mysql') return;
  const pool = () => (dataSource.driver as unknown as { pool?: Mysql2Pool }).pool;
  new Gauge({
    name: 'subgraph_db_pool_connections',
    help: 'Connections of the MySQL pool, by state: open (idle or in use), idle, waiting (requests queued for one), limit (DATABASE_POOL_SIZE)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const current = pool();
      if (!current) return;
      this.set({ state: 'open' }, current._allConnections?.length ?? 0);
      this.set({ state: 'idle' }, current._freeConnections?.length ?? 0);
      this.set({ state: 'waiting' }, current._connectionQueue?.length ?? 0);
      this.set({ state: 'limit' }, current.config?.connectionLimit ?? 0);
    },
  });
}
