import { SpanKind, type Attributes, type Context, type Link } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { B3Propagator } from '@opentelemetry/propagator-b3';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';
import type { TracingSettings } from './config';
import type { ServiceName } from './index';
import { SqliteQueryInstrumentation } from './sqlite-instrumentation';

/** Paths whose requests are never traced: health checks would bury the traces that matter. */
const UNTRACED_PATHS = new Set(['/health']);

/**
 * The OpenTelemetry Node SDK as this project uses it: spans batched to Zipkin; a parent-based
 * sampler that starts traces only at incoming requests, at the configured ratio; W3C
 * `traceparent` and B3 headers both read (and both written, so a B3-only service downstream
 * still joins the trace); instrumentation for the libraries a request passes through. Nothing
 * else: no metrics or log exporters, no resource detection.
 */
export function startSdk(settings: TracingSettings & { zipkinUrl: string }, service: ServiceName, instance: Promise<string>): NodeSDK {
  const sdk = new NodeSDK({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': service, 'service.instance.id': instance })),
    autoDetectResources: false,
    sampler: new ParentBasedSampler({ root: new RequestRootSampler(settings.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new ZipkinExporter({ url: settings.zipkinUrl }), scheduledDelayMillis: settings.exportDelayMs })],
    textMapPropagator: new CompositePropagator({ propagators: [new B3Propagator(), new W3CTraceContextPropagator()] }),
    instrumentations: instrumentations(),
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return sdk;
}

function instrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]!) }),
    // Node's fetch: the gateway's subgraph calls and the order service's product check.
    new UndiciInstrumentation(),
    // Root fields only (createOrder, _entities, products): they hold the calls and the SQL; a span per scalar field is noise.
    new GraphQLInstrumentation({ mergeItems: true, depth: 1 }),
    // TypeORM sends `?` placeholders and the values apart: the statement is recorded as sent, values never inlined.
    new MySQL2Instrumentation({ maskStatement: true, maskStatementHook: (query) => query }),
    new SqliteQueryInstrumentation(),
  ];
}

/**
 * Starts a trace only at an incoming request, at the configured ratio. A span with no parent
 * that is not a server span (schema parsing and migration checks at start-up, background calls)
 * is not recorded, so every trace in Zipkin is a request.
 */
class RequestRootSampler implements Sampler {
  private readonly ratio: Sampler;

  constructor(ratio: number) {
    this.ratio = new TraceIdRatioBasedSampler(ratio);
  }

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (kind !== SpanKind.SERVER) return { decision: SamplingDecision.NOT_RECORD };
    return this.ratio.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `RequestRootSampler{${this.ratio.toString()}}`;
  }
}
