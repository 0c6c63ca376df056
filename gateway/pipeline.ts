import type { ApolloServer, ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { setFastPath, type FastPath } from '../shared/http-app';
import type { GatewayContext } from './context';

/** What a stage's Fastify side is given: the app, and what only the whole pipeline knows. */
export interface StageContext {
  app: FastifyInstance;
  /** The Apollo Server built with every stage's Apollo side, started. */
  apollo: ApolloServer<GatewayContext>;
  /** The routes every stage opens without a token (authentication lets them through). */
  publicRoutes: ReadonlySet<string>;
}

/**
 * One stage of the gateway's pipeline: every gateway plugin (`gateway/plugins/`) is a factory of
 * this shape. A stage has a name and any of three sides; its place in the list given to
 * `usePipeline` is its place in the order a request meets it, on each side.
 */
export interface GatewayPlugin {
  /** What the stage does, as the start log lists it. */
  name: string;
  /** Routes this stage opens without a token. */
  publicRoutes?: readonly string[];
  /** Fastify side: its hooks and routes, registered in list order, so hooks of one kind run in that order. */
  fastify?(context: StageContext): void | Promise<void>;
  /** Apollo side: plugins of Apollo Server, in list order. */
  apollo?: readonly ApolloServerPlugin<GatewayContext>[];
  /**
   * Fast-path side: sees a request before Fastify routes it, and answers it (true) or leaves it,
   * untouched, to the Fastify side of the stages (false); a promise when it has to wait to decide.
   */
  fastPath?: FastPath;
}

export interface PipelineOptions {
  /** Builds the Apollo Server with the stages' Apollo sides; the pipeline starts and stops it. */
  apollo(plugins: ApolloServerPlugin<GatewayContext>[]): ApolloServer<GatewayContext>;
}

const running = new WeakMap<FastifyInstance, readonly string[]>();

/** The names of the stages `usePipeline` runs on `app`, in order (what the start log lists). */
export function stagesOf(app: FastifyInstance): readonly string[] {
  return running.get(app) ?? [];
}

/**
 * Runs the gateway's stages, in order, on `app`: builds and starts Apollo Server with their Apollo
 * sides, registers their Fastify sides, puts their fast-path sides in front of Fastify, and logs
 * the list. A stage that is switched off is given as `undefined` (or `false`) and left out.
 */
export async function usePipeline(app: FastifyInstance, listed: readonly (GatewayPlugin | undefined | false)[], options: PipelineOptions): Promise<void> {
  const stages = listed.filter((stage): stage is GatewayPlugin => Boolean(stage));
  const apollo = options.apollo(stages.flatMap((stage) => stage.apollo ?? []));
  await apollo.start();
  app.addHook('onClose', () => apollo.stop());
  const context: StageContext = { app, apollo, publicRoutes: new Set(stages.flatMap((stage) => stage.publicRoutes ?? [])) };
  for (const stage of stages) await stage.fastify?.(context);
  const fastPath = chained(stages.flatMap((stage) => (stage.fastPath ? [stage.fastPath] : [])));
  if (fastPath) setFastPath(app, fastPath);
  const names = stages.map((stage) => stage.name);
  running.set(app, names);
  app.log.info({ stages: names }, 'gateway pipeline');
}

/** One fast path of several, tried in order; the only one as it is, so a single stage costs no extra call. */
function chained(paths: FastPath[]): FastPath | undefined {
  if (paths.length <= 1) return paths[0];
  return (request, response) => {
    const next = (index: number): boolean | Promise<boolean> => {
      if (index === paths.length) return false;
      const answered = paths[index]!(request, response);
      if (answered === true) return true;
      return answered === false ? next(index + 1) : answered.then((done) => done || next(index + 1));
    };
    return next(0);
  };
}
