// Which part this process plays is settled first, from GATEWAY_WORKERS alone, loading nothing that
// tracing patches: the gateway (serve.ts) must start tracing before anything it traces loads, and
// a cluster primary serves nothing, so of the gateway it loads only the config. Hence require()
// below rather than imports, which would load every branch.
import { EnvReader } from '../shared/config';
import { readWorkerCount } from '../shared/worker-count';

// A bad value reads as 1 here: this process then serves alone, and its config refuses the value
// along with every other problem.
if (readWorkerCount(new EnvReader(process.env), 'GATEWAY_WORKERS') === 1) {
  require('./serve');
} else {
  const { runCluster } = require('../shared/cluster') as typeof import('../shared/cluster');
  runCluster({
    name: 'gateway',
    loadWorkerCount: () => {
      // Every setting a worker reads, tracing's included: a bad one fails here, once.
      (require('../shared/tracing/config') as typeof import('../shared/tracing/config')).loadTracingSettings();
      return (require('./config') as typeof import('./config')).loadGatewayConfig().workers;
    },
    metrics: () => (require('./config') as typeof import('./config')).loadGatewayConfig().http,
    serve: () => require('./serve'),
    // Each worker reloads its supergraph on SIGHUP (gateway/supergraph/hot-reload.ts).
    forwardSignals: ['SIGHUP'],
  });
}
