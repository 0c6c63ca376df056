import './tracing'; // first: tracing must start before anything it traces is loaded
import { runServer } from '../shared/run-server';
import { loadGatewayConfig } from './config';
import { createGatewayServer } from './server';

void runServer('gateway', async () => {
  const config = loadGatewayConfig();
  return { app: await createGatewayServer(config), http: config.http };
});
