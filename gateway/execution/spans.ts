import { recordExceptions, tracer } from '@apollo/gateway/dist/utilities/opentelemetry';
import { SpanStatusCode, type Attributes, type Exception, type Span } from '@opentelemetry/api';
import { tracingEnabled } from '../../shared/tracing';

/** The gateway's `telemetry` setting, as Apollo's spans read it (`recordExceptions`). */
type Telemetry = Parameters<typeof recordExceptions>[2];

/**
 * Runs `work` in a span of Apollo Gateway's own tracer, named as its executor names them
 * (`gateway.request`, `gateway.plan`, `gateway.fetch`, …), so traces read the same whichever
 * executor ran. A span that throws, or whose result `failures` finds errors in, is marked failed.
 * Without tracing (no `ZIPKIN_URL`) it only runs `work`: no span object, no context switch.
 */
export function inSpan<T>(name: string, attributes: Attributes, work: (span?: Span) => T, failures?: (result: Awaited<T>) => readonly unknown[] | undefined, telemetry?: Telemetry): T {
  if (!tracingEnabled()) return work();
  return tracer.startActiveSpan(name, { attributes }, (span) => {
    const fail = (errors: readonly unknown[]) => {
      recordExceptions(span, errors as readonly Exception[], telemetry);
      span.setStatus({ code: SpanStatusCode.ERROR });
    };
    const settle = (result: Awaited<T>) => {
      const errors = failures?.(result);
      if (errors?.length) fail(errors);
      span.end();
      return result;
    };
    const failed = (error: unknown) => {
      fail([error]);
      span.end();
      throw error;
    };
    try {
      const result = work(span);
      if (result instanceof Promise) return result.then(settle, failed) as T;
      return settle(result as Awaited<T>) as T;
    } catch (error) {
      return failed(error);
    }
  });
}
