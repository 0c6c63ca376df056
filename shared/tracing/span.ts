import { SpanStatusCode, isSpanContextValid, trace, type Attributes } from '@opentelemetry/api';

/**
 * The span attributes this project adds to what the instrumentations record. Set through the
 * helpers below on the span of the work in progress: with tracing off there is none, and they
 * do nothing.
 */
export const SpanAttribute = {
  /** The route pattern that served a request, as `/order/:orderId`. */
  route: 'http.route',
  /** The verified token subject (never the token). */
  userId: 'enduser.id',
  /** `HIT` or `MISS`: whether the gateway's response cache answered. */
  cache: 'app.cache',
  /** Set on a request answered with an identical request's execution, which was in flight (so no subgraph spans of its own). */
  deduplicated: 'app.deduplicated',
  /** The `Server-Port` of the subgraph instance that answered a gateway fetch. */
  serverPort: 'app.server_port',
  /** The error catalogue code a request failed with. */
  errorType: 'error.type',
} as const;

/** Adds attributes to the active span. */
export function annotateSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** Marks the active span failed with a catalogue code, which Zipkin shows as its error. */
export function failSpan(code: string): void {
  trace.getActiveSpan()?.setAttribute(SpanAttribute.errorType, code).setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/** Names a request's server span after its route (`POST /order/:orderId`), the way Zipkin lists it. */
export function nameSpanAfterRoute(method: string, route: string | undefined): void {
  const span = trace.getActiveSpan();
  if (span === undefined || route === undefined) return;
  span.setAttribute(SpanAttribute.route, route).updateName(`${method} ${route}`);
}

/** The active trace and span ids, for log lines, so a line leads to its trace in Zipkin. */
export function traceIdsForLog(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
