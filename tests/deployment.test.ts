import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subgraphs } from '../schema/subgraphs';
import { CONFIG_LOADERS, loadRecordingReads } from './fixtures/config-reads';
import {
  entryFile,
  imageMemorySettings,
  MEMORY_SETTINGS,
  runsCompiled,
  interpolations,
  parseCompose,
  parseDockerfile,
  parseEnvFile,
  readRootFile,
  ROOT,
  scriptEntryFiles,
  scriptVariables,
  type ComposeService,
} from './fixtures/deployment-files';
import { runtimeImports } from './fixtures/runtime-imports';
import { parse as parseYaml } from 'yaml';

const packageJson = JSON.parse(readRootFile('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
const composeText = readRootFile('docker-compose.yml');
const envExample = parseEnvFile(readRootFile('.env.example'));
/** A filled-in `.env`: a fresh random value for every variable the example lists. */
const dotEnv = Object.fromEntries([...envExample.keys()].map((name) => [name, randomBytes(32).toString('hex')]));
const compose = parseCompose(composeText, dotEnv);
const services = Object.entries(compose.services);
/** Services running a process of ours: built from this repository's Dockerfile. */
const appServices = services.filter(([, service]) => service.build !== undefined);
const longRunning = services.filter(([, service]) => service.restart !== 'no');

/** Prints the largest size, in MB, V8's young generation reaches while 100,000 objects stay alive among millions allocated. */
const YOUNG_GENERATION_PROBE = `
const v8 = require('node:v8');
const ring = new Array(100000);
let largest = 0;
for (let i = 0; i < 4e6; i++) {
  ring[i % ring.length] = { i, list: [i] };
  if (i % 50000 === 0) largest = Math.max(largest, v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size);
}
process.stdout.write(String(largest / 2 ** 20));
`;

function environment(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, String(value ?? '')]));
}

function entryOf(service: ComposeService): string {
  const file = entryFile(service.command ?? []);
  if (!file) throw new Error(`command ${JSON.stringify(service.command)} is not "node dist/<file>.js"`);
  return file;
}

const loaded = new Map(appServices.map(([name, service]) => [name, loadRecordingReads(entryOf(service), environment(service))]));

function servicesRunning(entry: string): [string, ComposeService][] {
  return appServices.filter(([, service]) => entryOf(service) === entry);
}

/** The service a URL points at, checked to be listening there. */
function serviceAt(url: string): { name: string; entry: string } {
  const { hostname, port, pathname } = new URL(url);
  const service = compose.services[hostname];
  expect({ url, known: service !== undefined }).toEqual({ url, known: true });
  expect({ url, port: Number(port), path: pathname }).toEqual({ url, port: loaded.get(hostname)!.config.http.port, path: '/graphql' });
  return { name: hostname, entry: entryOf(service!) };
}

describe('docker-compose.yml', () => {
  test('runs every process of package.json, with the command its npm script runs', () => {
    const scripts = new Set(scriptEntryFiles(packageJson.scripts).values());
    expect(new Set(Object.keys(CONFIG_LOADERS))).toEqual(scripts);
    expect(new Set(appServices.map(([, service]) => entryOf(service)))).toEqual(scripts);
    for (const [, service] of appServices) expect(existsSync(join(ROOT, entryOf(service)))).toBe(true);
  });

  test('every process runs the compiled build, and `npm run build` compiles its entry', () => {
    const built = (JSON.parse(readRootFile('tsconfig.build.json')) as { include: string[] }).include;
    for (const [name, service] of appServices) {
      expect({ name, compiled: runsCompiled(service.command ?? []) }).toEqual({ name, compiled: true });
      expect({ name, built: built.some((dir) => entryOf(service).startsWith(`${dir}/`)) }).toEqual({ name, built: true });
    }
  });

  test.each(appServices.map(([name]) => name))('%s: every variable it sets is one its config reads, and the config accepts them', (name) => {
    const { read, problem } = loaded.get(name)!;
    expect(problem).toBeUndefined();
    const unread = Object.keys(environment(compose.services[name]!)).filter((setting) => !read.has(setting));
    expect(unread).toEqual([]);
  });

  test('the subgraphs listen beyond localhost and every gateway reaches every subgraph by its compose name', () => {
    for (const [name, service] of appServices) {
      if (entryOf(service).startsWith('subgraphs/')) expect({ name, host: loaded.get(name)!.config?.http.host }).toEqual({ name, host: '0.0.0.0' });
    }
    for (const [name] of servicesRunning('gateway/index.ts')) {
      const gateway = loaded.get(name)!.config;
      for (const subgraph of subgraphs) {
        const urls: string[] = gateway.subgraphUrls[subgraph.name] ?? [subgraph.routingUrl];
        for (const url of urls) expect(serviceAt(url).entry).toBe(`subgraphs/${subgraph.name}/index.ts`);
      }
    }
  });

  test('every gateway and the order service list every product replica', () => {
    const replicas = servicesRunning('subgraphs/product/index.ts').map(([name]) => name).sort();
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    const lists: string[][] = [
      ...servicesRunning('gateway/index.ts').map(([name]) => loaded.get(name)!.config.subgraphUrls.product),
      ...servicesRunning('subgraphs/order/index.ts').map(([name]) => loaded.get(name)!.config.productUrls),
    ];
    for (const urls of lists) expect(urls.map((url) => serviceAt(url).name).sort()).toEqual(replicas);
    expect(new Set(replicas.map((name) => loaded.get(name)!.config.http.port)).size).toBe(replicas.length);
  });

  test('only gateways, and Zipkin, Prometheus and Grafana on this host only, publish ports, each the port it listens on; the gateway is on 19091', () => {
    const hostOnly: Record<string, string> = { zipkin: '127.0.0.1:9411:9411', prometheus: '127.0.0.1:9090:9090', grafana: '127.0.0.1:3000:3000' };
    for (const [name, service] of services) {
      for (const mapping of service.ports ?? []) {
        if (name in hostOnly) {
          expect(mapping).toBe(hostOnly[name]);
          continue;
        }
        expect({ name, entry: entryOf(service) }).toEqual({ name, entry: 'gateway/index.ts' });
        expect({ name, listening: Number(mapping.split(':').at(-1)) }).toEqual({ name, listening: loaded.get(name)!.config.http.port });
      }
    }
    expect(compose.services.gateway?.ports).toEqual(['0.0.0.0:19091:19091']);
    expect(compose.services.zipkin?.ports).toHaveLength(1);
  });

  test('the database, Redis and Zipkin are the compose services of those names', () => {
    for (const [name, { config }] of loaded) {
      const database = entryOf(compose.services[name]!) === 'shared/database/migrate.ts' ? config : config.database;
      if (database) expect({ name, host: new URL(database.url).host }).toEqual({ name, host: 'mysql:3306' });
      if (config.cache) expect({ name, redis: config.cache.redisUrl }).toEqual({ name, redis: 'redis://redis:6379' });
      const zipkin = environment(compose.services[name]!).ZIPKIN_URL;
      if (zipkin) expect(zipkin).toBe('http://zipkin:9411/api/v2/spans');
    }
    expect(compose.services.mysql?.image).toMatch(/^mysql:8/);
    expect(compose.services.zipkin?.image).toMatch(/^openzipkin\/zipkin:/);
    expect(compose.volumes).toHaveProperty('mysql-data');
  });

  test("auth keeps the signing key it generates in its own volume; the gateway fetches auth's JWKS from the auth service", () => {
    const [[authName, auth]] = servicesRunning('subgraphs/auth/index.ts') as [[string, ComposeService]];
    const authConfig = loaded.get(authName)!.config;
    expect(authConfig.tokens.mode).toBe('jwks');
    // The embedded key lives in DATA_DIR (./data under the image's /app), which must outlast the container.
    expect(auth.volumes).toEqual(['auth-keys:/app/data']);
    expect(compose.volumes).toHaveProperty('auth-keys');
    for (const [name] of servicesRunning('gateway/index.ts')) {
      const [source] = loaded.get(name)!.config.jwt.sources;
      expect(source).toMatchObject({ auth: true, issuer: authConfig.tokens.signing.issuer });
      for (const url of source.urls) {
        const { protocol, host, pathname } = new URL(url);
        expect(pathname).toBe('/.well-known/jwks.json');
        expect(serviceAt(`${protocol}//${host}/graphql`).name).toBe(authName);
      }
    }
  });

  test('migrations run once, before any service that uses the database starts', () => {
    const migrate = compose.services.migrate!;
    expect(entryOf(migrate)).toBe(scriptEntryFiles(packageJson.scripts).get('migrate'));
    expect(migrate.restart).toBe('no');
    for (const [name, { config }] of loaded) {
      if (name === 'migrate' || !config.database) continue;
      expect({ name, migrate: compose.services[name]!.depends_on?.migrate }).toEqual({ name, migrate: { condition: 'service_completed_successfully' } });
    }
  });

  test('every long-running service has a health check, and every dependency waits for health or completion', () => {
    for (const [name, service] of longRunning) {
      const { test: check = [], disable = false } = service.healthcheck ?? {};
      expect({ name, kind: check[0], command: check.length > 1, disable }).toEqual({ name, kind: expect.stringMatching(/^CMD(-SHELL)?$/), command: true, disable: false });
    }
    for (const [name] of appServices.filter(([, service]) => service.restart !== 'no')) {
      const check = compose.services[name]!.healthcheck!.test!.join(' ');
      expect(check).toContain("'/ready'");
      expect(check).toContain('process.env.PORT');
      expect(environment(compose.services[name]!).PORT).toMatch(/^\d+$/);
    }
    for (const [name, service] of services) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        const dependency = compose.services[target];
        expect({ name, target, exists: dependency !== undefined }).toEqual({ name, target, exists: true });
        const expected = dependency!.restart === 'no' ? 'service_completed_successfully' : 'service_healthy';
        expect({ name, target, condition }).toEqual({ name, target, condition: expected });
      }
    }
  });

  test('no secret is committed: secrets come from .env, which git and the image both ignore', () => {
    const used = interpolations(composeText);
    expect(used.filter(({ operator }) => operator !== ':?')).toEqual([]);
    expect(new Set(used.map(({ name }) => name))).toEqual(new Set(envExample.keys()));
    expect([...envExample.values()].filter((value) => value !== '')).toEqual([]);
    const raw = parseCompose(composeText, Object.fromEntries([...envExample.keys()].map((name) => [name, `<${name}>`])));
    for (const [name, service] of Object.entries(raw.services)) {
      for (const [setting, value] of Object.entries(service.environment ?? {})) {
        if (/SECRET|PASSWORD|TOKEN|KEY/.test(setting)) expect({ name, setting, value }).toEqual({ name, setting, value: expect.stringMatching(/^<\w+>$/) });
        if (setting === 'DATABASE_URL') expect(String(value)).toMatch(/^mysql:\/\/\w+:<MYSQL_PASSWORD>@/);
      }
    }
    expect(spawnSync('git', ['check-ignore', '--quiet', '.env'], { cwd: ROOT }).status).toBe(0);
    expect(readRootFile('.dockerignore').split('\n')).toEqual(expect.arrayContaining(['.env', '.git', 'data/', 'node_modules/']));
  });

  test('dclint finds the file valid against the Compose schema and its checks', () => {
    const lint = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'dclint', 'bin', 'dclint.cjs'), 'docker-compose.yml', '--color', 'false'], { cwd: ROOT, encoding: 'utf8' });
    expect({ status: lint.status, output: lint.stdout + lint.stderr }).toEqual({ status: 0, output: expect.any(String) });
  });

  // The docker CLI here has no compose plugin and no engine; where `docker compose` exists, it validates offline.
  const composeCli = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  const composeReason = composeCli.status === 0 ? '' : ' (skipped: `docker compose` is not installed here)';
  (composeCli.status === 0 ? test : test.skip)(`docker compose config accepts the file${composeReason}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
    try {
      const envFile = join(dir, '.env');
      writeFileSync(envFile, Object.entries(dotEnv).map(([name, value]) => `${name}=${value}`).join('\n'));
      const config = spawnSync('docker', ['compose', '--env-file', envFile, 'config', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
      expect({ status: config.status, stderr: config.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the observability profile (Prometheus and Grafana)', () => {
  const observability = ['prometheus', 'grafana'];
  const prometheusConfig = parseYaml(readRootFile('deploy/observability/prometheus.yml')) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const targets = prometheusConfig.scrape_configs.flatMap(({ job_name: job, static_configs: configs }) => configs.flatMap(({ targets: list }) => list.map((target) => ({ job, target }))));
  const hostPath = (volume: string) => volume.split(':')[0]!;

  test('Prometheus and Grafana run only with --profile observability; the platform runs without them', () => {
    for (const name of observability) expect({ name, profiles: compose.services[name]?.profiles }).toEqual({ name, profiles: ['observability'] });
    for (const [name, service] of services) if (!observability.includes(name)) expect({ name, profiles: service.profiles }).toEqual({ name, profiles: undefined });
    expect(compose.services.grafana!.depends_on).toEqual({ prometheus: { condition: 'service_healthy' } });
  });

  test('Prometheus scrapes every long-running process of the platform on the METRICS_PORT its config reads, which no service publishes', () => {
    const processes = appServices.filter(([, service]) => service.restart !== 'no');
    const expected = processes.map(([name]) => {
      const { config } = loaded.get(name)!;
      expect({ name, metricsPort: config.http.metricsPort }).toEqual({ name, metricsPort: expect.any(Number) });
      expect({ name, host: config.http.host }).toEqual({ name, host: '0.0.0.0' });
      return `${name}:${config.http.metricsPort}`;
    });
    expect(targets.map(({ target }) => target).sort()).toEqual(expected.sort());
    // One job a process kind (the dashboard groups by it): the product instances share theirs.
    for (const { job, target } of targets) expect({ target, job }).toEqual({ target, job: entryOf(compose.services[target.split(':')[0]!]!).split('/').at(-2) });
    for (const [name, service] of processes) {
      const published = (service.ports ?? []).map((mapping) => Number(mapping.split(':').at(-1)));
      expect({ name, published: published.includes(loaded.get(name)!.config.http.metricsPort) }).toEqual({ name, published: false });
    }
  });

  test('every file they mount exists: the Prometheus config, Grafana\'s provisioning, and the dashboard where the provisioning looks', () => {
    for (const name of observability) {
      for (const volume of compose.services[name]!.volumes ?? []) {
        if (hostPath(volume).startsWith('./')) expect({ volume, exists: existsSync(join(ROOT, hostPath(volume))) }).toEqual({ volume, exists: true });
      }
    }
    const grafana = compose.services.grafana!;
    const mountOf = (inside: string) => grafana.volumes!.find((volume) => volume.split(':')[1] === inside);
    const provider = parseYaml(readRootFile('deploy/observability/grafana/provisioning/dashboards/federation-platform.yml')) as { providers: { options: { path: string } }[] };
    const dashboards = mountOf(provider.providers[0]!.options.path);
    expect(dashboards).toBe(`./deploy/observability/grafana/dashboards:${provider.providers[0]!.options.path}:ro`);
    const home = String(environment(grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
    expect(existsSync(join(ROOT, hostPath(dashboards!), home.slice(provider.providers[0]!.options.path.length)))).toBe(true);
    expect(mountOf('/etc/grafana/provisioning')).toBe('./deploy/observability/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(compose.services.prometheus!.volumes).toContain('./deploy/observability/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
  });
});

describe('Dockerfile', () => {
  const { stages } = parseDockerfile(readRootFile('Dockerfile'));
  const runtime = stages.at(-1)!;
  const runtimeArgs = (keyword: string) => runtime.instructions.filter((instruction) => instruction.keyword === keyword).map(({ args }) => args);

  test('builds in one stage and runs Node 24 in another, as a non-root user in production mode', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.from).toBe('node:24-bookworm-slim');
    const user = runtimeArgs('USER').at(-1);
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
    expect(runtimeArgs('ENV')).toContain('NODE_ENV=production');
  });

  test('the runtime stage gets its modules from the build stage, pruned to production dependencies', () => {
    const build = stages.find((stage) => stage.name !== undefined && runtimeArgs('COPY').some((args) => args.startsWith(`--from=${stage.name} `)));
    expect(build).toBeDefined();
    const commands = build!.instructions.filter(({ keyword }) => keyword === 'RUN').map(({ args }) => args).join(' && ');
    expect(commands).toMatch(/npm ci\b/);
    expect(commands).toMatch(/npm (prune|ci) [^&]*--omit=dev/);
    expect(runtimeArgs('RUN').join(' ')).not.toMatch(/npm (ci|install)/);
  });

  test('its default command starts a process directly (not through npm), from the build it compiles', () => {
    const command = JSON.parse(runtimeArgs('CMD').at(-1)!) as string[];
    const entry = entryFile(command);
    expect(entry).toBeDefined();
    expect(Object.keys(CONFIG_LOADERS)).toContain(entry);
    expect(runsCompiled(command)).toBe(true);
    const build = stages.find((stage) => stage.name !== undefined && runtimeArgs('COPY').some((args) => args.startsWith(`--from=${stage.name} `)))!;
    expect(build.instructions.some(({ keyword, args }) => keyword === 'RUN' && /npm run build\b/.test(args))).toBe(true);
    // Nothing compiles TypeScript at run time.
    expect(packageJson.dependencies).not.toHaveProperty('tsx');
    expect(packageJson.dependencies).not.toHaveProperty('typescript');
  });

  test("every process runs with the image's memory settings, npm's start scripts set the same, and its Node options hold V8's young generation at the size they name", () => {
    const settings = imageMemorySettings();
    const semiSpaceMb = Number(/--max-semi-space-size=(\d+)/.exec(settings.NODE_OPTIONS)?.[1]);
    expect(semiSpaceMb).toBeGreaterThan(0);
    expect(Number(settings.MALLOC_ARENA_MAX)).toBeGreaterThan(0);
    const starts = Object.entries(packageJson.scripts).filter(([name]) => name.startsWith('start:'));
    expect(starts.length).toBe(scriptEntryFiles(packageJson.scripts).size - 1); // every process script but `migrate`
    for (const [name, script] of starts) {
      const variables = scriptVariables(script);
      for (const setting of MEMORY_SETTINGS) expect({ name, setting, value: variables.get(setting) }).toEqual({ name, setting, value: settings[setting] });
    }
    // Compose's services inherit the image's; the manifests set only what the config reads (tests/kubernetes.test.ts).
    for (const [name, service] of appServices) {
      for (const setting of MEMORY_SETTINGS) expect({ name, setting, value: environment(service)[setting] }).toEqual({ name, setting, value: undefined });
    }
    // An allocation that keeps 100,000 objects alive grows Node 24's young generation to 128 MB by
    // default; under the options it stops at their two semi-spaces.
    const probe = spawnSync(process.execPath, ['-e', YOUNG_GENERATION_PROBE], { env: { ...process.env, NODE_OPTIONS: settings.NODE_OPTIONS }, encoding: 'utf8' });
    expect({ status: probe.status, stderr: probe.stderr }).toEqual({ status: 0, stderr: '' });
    expect(Number(probe.stdout)).toBe(2 * semiSpaceMb);
  });

  test('every package a process imports is a production dependency, and no file it loads is left out of the image', () => {
    const ignored = readRootFile('.dockerignore').split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.replace(/\/$/, ''));
    const excluded = (path: string) => ignored.some((pattern) => path === pattern || path.startsWith(`${pattern}/`));
    for (const entry of Object.keys(CONFIG_LOADERS)) {
      const { files, packages } = runtimeImports(ROOT, entry);
      expect({ entry, devOnly: packages.filter((name) => !(name in packageJson.dependencies)) }).toEqual({ entry, devOnly: [] });
      expect({ entry, excluded: [...files, 'schema/supergraph.graphql', 'package.json', 'client/generated/persisted-documents.json'].filter(excluded) }).toEqual({ entry, excluded: [] });
    }
  });
});
