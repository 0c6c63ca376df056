import { startTracing } from '../../shared/tracing';

// Imported first by index.ts: the SDK has to be running before the libraries it traces load.
startTracing('auth');
