import { join } from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import ts from 'typescript';
import type { KubeObject } from './kustomize.js';
import { ROOT } from './tools.js';

/** A kubernetes-models class: built from an object, `validate()` throws what the schema rejects. */
type ModelClass = new (data: never) => { validate(): void };

/** Every kind the manifests use: its model, and the module and interface that type it. */
const MODELS: Record<string, { model: ModelClass; module: string; type: string }> = {
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1/Namespace', type: 'INamespace' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
  'batch/v1/Job': { model: Job, module: 'kubernetes-models/batch/v1/Job', type: 'IJob' },
  'monitoring.coreos.com/v1/PodMonitor': {
    model: PodMonitor,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor',
    type: 'IPodMonitor',
  },
};

function modelFor(object: KubeObject) {
  const entry = MODELS[`${object.apiVersion}/${object.kind}`];
  if (entry === undefined) throw new Error(`no model for ${object.apiVersion} ${object.kind}: add it to MODELS`);
  return entry;
}

/**
 * What the Kubernetes API schema (kubernetes-models' validator, generated from the API's
 * OpenAPI document; prometheus-operator's CRD schema for its kinds) says is wrong with the
 * object: types, required fields, formats, enums. Empty when it is valid.
 *
 * @example
 *   expect(schemaErrors(deployment)).toEqual([]);
 */
export function schemaErrors(object: KubeObject): string[] {
  const { model } = modelFor(object);
  try {
    new model(structuredClone(object) as never).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * Fields the API does not know, for each object (keyed by its index). The schema validator
 * lets unknown fields through, but `kubectl apply` refuses them (strict field validation),
 * and a misspelt field would otherwise just be ignored: a probe that never runs. So each
 * object is also type-checked as an object literal of the models' TypeScript interface,
 * whose excess-property check names any field the API does not have. One compiler run for
 * all objects (a few seconds).
 *
 * @example
 *   expect(unknownFields(objects)).toEqual([]);
 */
export function unknownFields(objects: readonly KubeObject[]): string[] {
  // In-memory files beside this one, so that imports resolve from the project's node_modules.
  const files = new Map(
    objects.map((object, index) => {
      const { module, type } = modelFor(object);
      const source = `import type { ${type} } from '${module}';\nexport const object: ${type} = ${JSON.stringify(object, null, 1)};\n`;
      return [join(ROOT, 'test', 'deploy', `manifest-${index}.virtual.ts`), { source, object }] as const;
    }),
  );
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) => {
    const file = files.get(name);
    return file === undefined ? getSourceFile.call(host, name, language, ...rest) : ts.createSourceFile(name, file.source, language);
  };
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name)?.source ?? readFile.call(host, name);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const object = diagnostic.file === undefined ? undefined : files.get(diagnostic.file.fileName)?.object;
    const where = object === undefined ? 'compiler' : `${object.kind} ${object.metadata.name}`;
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}
