import './tracing'; // first: tracing must start before anything it traces is loaded
import { runServer } from '../../shared/run-server';
import { loadOrderConfig } from './config';
import { createOrderServer } from './server';

void runServer('order', async () => {
  const config = loadOrderConfig();
  return { app: await createOrderServer(config), http: config.http };
});
