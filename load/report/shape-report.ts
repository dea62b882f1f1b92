import { formatDuration } from '../../src/parse-option.js';
import { formatBytes, formatCount } from './format.js';
import type { LoadResult } from '../result/result.js';

/**
 * The run's shape in words, for the report's first line: `, stages 30s:1000,10s:0`, `, 40
 * arrivals/s (poisson)`, `, lifetime 100 echoes`, `, idle pool 5,000`, `, reconnecting`;
 * nothing for a held run.
 *
 * @example
 *   describeShape(result) // ', stages 1.5s:30,1.5s:0, lifetime 5s'
 */
export function describeShape(result: LoadResult): string {
  const parts: string[] = [];
  if (result.stages !== undefined) parts.push(`stages ${result.stages.map((stage) => `${formatDuration(stage.durationMs)}:${stage.clients}`).join(',')}`);
  if (result.arrivalRate > 0) parts.push(`${formatCount(result.arrivalRate)} arrivals/s (${result.arrivals ?? 'uniform'})`);
  const lifetime = result.connectionLifetime;
  if (lifetime !== undefined) parts.push(`lifetime ${lifetime.ms === undefined ? `${formatCount(lifetime.messages)} echoes` : formatDuration(lifetime.ms)}`);
  if (result.idle.connections > 0) parts.push(`idle pool ${formatCount(result.idle.connections)}`);
  if (result.reconnecting) parts.push('reconnecting');
  return parts.map((part) => `, ${part}`).join('');
}

/**
 * What the shape did, below the connections held: the polite closes, the idle pool at the end,
 * and the disruptions with what they cost. Nothing the run did not ask for.
 *
 * @example
 *   formatShapeOutcome(result) // ['50 connections closed politely (lifetimes, ramps down)', ...]
 */
export function formatShapeOutcome(result: LoadResult): string[] {
  const lines: string[] = [];
  if (result.closed > 0) lines.push(`${formatCount(result.closed)} connections closed politely before the end (lifetimes, ramps down)`);
  if (result.idle.connections > 0) {
    lines.push(`${formatCount(result.idle.held)} of ${formatCount(result.idle.connections)} idle connections still open and silent at the end`);
  }
  if (result.reconnecting) {
    const lost = result.unechoedBytes > 0 ? ` (${formatBytes(result.unechoedBytes)} sent and never echoed)` : '';
    lines.push(`${formatCount(result.disrupted)} disrupted by the server side${lost}, ${formatCount(result.reconnects)} reconnected`);
  }
  return lines;
}
