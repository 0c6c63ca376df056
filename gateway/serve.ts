import './tracing'; // first: tracing must start before anything it traces is loaded
import './deferred-modules'; // second: before Apollo Gateway loads what it would load for nothing
import { runServer } from '../shared/run-server';
import { loadGatewayConfig } from './config';
import { createGatewayServer } from './server';

// The gateway served by this process: alone, or as one worker of a cluster (see index.ts).
void runServer('gateway', async () => {
  const config = loadGatewayConfig();
  return { app: await createGatewayServer(config), http: config.http };
});
