// Container health probe for echo-server: exit 0 when GET /healthz answers 200, else 1.
//
//   node deploy/healthcheck.js          # probes 127.0.0.1:$ECHO_METRICS_PORT (9464)
//
// Plain JavaScript on node:http because slim Node.js images have neither curl nor wget, and
// the probe must run in the image without a build step. /healthz answers 503 once a graceful
// shutdown has started, so Docker marks a stopping server unhealthy.
import http from 'node:http';

const port = Number(process.env.ECHO_METRICS_PORT ?? '9464');

const request = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (response) => {
  response.resume();
  process.exitCode = response.statusCode === 200 ? 0 : 1;
  if (process.exitCode !== 0) console.error(`healthcheck: /healthz answered ${response.statusCode}`);
});
request.on('timeout', () => request.destroy(new Error('timed out after 2 s')));
request.on('error', (error) => {
  console.error(`healthcheck: ${error.message}`);
  process.exitCode = 1;
});
