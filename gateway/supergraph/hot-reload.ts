import { createHash } from 'node:crypto';
import { Supergraph } from '@apollo/federation-internals';
import type { SupergraphManager, SupergraphSdlUpdateFunction } from '@apollo/gateway';
import type { FastifyBaseLogger } from 'fastify';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import { brokenOperations, type BrokenOperation, type ContractOperation } from './contract';
import type { SupergraphOrigin } from './origin';

/** Why a candidate supergraph was not swapped in. */
export type RefusalReason = 'unreadable' | 'invalid' | 'breaks-operations';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['unreadable', 'invalid', 'breaks-operations'];

/** What set a reload off. */
export type ReloadTrigger = 'watch' | 'poll' | 'SIGHUP';

export type ReloadOutcome = 'swapped' | 'unchanged' | 'refused';

/** The live supergraph and what became of the candidates since start: what `/ready` and metrics report. */
export interface SupergraphStatus {
  /** The file's path or the URL. */
  source: string;
  /** sha256 (hex) of the live supergraph's text: the file's `sha256sum`, and Apollo Gateway's composition id. */
  hash: string;
  loadedAt: Date;
  /** Supergraphs swapped in since start (the first one not counted). */
  reloads: number;
  /** Candidates refused since start, by reason; the same candidate offered again is not counted again. */
  refusals: Record<RefusalReason, number>;
  /** The origin's current offer, refused; cleared once the live supergraph is what it offers. */
  refused?: { hash?: string; reason: RefusalReason; problems: string[]; at: Date };
}

export interface SupergraphHotReloadOptions {
  origin: SupergraphOrigin;
  /** Operations every new supergraph must keep serving (see contract.ts). */
  contract: readonly ContractOperation[];
  /** Validation rules Apollo Server adds to GraphQL's own (the gateway's operation limits). */
  validationRules: readonly ValidationRule[];
  log: FastifyBaseLogger;
}

export interface SupergraphHotReload {
  /** Apollo Gateway's `supergraphSdl`: loads the first supergraph, then pushes each accepted one. */
  manager: SupergraphManager;
  /** Reads the origin now and swaps its supergraph in if it is new and keeps the contract. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  status(): Readonly<SupergraphStatus>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

type Examined = { schema: GraphQLSchema } | { reason: RefusalReason; problems: string[] };

/**
 * Hot reload of the supergraph, guarded by the REST contract. A candidate (a changed file, a
 * fetched URL, or whatever the origin offers on SIGHUP) goes live only if it is a valid supergraph
 * whose API schema — built as Apollo Gateway builds it — still validates every contract operation
 * the live one does. Otherwise it is refused: the live one keeps serving, and the refusal is
 * logged with each broken operation and why, and counted. Swapping is Apollo Gateway's own
 * `update`: requests already planned finish on the old plan, later ones get the new schema, and
 * every `schemaDidLoadOrUpdate` hook (the response cache, Apollo's document and plan caches) follows.
 */
export function useSupergraphHotReload({ origin, contract, validationRules, log }: SupergraphHotReloadOptions): SupergraphHotReload {
  let update: SupergraphSdlUpdateFunction | undefined;
  let status: SupergraphStatus | undefined;
  /** The contract operations the live supergraph serves: the ones a candidate must not break. */
  let served: readonly ContractOperation[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  let waiting: Promise<ReloadOutcome> | undefined;

  const examine = (text: string): Examined => {
    let schema: GraphQLSchema;
    try {
      schema = Supergraph.build(text, { validateSupergraph: true }).apiSchema().toGraphQLJSSchema();
    } catch (error) {
      return { reason: 'invalid', problems: [messageOf(error)] };
    }
    const broken = brokenOperations(schema, served, validationRules);
    return broken.length > 0 ? { reason: 'breaks-operations', problems: broken.map(describe) } : { schema };
  };

  const goLive = (hash: string, schema: GraphQLSchema) => {
    const broken = brokenOperations(schema, contract, validationRules);
    served = contract.filter((operation) => !broken.some(({ label }) => label === operation.label));
    // A first supergraph may run only some (a foreign one, none); a later one runs at least what the one before did.
    if (broken.length > 0) log.warn({ supergraph: hash, operations: broken.map(describe) }, `supergraph ${hash}: ${broken.length} REST or client operations cannot run on it`);
    const previous = status;
    status = { source: origin.location, hash, loadedAt: new Date(), reloads: previous ? previous.reloads + 1 : 0, refusals: previous?.refusals ?? zeroRefusals() };
    if (previous) log.info({ supergraph: hash, previous: previous.hash, source: origin.location }, `supergraph ${hash} is live (was ${previous.hash})`);
    else log.info({ supergraph: hash, source: origin.location }, `supergraph ${hash} is live`);
  };

  const refuse = (current: SupergraphStatus, refusal: { hash?: string; reason: RefusalReason; problems: string[] }, trigger: ReloadTrigger): ReloadOutcome => {
    const again = current.refused?.hash === refusal.hash && current.refused?.problems.join() === refusal.problems.join();
    if (!again) {
      current.refusals[refusal.reason] += 1;
      current.refused = { ...refusal, at: new Date() };
    }
    const message = `supergraph ${refusal.hash ?? 'from ' + origin.location} refused (${refusal.reason}): still serving ${current.hash}`;
    if (!again) log.warn({ candidate: refusal.hash, reason: refusal.reason, problems: refusal.problems, trigger }, message);
    else if (trigger === 'SIGHUP') log.info({ candidate: refusal.hash, reason: refusal.reason, trigger }, `${message}, as before`);
    return 'refused';
  };

  const attempt = async (trigger: ReloadTrigger): Promise<ReloadOutcome> => {
    const current = status;
    if (!current || !update) return 'unchanged';
    let text: string | undefined;
    try {
      text = await origin.read();
    } catch (error) {
      return refuse(current, { reason: 'unreadable', problems: [messageOf(error)] }, trigger);
    }
    if (text === undefined) return 'unchanged';
    const hash = sha256(text);
    if (hash === current.hash) {
      current.refused = undefined;
      if (trigger === 'SIGHUP') log.info({ supergraph: hash }, `supergraph ${hash} is live already`);
      return 'unchanged';
    }
    if (current.refused?.hash === hash) return refuse(current, current.refused, trigger);
    const examined = examine(text);
    if ('reason' in examined) return refuse(current, { hash, ...examined }, trigger);
    // The gateway may have stopped while the candidate was read and checked.
    if (!update) return 'unchanged';
    try {
      update(text);
    } catch (error) {
      return refuse(current, { hash, reason: 'invalid', problems: [messageOf(error)] }, trigger);
    }
    goLive(hash, examined.schema);
    return 'swapped';
  };

  const reload = (trigger: ReloadTrigger): Promise<ReloadOutcome> => {
    // One at a time (Apollo refuses an update during an update), and triggers arriving meanwhile
    // share one further attempt, which reads whatever is newest by then.
    waiting ??= queue.then(() => {
      waiting = undefined;
      return attempt(trigger);
    });
    queue = waiting.catch(() => undefined);
    return waiting;
  };

  const manager: SupergraphManager = {
    async initialize(hooks) {
      const text = await origin.read();
      if (text === undefined) throw new Error(`supergraph: ${origin.location} gave no supergraph`);
      const hash = sha256(text);
      const examined = examine(text);
      if ('reason' in examined) throw new Error(`supergraph ${origin.location} is not valid: ${examined.problems.join('; ')}`);
      goLive(hash, examined.schema);
      update = hooks.update;
      const stopWatching = origin.watch((trigger) => void reload(trigger));
      const onSignal = () => void reload('SIGHUP');
      process.on('SIGHUP', onSignal);
      return {
        supergraphSdl: text,
        cleanup: async () => {
          stopWatching();
          process.off('SIGHUP', onSignal);
          update = undefined;
        },
      };
    },
  };

  return {
    manager,
    reload,
    status: () => {
      if (!status) throw new Error('supergraph: not loaded yet');
      return status;
    },
  };
}

function zeroRefusals(): Record<RefusalReason, number> {
  return Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, 0])) as Record<RefusalReason, number>;
}

function describe({ label, errors }: BrokenOperation): string {
  return `${label}: ${errors.join(' ')}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
