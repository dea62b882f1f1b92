import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

/** A Kubernetes object as written in a manifest (only the parts every object has are typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** The fields of kustomization.yaml that `render` applies; any other one is refused. */
interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }>;
  resources?: string[];
}

const KNOWN = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources']);
const CLUSTER_SCOPED = new Set(['Namespace']);

/**
 * Renders a kustomization the way `kubectl kustomize` does, for the few fields this project
 * uses: `resources` (files in the directory), `namespace` (on every namespaced object) and
 * `labels` (added to each object's own labels, not to selectors or pod templates). Anything
 * else throws, so that a kustomization that grows a field cannot be checked as if it had not.
 * Objects come out in file order.
 *
 * @example
 *   const objects = render(join(ROOT, 'deploy', 'kubernetes'));
 *   const deployment = objects.find((o) => o.kind === 'Deployment');
 */
export function render(dir: string): KubeObject[] {
  const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(kustomization).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: render() does not apply ${unknown.join(', ')}`);
  if (kustomization.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || kustomization.kind !== 'Kustomization') {
    throw new Error(`${dir}/kustomization.yaml: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  }
  const labels: Record<string, string> = {};
  for (const entry of kustomization.labels ?? []) {
    if (entry.includeSelectors === true || entry.includeTemplates === true) {
      throw new Error(`${dir}/kustomization.yaml: render() does not apply labels to selectors or templates`);
    }
    Object.assign(labels, entry.pairs);
  }
  return (kustomization.resources ?? []).flatMap((resource) => {
    const file = join(dir, resource);
    if (!statSync(file).isFile()) throw new Error(`${file}: render() takes files only as resources`);
    return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      const object = document.toJS() as KubeObject;
      if (kustomization.namespace !== undefined && !CLUSTER_SCOPED.has(object.kind)) {
        object.metadata.namespace = kustomization.namespace;
      }
      if (Object.keys(labels).length > 0) object.metadata.labels = { ...object.metadata.labels, ...labels };
      return object;
    });
  });
}

/** `kind/namespace/name`: how objects are told apart (and sorted, to compare two renderings). */
export function objectKey(object: KubeObject): string {
  return `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}
