import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { CLOSE_DEADLINE_MS } from '../../src/server/connection.js';
import { backendServers, readHaproxyConfig, section } from './haproxy-config.js';
import { schemaErrors, unknownFields } from './kube-schemas.js';
import { objectKey, render, type KubeObject } from './kustomize.js';
import { loadOptionsFrom } from './load-args.js';
import { serverOptionsFrom } from './server-env.js';
import { ROOT, run } from './tools.js';

const KUBERNETES = join(ROOT, 'deploy', 'kubernetes');
const NAMESPACE = 'echo';
const PART_OF = { 'app.kubernetes.io/part-of': 'echo' };

/** Each kustomization and the objects it must give, as `kind/namespace/name`, sorted. */
const KUSTOMIZATIONS = [
  {
    dir: '.',
    keys: [
      'Deployment/echo/echo-server',
      'HorizontalPodAutoscaler/echo/echo-server',
      'Namespace//echo',
      'PodDisruptionBudget/echo/echo-server',
      'Service/echo/echo-server',
    ],
  },
  { dir: 'monitoring', keys: ['PodMonitor/echo/echo-server'] },
  { dir: 'load', keys: ['Job/echo/echo-load'] },
];

const server = render(KUBERNETES);
const monitoring = render(join(KUBERNETES, 'monitoring'));
const load = render(join(KUBERNETES, 'load'));
const everything = [...server, ...monitoring, ...load];

/** The one object of that kind (the file cannot be checked otherwise: it throws). */
function only(objects: readonly KubeObject[], kind: string): KubeObject & { spec: Record<string, unknown> } {
  const found = objects.filter((object) => object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as KubeObject & { spec: Record<string, unknown> };
}

const deployment = only(server, 'Deployment');
const service = only(server, 'Service') as KubeObject & {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number; protocol?: string }> };
};
const pdb = only(server, 'PodDisruptionBudget');
const hpa = only(server, 'HorizontalPodAutoscaler');
const podMonitor = only(monitoring, 'PodMonitor');
const job = only(load, 'Job');
const serverPod = deployment.spec.template as IPodTemplateSpec;
const loadPod = job.spec.template as IPodTemplateSpec;

function theContainer(pod: IPodTemplateSpec): IContainer {
  const containers = pod.spec?.containers ?? [];
  if (containers.length !== 1) throw new Error(`expected one container in the pod template, found ${containers.length}`);
  return containers[0]!;
}
const serverContainer = theContainer(serverPod);
const loadContainer = theContainer(loadPod);

/** The container port a Service's `targetPort`, a probe's or a PodMonitor's `port` names. */
function containerPort(container: IContainer, port: string | number): number {
  if (typeof port === 'number') return port;
  const found = container.ports?.find((candidate) => candidate.name === port);
  if (found === undefined) throw new Error(`container ${container.name} has no port named '${port}'`);
  return found.containerPort;
}

/** `matchLabels` selects the labels when each of its pairs is among them. */
function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const pairs = Object.entries(matchLabels ?? {});
  return pairs.length > 0 && pairs.every(([name, value]) => labels?.[name] === value);
}

/** A resource quantity (`500m`, `2`, `128Mi`) as a number of cores or bytes. */
function quantity(text: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(text));
  if (match === null) throw new Error(`not a quantity this test reads: ${text}`);
  const unit = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] ?? '']!;
  return Number(match[1]) * unit;
}

/** The environment the image gives its processes: the ENV instructions of the Dockerfile's last stage. */
function imageEnv(): Record<string, string> {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim());
  const stages = lines.flatMap((line, index) => (line.startsWith('FROM ') ? [index] : []));
  const finalStage = lines.slice(stages.at(-1));
  const env: Record<string, string> = {};
  for (const line of finalStage.filter((candidate) => candidate.startsWith('ENV '))) {
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`ENV ${pair}: only KEY=value pairs are read here`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return env;
}

/** The container's env, each entry a plain value (a valueFrom could not be checked here). */
function containerEnv(container: IContainer): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((entry) => {
      if (entry.value === undefined) throw new Error(`env ${entry.name}: only plain values are read here`);
      return [entry.name, entry.value];
    }),
  );
}

/**
 * What echo-server in the Deployment's container makes of its options: the image's
 * environment overlaid with the container's, and the container's args (none: the image's
 * CMD, echo-server), through the server's own option parser.
 */
function deployedServerOptions() {
  expect(serverContainer.command).toBeUndefined();
  const args = serverContainer.args ?? ['echo-server'];
  expect(args[0]).toBe('echo-server');
  return serverOptionsFrom({ ...imageEnv(), ...containerEnv(serverContainer) }, args.slice(1));
}

const kubectl = spawnSync('sh', ['-c', 'command -v kubectl']).status === 0;

describe('deploy/kubernetes', () => {
  // kubectl is not among the tools the test run installs (scripts/test-tools.ts: CI's package
  // sources do not carry it), so this test cannot depend on it. It always checks what the
  // project's own renderer makes of each kustomization; where kubectl is installed it also
  // asserts that `kubectl kustomize` renders exactly the same objects, which is what keeps
  // the renderer honest. The test's name says which of the two ran.
  it.each(KUSTOMIZATIONS)(
    `renders $dir into its objects, in namespace "echo" and labelled part-of echo${kubectl ? ', exactly as kubectl kustomize does' : ''}`,
    async ({ dir, keys }) => {
      const objects = render(join(KUBERNETES, dir)).sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
      expect(objects.map(objectKey)).toEqual(keys);
      for (const object of objects) {
        if (object.kind !== 'Namespace') expect(object.metadata.namespace, objectKey(object)).toBe(NAMESPACE);
        expect(object.metadata.labels, objectKey(object)).toMatchObject(PART_OF);
      }
      if (kubectl) {
        const rendered = await run('kubectl', ['kustomize', join(KUBERNETES, dir)]);
        expect(rendered.stderr).toBe('');
        expect(rendered.code).toBe(0);
        const theirs = parseAllDocuments(rendered.stdout).map((document) => document.toJS() as KubeObject);
        expect(theirs.sort((a, b) => objectKey(a).localeCompare(objectKey(b)))).toEqual(objects);
      }
    },
  );

  it('puts the namespace it creates in force with the restricted Pod Security Standard', () => {
    const namespace = only(server, 'Namespace');
    expect(namespace.metadata.name).toBe(NAMESPACE);
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('gives objects that the Kubernetes API schemas accept', () => {
    expect(everything.map((object) => [objectKey(object), schemaErrors(object)])).toEqual(everything.map((object) => [objectKey(object), []]));
  });

  it('has no field that the Kubernetes API does not know', { timeout: 60_000 }, () => {
    expect(unknownFields(everything)).toEqual([]);
  });

  describe('the Deployment', () => {
    it('listens on the ports its container declares, and on no others', () => {
      const options = deployedServerOptions();
      expect(options.server.plain).toBe(true);
      expect(options.server.tls).toBeUndefined();
      // Reachable from outside the pod: the Service and the kubelet's probes come from the network.
      expect(options.server.host).toBe('0.0.0.0');
      expect(options.metrics?.host).toBe('0.0.0.0');
      const ports = serverContainer.ports!.map(({ name, containerPort, protocol }) => ({ name, containerPort, protocol }));
      expect(ports).toEqual([
        { name: 'echo', containerPort: options.server.port, protocol: 'TCP' },
        { name: 'metrics', containerPort: options.metrics!.port, protocol: 'TCP' },
      ]);
    });

    it('probes readiness and liveness on /healthz of the metrics port', () => {
      const options = deployedServerOptions();
      for (const probe of [serverContainer.readinessProbe, serverContainer.livenessProbe]) {
        expect(probe?.httpGet?.path).toBe('/healthz');
        expect(containerPort(serverContainer, probe!.httpGet!.port)).toBe(options.metrics!.port);
      }
    });

    it('lets the server end its connections itself before the kubelet kills it', () => {
      const options = deployedServerOptions();
      const preStopMs = (serverContainer.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      const graceMs = serverPod.spec!.terminationGracePeriodSeconds! * 1000;
      // Set in the manifest, not left to echo-server's 5 s default or Kubernetes' 30 s.
      expect(containerEnv(serverContainer).ECHO_SHUTDOWN_TIMEOUT).toBeDefined();
      expect(serverPod.spec!.terminationGracePeriodSeconds).toBeDefined();
      expect(graceMs).toBeGreaterThan(preStopMs + options.server.shutdownTimeoutMs + CLOSE_DEADLINE_MS);
    });

    it('owns no replica count: the HorizontalPodAutoscaler does', () => {
      expect(deployment.spec.replicas).toBeUndefined();
      const target = hpa.spec.scaleTargetRef as { apiVersion: string; kind: string; name: string };
      expect(target).toEqual({ apiVersion: deployment.apiVersion, kind: deployment.kind, name: deployment.metadata.name });
      expect(hpa.metadata.namespace).toBe(deployment.metadata.namespace);
      expect(hpa.spec.minReplicas as number).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas as number).toBeGreaterThan(hpa.spec.minReplicas as number);
    });
  });

  describe.each([
    ['the Deployment', serverPod],
    ['the Job', loadPod],
  ])('%s', (_, pod) => {
    it('runs as a non-root user with a read-only root filesystem and no capabilities', () => {
      const container = theContainer(pod);
      expect(pod.spec!.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.spec!.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod.spec!.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      expect(container.securityContext?.runAsNonRoot).not.toBe(false);
      expect(container.securityContext?.runAsUser ?? 1).toBeGreaterThan(0);
      expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
      expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
      expect(container.securityContext?.capabilities?.add).toBeUndefined();
      expect(container.securityContext?.privileged).not.toBe(true);
    });

    it('requests and limits CPU and memory, the requests within the limits', () => {
      const { requests, limits } = theContainer(pod).resources ?? {};
      for (const resource of ['cpu', 'memory']) {
        expect(requests?.[resource], `requests.${resource}`).toBeDefined();
        expect(limits?.[resource], `limits.${resource}`).toBeDefined();
        expect(quantity(requests![resource]!)).toBeLessThanOrEqual(quantity(limits![resource]!));
      }
    });
  });

  describe('the selectors', () => {
    const serverLabels = serverPod.metadata!.labels;
    const loadLabels = loadPod.metadata!.labels;
    const selectors: Array<[string, Record<string, string> | undefined]> = [
      ['Deployment', (deployment.spec.selector as { matchLabels?: Record<string, string> }).matchLabels],
      ['Service', service.spec.selector],
      ['PodDisruptionBudget', (pdb.spec.selector as { matchLabels?: Record<string, string> }).matchLabels],
      ['PodMonitor', (podMonitor.spec.selector as { matchLabels?: Record<string, string> }).matchLabels],
      ...serverPod.spec!.topologySpreadConstraints!.map((constraint) => ['topology spread', constraint.labelSelector?.matchLabels] as [string, Record<string, string> | undefined]),
    ];

    it.each(selectors)("of the %s select the Deployment's pods and not echo-load's", (_, matchLabels) => {
      expect(selects(matchLabels, serverLabels)).toBe(true);
      expect(selects(matchLabels, loadLabels)).toBe(false);
    });

    it("of the Job's topology spread select its own pods", () => {
      for (const constraint of loadPod.spec!.topologySpreadConstraints!) expect(selects(constraint.labelSelector?.matchLabels, loadLabels)).toBe(true);
    });

    it("meet the server's pods in their own namespace", () => {
      for (const object of [service, pdb, hpa, podMonitor]) expect(object.metadata.namespace, objectKey(object)).toBe(deployment.metadata.namespace);
      // No namespaceSelector: a PodMonitor then looks in its own namespace only.
      expect(podMonitor.spec.namespaceSelector).toBeUndefined();
    });
  });

  it("sends the Service's ports to the container's", () => {
    const options = deployedServerOptions();
    const ports = service.spec.ports.map(({ name, port, targetPort, protocol }) => ({ name, port, target: containerPort(serverContainer, targetPort), protocol }));
    expect(ports).toEqual([
      { name: 'echo', port: options.server.port, target: options.server.port, protocol: 'TCP' },
      { name: 'metrics', port: options.metrics!.port, target: options.metrics!.port, protocol: 'TCP' },
    ]);
  });

  it("scrapes the metrics port's /metrics with the PodMonitor, each pod its own instance", () => {
    const endpoints = podMonitor.spec.podMetricsEndpoints as Array<{ port: string; path: string; relabelings?: Array<{ sourceLabels: string[]; targetLabel: string }> }>;
    expect(endpoints).toHaveLength(1);
    expect(containerPort(serverContainer, endpoints[0]!.port)).toBe(deployedServerOptions().metrics!.port);
    expect(endpoints[0]!.path).toBe('/metrics');
    expect(endpoints[0]!.relabelings).toContainEqual({ sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'instance' });
  });

  describe('the Job', () => {
    it('runs all its pods at once as an Indexed Job, none of them twice', () => {
      expect(job.spec.completionMode).toBe('Indexed');
      expect(job.spec.completions as number).toBeGreaterThanOrEqual(2);
      expect(job.spec.parallelism).toBe(job.spec.completions);
      expect(job.spec.backoffLimitPerIndex).toBe(0);
      expect(loadPod.spec!.restartPolicy).toBe('Never');
    });

    it("runs echo-load from the server's image, with arguments echo-load accepts, against the Service", () => {
      expect(loadContainer.image).toBe(serverContainer.image);
      expect(loadContainer.command).toBeUndefined();
      // The image's entrypoint runs args[0] as a command: the Dockerfile puts echo-load on PATH.
      expect(loadContainer.args![0]).toBe('echo-load');
      expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/ln -s \/app\/dist\/load\/cli\.js \/usr\/local\/bin\/echo-load\b/);
      const cpuLimit = quantity(loadContainer.resources!.limits!.cpu!);
      const options = loadOptionsFrom(loadContainer.args!.slice(1), 64);
      // The Service's DNS name, from a pod in its namespace.
      expect(options.targets.map(({ host, port }) => ({ host, port }))).toEqual([{ host: service.metadata.name, port: service.spec.ports.find((port) => port.name === 'echo')!.port }]);
      expect(job.metadata.namespace).toBe(service.metadata.namespace);
      // One JSON result per pod, for echo-load merge.
      expect(options.json).toBe(true);
      // Given, not the default (the node's cores, which a CPU limit does not change): as many as the limit.
      expect(options.workers).toBe(cpuLimit);
      expect(options.messages).toBeUndefined();
      expect(options.warmupMs + options.durationMs).toBeLessThan((job.spec.activeDeadlineSeconds as number) * 1000);
    });

    it("is checked with echo-load's own option parser, which refuses what echo-load refuses", () => {
      const args = loadContainer.args!.slice(1);
      expect(() => loadOptionsFrom([...args, '--clientz', '5'], 2)).toThrow(/no option '--clientz'/);
      expect(() => loadOptionsFrom([...args, '--duration'], 2)).toThrow(/needs a value/);
      expect(() => loadOptionsFrom([...args, '--messages', '100'], 2)).toThrow(/either --duration or --messages/);
      expect(loadOptionsFrom(['--no-progress', '--target', 'a:1', '--target', 'b:2'], 2)).toMatchObject({ progress: false, targets: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }] });
    });
  });

  describe('agrees with docker-compose.yml', () => {
    interface ComposeService {
      image: string;
      ports?: string[];
      environment?: Record<string, string>;
    }
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
    const composeServer = compose.services['echo-server']!;

    it('on the image', () => {
      expect(serverContainer.image).toBe(composeServer.image);
    });

    it("on the server's echo and metrics ports, published by Compose and behind HAProxy", () => {
      const options = deployedServerOptions();
      // "127.0.0.1:8090:8090": the container's side is the last.
      const published = composeServer.ports!.map((port) => Number(port.split(':').at(-1)));
      expect(published).toEqual(serverContainer.ports!.map((port) => port.containerPort));
      const composeOptions = serverOptionsFrom({ ...imageEnv(), ...composeServer.environment });
      expect([composeOptions.server.port, composeOptions.metrics!.port]).toEqual([options.server.port, options.metrics!.port]);
      // HAProxy reaches the replicas on the echo port and checks /healthz on the metrics port.
      for (const backend of backendServers(readHaproxyConfig())) expect(backend.port).toBe(options.server.port);
      expect(section(readHaproxyConfig(), 'backend echo_replicas').join('\n')).toContain(`check port ${options.metrics!.port}`);
    });
  });
});
