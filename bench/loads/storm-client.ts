/**
 * The scrape storm of the scrape-storm benchmark: autocannon on `/metrics` and `/healthz` of
 * an echo-server, CONNECTIONS connections each, as fast as they are answered, switched on and
 * off by the benchmark. Usage: storm-client.js BASE_URL CONNECTIONS
 *
 * Commands on stdin, one a line: `on` starts a storm (both endpoints) and answers `on`; `off`
 * stops it, waits until both autocannon runs have ended, and answers `off`; `reset` forgets
 * the results so far (a warm-up's) and answers `reset`; `end` prints one
 * JSON line `{ "metrics": result, "healthz": result }` (autocannon's results, merged over all
 * the storms with `autocannon.aggregateResult`) and exits.
 *
 * Why a process that switches storms on and off rather than one long storm that is frozen
 * (SIGSTOP) between turns: requests in flight at the freeze would count the frozen second
 * in their latency. A storm that stops ends its connections; the next one opens new ones.
 */
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const [base, connectionsText] = process.argv.slice(2) as [string, string];
const connections = Number(connectionsText);

/** What each endpoint's answers must be: a mismatch otherwise (autocannon counts them). */
const ENDPOINTS = {
  metrics: { url: `${base}/metrics`, verifyBody: (body: string) => body.includes('\necho_connections_active{listener="plain"} ') },
  healthz: { url: `${base}/healthz`, expectBody: 'ok\n' },
} satisfies Record<string, Partial<autocannon.Options>>;
type Endpoint = keyof typeof ENDPOINTS;

const results: Record<Endpoint, autocannon.RawResult[]> = { metrics: [], healthz: [] };
let storm: { stop(): Promise<void> } | undefined;

/** Starts one autocannon run per endpoint; `stop` resolves once both have ended. */
function startStorm(): { stop(): Promise<void> } {
  const runs = (Object.keys(ENDPOINTS) as Endpoint[]).map((name) => {
    let instance: autocannon.Instance | undefined;
    const ended = new Promise<void>((resolve, reject) => {
      // Stopped by the benchmark long before the hour; a sample every 50 ms lets it stop soon after.
      const options = { ...ENDPOINTS[name], connections, duration: 3600, sampleInt: 50, timeout: 10, skipAggregateResult: true };
      instance = autocannon(options, (error, result) => {
        if (error) return reject(error);
        results[name].push(result);
        resolve();
      });
    });
    return { stop: () => (instance!.stop(), ended) };
  });
  return { stop: async () => void (await Promise.all(runs.map((run) => run.stop()))) };
}

async function command(line: string): Promise<void> {
  switch (line.trim()) {
    case 'on':
      storm ??= startStorm();
      return void process.stdout.write('on\n');
    case 'off':
      await storm?.stop();
      storm = undefined;
      return void process.stdout.write('off\n');
    case 'reset':
      results.metrics = [];
      results.healthz = [];
      return void process.stdout.write('reset\n');
    case 'end': {
      await storm?.stop();
      const merged = (name: Endpoint) =>
        results[name].length === 0 ? null : autocannon.aggregateResult(results[name], { url: ENDPOINTS[name].url, connections });
      process.stdout.write(`${JSON.stringify({ metrics: merged('metrics'), healthz: merged('healthz') })}\n`);
      process.exit(0);
    }
  }
}

// Commands one after the other: an `off` must not overtake the `on` before it.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(() => command(line)).catch((error: unknown) => {
    process.stderr.write(`storm-client: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
});
process.on('SIGTERM', () => process.exit(0));
