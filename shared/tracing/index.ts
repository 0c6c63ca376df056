import type { NodeSDK } from '@opentelemetry/sdk-node';
import { loadTracingSettings } from './config';

/** The name each process reports in Zipkin. */
export type ServiceName = 'gateway' | 'auth' | 'order' | 'product';

let sdk: NodeSDK | undefined;
let reportPort: (port: number) => void = () => undefined;

/**
 * Starts OpenTelemetry for this process when `ZIPKIN_URL` is set. Unset, it returns at once
 * having loaded nothing: no SDK, no patched module, so tracing then costs nothing; the span
 * helpers elsewhere see no active span and do nothing.
 *
 * Instrumentation patches modules as they are loaded, so this must run before http, undici,
 * graphql, mysql2 or TypeORM are: each process's `tracing.ts` calls it, and its `index.ts`
 * imports that file first. A bad setting ends the process like any other configuration error.
 */
export function startTracing(service: ServiceName): void {
  let settings: ReturnType<typeof loadTracingSettings>;
  try {
    settings = loadTracingSettings();
  } catch (error) {
    console.error(`${service}: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (settings.zipkinUrl === undefined) return;
  // Required here, not imported above: without ZIPKIN_URL the SDK is never even loaded.
  const { startSdk } = require('./sdk') as typeof import('./sdk');
  const instance = new Promise<string>((resolve) => (reportPort = (port) => resolve(`${service}-${port}`)));
  sdk = startSdk({ ...settings, zipkinUrl: settings.zipkinUrl }, service, instance);
}

/** True once `startTracing` has started the SDK; the span helpers are only hooked in then. */
export function tracingEnabled(): boolean {
  return sdk !== undefined;
}

/**
 * Names this instance after the port it listens on (`product-19093`), known only once it
 * listens (`PORT=0` picks one); spans wait for the name before they are sent.
 */
export function tracingListening(port: number): void {
  reportPort(port);
}

/** Sends the spans still waiting in the batch; called once the server has closed. */
export async function stopTracing(): Promise<void> {
  await sdk?.shutdown();
}
