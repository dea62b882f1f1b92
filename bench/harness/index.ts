export * from './checkout.js';
export * from './children.js';
export * from './options.js';
export * from './proc.js';
export * from './run-benchmark.js';
export * from './turns.js';
export * from './memory.js';
export * from './server-metrics.js';
