import './tracing'; // first: tracing must start before anything it traces is loaded
import { runServer } from '../../shared/run-server';
import { loadProductConfig } from './config';
import { createProductServer } from './server';

void runServer('product', async () => {
  const config = loadProductConfig();
  return { app: await createProductServer(config), http: config.http };
});
