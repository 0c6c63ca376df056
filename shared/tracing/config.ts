import { EnvReader, isHttpUrl, type Env } from '../config';

/** The tracing settings, the same for every process. */
export interface TracingSettings {
  /**
   * Zipkin's v2 spans endpoint, e.g. `http://localhost:9411/api/v2/spans`. Unset, tracing is off:
   * no SDK is loaded and nothing is patched. `ZIPKIN_URL`, @default unset
   */
  zipkinUrl: string | undefined;
  /**
   * Share of new traces recorded, from 0 to 1. A request that arrives with a sampled parent
   * (`traceparent` or `b3`) is recorded whatever the ratio, so a trace is never cut in half.
   * `TRACE_SAMPLE_RATIO`, @default 1
   */
  sampleRatio: number;
  /** How long finished spans are collected before they are sent in one batch, in ms. `TRACE_EXPORT_DELAY_MS`, @default 5000 */
  exportDelayMs: number;
}

/** Reads the tracing settings; throws a ConfigError listing every problem. */
export function loadTracingSettings(env: Env = process.env): Readonly<TracingSettings> {
  const reader = new EnvReader(env);
  const zipkinUrl = reader.optionalString('ZIPKIN_URL');
  if (zipkinUrl !== undefined && !isHttpUrl(zipkinUrl)) reader.problem(`ZIPKIN_URL must be an http(s) URL, got "${zipkinUrl}"`);
  return reader.finish({
    zipkinUrl,
    sampleRatio: readRatio(reader, 'TRACE_SAMPLE_RATIO', 1),
    exportDelayMs: reader.int('TRACE_EXPORT_DELAY_MS', 5000, { min: 10, max: 60_000 }),
  });
}

function readRatio(reader: EnvReader, name: string, fallback: number): number {
  const value = reader.raw(name);
  if (value === undefined) return fallback;
  const ratio = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(ratio >= 0 && ratio <= 1)) {
    reader.problem(`${name} must be a number from 0 to 1, got "${value}"`);
    return fallback;
  }
  return ratio;
}
