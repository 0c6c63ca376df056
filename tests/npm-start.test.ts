import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './fixtures/database';
import { HttpClient } from './fixtures/http';
import { isListening as portOpen, waitFor } from './fixtures/net';

/** `npm start` as a user runs it: all five processes on their documented ports, all gone after Ctrl-C. */
const SERVICE_PORTS = [19091, 19092, 19093, 19094, 19095];
/** Each process's METRICS_PORT, by default its service port plus 100 (the second product instance's set by npm start). */
const METRICS_PORTS = SERVICE_PORTS.map((port) => port + 100);
const PORTS = [...SERVICE_PORTS, ...METRICS_PORTS];
const START_TIMEOUT_MS = 90_000;

let db: TestDatabase;
let dataDir: string;
let child: ChildProcess;
let output = '';

beforeAll(async () => {
  const busy = (await Promise.all(PORTS.map(portOpen))).some(Boolean);
  if (busy) throw new Error(`ports ${PORTS.join(', ')} must be free for this test (is a stack already running?)`);
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  child = spawn('npm', ['start'], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
    detached: true, // its own process group, so the test can press Ctrl-C on all of it
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await waitFor(async () => (await Promise.all(PORTS.map(portOpen))).every(Boolean), 'npm start to listen on every port', START_TIMEOUT_MS).catch((error: Error) => {
    throw new Error(`${error.message}:\n${output}`);
  });
}, START_TIMEOUT_MS + 10_000);

/** Kills what is left of npm start's process group; a group already gone (ESRCH) is what is wanted. */
function killGroup(): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

afterAll(async () => {
  // npm stopped by Ctrl-C has a null exitCode (it has a signalCode): the rest of its group may be gone too, or not yet.
  if (child.exitCode === null) killGroup();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('serves REST through 19091 with both product instances', async () => {
  const gateway = new HttpClient('http://127.0.0.1:19091');
  const signIn = await gateway.get('/auth/signIn?user_id=starter');
  expect(signIn.status).toBe(200);
  const token = signIn.body.access_token;
  expect((await gateway.post('/products', { name: 'Started', supply_price: 1 }, { token })).status).toBe(200);
  const ports = new Set<string | null>();
  for (let index = 0; index < 2; index += 1) ports.add((await gateway.get('/products', { token })).headers.get('server-port'));
  expect(ports).toEqual(new Set(['19093', '19094']));
});

test('every process serves its metrics on its METRICS_PORT, showing the traffic', async () => {
  const services = ['gateway', 'order', 'product', 'product', 'auth'];
  for (const [index, port] of METRICS_PORTS.entries()) {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect({ port, status: response.status }).toEqual({ port, status: 200 });
    const text = await response.text();
    expect(text).toContain(`service="${services[index]}"`);
    if (port === 19191) expect(text).toMatch(/^gateway_http_request_duration_seconds_count\{method="POST",route="\/products",operation="CreateProduct",status="200",service="gateway"\} 1$/m);
  }
});

test('Ctrl-C stops all five processes', async () => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGINT');
  await exited;
  await waitFor(async () => !(await Promise.all(PORTS.map(portOpen))).some(Boolean), 'every port to close', 15_000);
}, 30_000);
