import './tracing'; // first: tracing must start before anything it traces is loaded
import { runServer } from '../../shared/run-server';
import { loadAuthConfig } from './config';
import { createAuthServer } from './server';

void runServer('auth', async () => {
  const config = loadAuthConfig();
  return { app: await createAuthServer(config), http: config.http };
});
