import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SUPERGRAPH_FILE, subgraphs } from '../schema/subgraphs';
import { generateSigningKeyPem } from '../shared/signing-keys';
import { CONFIG_LOADERS, loadRecordingReads } from './fixtures/config-reads';
import { entryFile, parseCompose, parseEnvFile, readRootFile, ROOT, runsCompiled, scriptEntryFiles } from './fixtures/deployment-files';
import { kubectlKustomize, renderKustomization, splitImage, type K8sObject } from './fixtures/kustomize';

const K8S_DIR = join(ROOT, 'deploy', 'k8s');
const kubectl = kubectlKustomize(K8S_DIR);
const objects: K8sObject[] = kubectl ?? renderKustomization(K8S_DIR);

/** The one Secret every secret comes from; the manifests reference it and never hold it. */
const SECRET_NAME = 'federation-platform';
/** Values for the Secret's keys, as an operator would create it (docs/operations.md#kubernetes). */
const SECRET_VALUES: Record<string, string> = {
  SUBGRAPH_SECRET: randomBytes(32).toString('hex'),
  DATABASE_URL: 'mysql://federation:password@mysql.example:3306/federation',
  REDIS_URL: 'redis://redis.example:6379',
};
/** Keys of the Secret that pods mount as files (a `secret` volume) instead of reading as variables. */
const SECRET_FILES: Record<string, string> = { 'jwt-signing-key.pem': generateSigningKeyPem('EdDSA') };
/** Settings that hold a secret; `…_FILES` ones hold paths of mounted secret files instead. */
const SECRET_SETTING = /^(?!.*_FILES$).*(SECRET|PASSWORD|TOKEN|KEY)|^DATABASE_URL$|^REDIS_URL$/;
/** Where the test writes the Secret's files, for the settings that name them by their mounted path. */
const secretFilesDir = mkdtempSync(join(tmpdir(), 'k8s-secret-files-'));
afterAll(() => rmSync(secretFilesDir, { recursive: true, force: true }));

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

interface Workload {
  object: K8sObject;
  pod: any;
  container: any;
  entry: string;
  env: Record<string, string>;
  loaded: ReturnType<typeof loadRecordingReads>;
}

const packageJson = JSON.parse(readRootFile('package.json')) as { scripts: Record<string, string> };
/** The image docker-compose.yml builds from the Dockerfile. */
const composeImage = parseCompose(readRootFile('docker-compose.yml'), Object.fromEntries([...parseEnvFile(readRootFile('.env.example')).keys()].map((name) => [name, 'x']))).services.gateway!.image!;

/** The Secret key a path inside a mounted `secret` volume of the one Secret holds, if it is one. */
function mountedSecretKey(pod: any, container: any, path: string): string | undefined {
  for (const mount of container.volumeMounts ?? []) {
    if (!path.startsWith(`${mount.mountPath}/`)) continue;
    const secret = pod.volumes?.find(({ name }: { name: string }) => name === mount.name)?.secret;
    if (secret?.secretName !== SECRET_NAME) continue;
    const file = path.slice(mount.mountPath.length + 1);
    return secret.items ? secret.items.find((item: { path: string }) => item.path === file)?.key : file;
  }
  return undefined;
}

/** The environment as the pod sees it; a path of a mounted secret file points at a local copy of that file. */
function environment(pod: any, container: { env?: EnvVar[] }): Record<string, string> {
  const local = (value: string) =>
    value
      .split(',')
      .map((path) => {
        const key = mountedSecretKey(pod, container, path);
        if (key === undefined || SECRET_FILES[key] === undefined) return path;
        writeFileSync(join(secretFilesDir, key), SECRET_FILES[key]!, { mode: 0o600 });
        return join(secretFilesDir, key);
      })
      .join(',');
  return Object.fromEntries(
    (container.env ?? []).map(({ name, value, valueFrom }) => [name, valueFrom?.secretKeyRef ? SECRET_VALUES[valueFrom.secretKeyRef.key]! : local(String(value ?? ''))]),
  );
}

/** Every Deployment and Job, with its one container and what its config module makes of its environment. */
const workloads: Workload[] = objects
  .filter(({ kind }) => kind === 'Deployment' || kind === 'Job')
  .map((object) => {
    const pod = object.spec.template.spec;
    expect({ name: object.metadata.name, containers: pod.containers.length }).toEqual({ name: object.metadata.name, containers: 1 });
    const container = pod.containers[0];
    const entry = entryFile(container.command ?? []);
    if (!entry) throw new Error(`${object.metadata.name}: command ${JSON.stringify(container.command)} is not "node dist/<file>.js"`);
    const env = environment(pod, container);
    return { object, pod, container, entry, env, loaded: loadRecordingReads(entry, env) };
  });
const longRunning = workloads.filter(({ object }) => object.kind === 'Deployment');
const named = (kind: string, name: string) => objects.find((object) => object.kind === kind && object.metadata.name === name);

/** The Service a URL names, and the workload behind it, checked to listen on the URL's port. */
function serviceAt(url: string): Workload {
  const { hostname, port, pathname } = new URL(url);
  const service = named('Service', hostname);
  expect({ url, service: service !== undefined, path: pathname }).toEqual({ url, service: true, path: '/graphql' });
  const servicePort = service!.spec.ports.find((candidate: { port: number }) => candidate.port === Number(port));
  expect({ url, servicePort: servicePort !== undefined }).toEqual({ url, servicePort: true });
  const selected = longRunning.filter(({ object }) => Object.entries(service!.spec.selector).every(([label, value]) => object.spec.template.metadata.labels[label] === value));
  expect({ url, workloads: selected.length }).toEqual({ url, workloads: 1 });
  const [workload] = selected;
  const target = workload!.container.ports.find((candidate: { name: string; containerPort: number }) => candidate.name === servicePort.targetPort || candidate.containerPort === servicePort.targetPort);
  expect({ url, listening: target?.containerPort }).toEqual({ url, listening: workload!.loaded.config.http.port });
  return workload!;
}

describe('deploy/k8s', () => {
  const renderer = kubectl ? 'kubectl kustomize and the test renderer agree' : 'renders (skipped comparison: kubectl is not installed here)';
  (kubectl ? test : test.skip)(renderer, () => {
    const byId = (list: K8sObject[]) => Object.fromEntries(list.map((object) => [`${object.kind}/${object.metadata.name}`, object]));
    expect(byId(renderKustomization(K8S_DIR))).toEqual(byId(kubectl!));
  });

  test('runs every process of package.json, with the compiled command its npm script runs, from the image the Dockerfile builds', () => {
    const scripts = new Set(scriptEntryFiles(packageJson.scripts).values());
    expect(new Set(workloads.map(({ entry }) => entry))).toEqual(scripts);
    expect(new Set(Object.keys(CONFIG_LOADERS))).toEqual(scripts);
    const [repository] = splitImage(composeImage);
    for (const { object, container } of workloads) {
      expect({ name: object.metadata.name, compiled: runsCompiled(container.command) }).toEqual({ name: object.metadata.name, compiled: true });
      expect({ name: object.metadata.name, image: container.image }).toEqual({ name: object.metadata.name, image: composeImage });
      expect(splitImage(container.image)[0]).toBe(repository);
    }
  });

  test.each(workloads.map(({ object }) => [object.kind, object.metadata.name]))('%s %s: every variable it sets is one its config reads, and the config accepts them', (kind, name) => {
    const { loaded, env } = workloads.find(({ object }) => object.kind === kind && object.metadata.name === name)!;
    expect(loaded.problem).toBeUndefined();
    expect(Object.keys(env).filter((setting) => !loaded.read.has(setting))).toEqual([]);
  });

  test('every secret comes from a secretKeyRef to the one Secret, which the manifests do not contain', () => {
    expect(objects.filter(({ kind }) => kind === 'Secret')).toEqual([]);
    for (const { object, container } of workloads) {
      for (const variable of container.env as EnvVar[]) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (SECRET_SETTING.test(variable.name)) {
          expect({ name: object.metadata.name, setting: variable.name, value: variable.value, ref }).toEqual({ name: object.metadata.name, setting: variable.name, value: undefined, ref: { name: SECRET_NAME, key: variable.name } });
        }
        if (ref) expect(Object.keys(SECRET_VALUES)).toContain(ref.key);
      }
    }
  });

  test('each process listens on its container port beyond localhost, with liveness on /health and readiness on /ready', () => {
    for (const { object, container, loaded } of longRunning) {
      const name = object.metadata.name;
      expect({ name, ports: container.ports }).toEqual({
        name,
        ports: [
          { name: 'http', containerPort: loaded.config.http.port },
          { name: 'metrics', containerPort: loaded.config.http.metricsPort },
        ],
      });
      expect({ name, host: loaded.config.http.host }).toEqual({ name, host: '0.0.0.0' });
      expect({ name, liveness: container.livenessProbe.httpGet }).toEqual({ name, liveness: { path: '/health', port: 'http' } });
      expect({ name, readiness: container.readinessProbe.httpGet }).toEqual({ name, readiness: { path: '/ready', port: 'http' } });
    }
  });

  test("auth signs with a key file of the one Secret, mounted read-only; the gateway fetches auth's JWKS through its Service", () => {
    const auth = longRunning.find(({ entry }) => entry === 'subgraphs/auth/index.ts')!;
    expect(auth.loaded.config.tokens.mode).toBe('jwks');
    const files = (auth.container.env as EnvVar[]).find(({ name }) => name === 'JWT_SIGNING_KEY_FILES')!.value!.split(',');
    for (const path of files) expect(mountedSecretKey(auth.pod, auth.container, path)).toBe('jwt-signing-key.pem');
    expect(auth.container.volumeMounts.map(({ readOnly }: { readOnly?: boolean }) => readOnly)).toEqual([true]);
    const gateway = longRunning.find(({ entry }) => entry === 'gateway/index.ts')!;
    const [source] = gateway.loaded.config.jwt.sources;
    expect(source).toMatchObject({ auth: true, issuer: auth.loaded.config.tokens.signing.issuer });
    for (const url of source.urls) {
      const { protocol, host, pathname } = new URL(url);
      expect(pathname).toBe('/.well-known/jwks.json');
      expect(serviceAt(`${protocol}//${host}/graphql`)).toBe(auth);
    }
  });

  test('each Deployment has a Service on its port; the gateway and the order service reach every subgraph through one', () => {
    for (const workload of longRunning) {
      const service = named('Service', workload.object.metadata.name);
      expect(service?.spec.ports).toEqual([{ name: 'http', port: workload.loaded.config.http.port, targetPort: 'http' }]);
      expect(serviceAt(`http://${workload.object.metadata.name}:${workload.loaded.config.http.port}/graphql`)).toBe(workload);
    }
    const gateway = longRunning.find(({ entry }) => entry === 'gateway/index.ts')!;
    for (const subgraph of subgraphs) {
      for (const url of gateway.loaded.config.subgraphUrls[subgraph.name] as string[]) expect(serviceAt(url).entry).toBe(`subgraphs/${subgraph.name}/index.ts`);
    }
    const order = longRunning.find(({ entry }) => entry === 'subgraphs/order/index.ts')!;
    for (const url of order.loaded.config.productUrls as string[]) expect(serviceAt(url).entry).toBe('subgraphs/product/index.ts');
  });

  test("every pod's metrics port is announced to Prometheus' pod discovery by annotations, and no Service exposes it", () => {
    for (const { object, loaded } of longRunning) {
      const name = object.metadata.name;
      const { metricsPort } = loaded.config.http;
      expect({ name, metricsPort }).toEqual({ name, metricsPort: expect.any(Number) });
      expect({ name, annotations: object.spec.template.metadata.annotations }).toEqual({
        name,
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort), 'prometheus.io/path': '/metrics' },
      });
      for (const service of objects.filter(({ kind }) => kind === 'Service')) {
        expect(service.spec.ports.map(({ targetPort }: { targetPort: unknown }) => targetPort)).not.toContain('metrics');
        expect(service.spec.ports.map(({ port }: { port: number }) => port)).not.toContain(metricsPort);
      }
    }
  });

  test('product runs two replicas behind one Service', () => {
    const product = longRunning.find(({ entry }) => entry === 'subgraphs/product/index.ts')!;
    expect(product.object.spec.replicas).toBe(2);
    const services = objects.filter(({ kind, spec }) => kind === 'Service' && spec.selector['app.kubernetes.io/name'] === product.object.spec.template.metadata.labels['app.kubernetes.io/name']);
    expect(services.map(({ metadata }) => metadata.name)).toEqual(['product']);
  });

  test('the gateway reads the supergraph from a mounted ConfigMap folder (no subPath, no name hash), holding schema/supergraph.graphql', () => {
    const gateway = longRunning.find(({ entry }) => entry === 'gateway/index.ts')!;
    const path: string = gateway.loaded.config.supergraph.path;
    expect(gateway.loaded.config.supergraph.watch).toBe(true);
    const mounts = (gateway.container.volumeMounts ?? []).filter(({ mountPath }: { mountPath: string }) => mountPath === dirname(path));
    expect(mounts).toEqual([{ name: expect.any(String), mountPath: dirname(path), readOnly: true }]);
    const volume = gateway.pod.volumes.find(({ name }: { name: string }) => name === mounts[0].name);
    const configMap = named('ConfigMap', volume.configMap.name);
    expect(configMap?.data?.[basename(path)]).toBe(readFileSync(SUPERGRAPH_FILE, 'utf8'));
  });

  test('the gateway scales with a HorizontalPodAutoscaler on CPU, which alone sets its replicas', () => {
    const hpa = objects.find(({ kind }) => kind === 'HorizontalPodAutoscaler');
    const gateway = longRunning.find(({ entry }) => entry === 'gateway/index.ts')!;
    expect(hpa?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: gateway.object.metadata.name });
    expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa?.spec.maxReplicas).toBeGreaterThan(hpa?.spec.minReplicas);
    expect(hpa?.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } }]);
    expect(gateway.object.spec.replicas).toBeUndefined();
  });

  test('every container states CPU and memory requests and a memory limit', () => {
    for (const { object, container } of workloads) {
      const { requests = {}, limits = {} } = container.resources ?? {};
      expect({ name: object.metadata.name, cpu: requests.cpu, memory: requests.memory, limit: limits.memory }).toEqual({ name: object.metadata.name, cpu: expect.any(String), memory: expect.any(String), limit: expect.any(String) });
    }
  });

  test('every pod runs as a non-root user on a read-only root filesystem, and its process writes nothing there', () => {
    for (const { object, pod, container } of workloads) {
      const name = object.metadata.name;
      expect({ name, nonRoot: pod.securityContext.runAsNonRoot, root: pod.securityContext.runAsUser === 0 }).toEqual({ name, nonRoot: true, root: false });
      expect({ name, context: container.securityContext }).toEqual({ name, context: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } });
    }
    // With every secret given, no config generates one into DATA_DIR (the only place a process writes).
    const dataDir = mkdtempSync(join(tmpdir(), 'k8s-data-'));
    try {
      for (const { entry, env } of workloads) expect(loadRecordingReads(entry, { ...env, DATA_DIR: dataDir }).problem).toBeUndefined();
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a stopping pod outlives its drain: the grace period covers the preStop pause and the 10 s drain', () => {
    for (const { object, pod, container } of longRunning) {
      const pause = Number(container.lifecycle.preStop.exec.command.at(-1));
      expect({ name: object.metadata.name, enough: pod.terminationGracePeriodSeconds > pause + 10 }).toEqual({ name: object.metadata.name, enough: true });
    }
  });

  test('migrations run once, as a Job that retries on failure', () => {
    const jobs = workloads.filter(({ object }) => object.kind === 'Job');
    expect(jobs.map(({ entry }) => entry)).toEqual([scriptEntryFiles(packageJson.scripts).get('migrate')]);
    expect(jobs[0]!.pod.restartPolicy).toBe('OnFailure');
    expect(jobs[0]!.object.spec.backoffLimit).toBeGreaterThan(0);
  });
});
