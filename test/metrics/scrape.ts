/**
 * Test helpers: fetch an endpoint and read the Prometheus text format into a map from
 * `name{label="value",...}` (exactly as printed) to its number.
 */
export interface Reply {
  status: number;
  type: string | null;
  body: string;
}

/** One GET (or `method`) request, no keep-alive, answer read whole. */
export async function get(url: string, method = 'GET'): Promise<Reply> {
  const response = await fetch(url, { method, headers: { connection: 'close' } });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

/** Parses exposition text: comments skipped, one entry per sample line. */
export function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Scrapes `/metrics` at `base` and returns its samples; throws unless the status is 200. */
export async function scrape(base: string): Promise<Map<string, number>> {
  const reply = await get(`${base}/metrics`);
  if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
  return parseSamples(reply.body);
}
