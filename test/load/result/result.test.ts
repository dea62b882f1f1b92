import { describe, expect, it } from 'vitest';
import { describeRates } from '../../../load/result/result.js';

describe('per-second rates', () => {
  it('gives the exact average and the spread of the samples', () => {
    const rates = describeRates([100, 300, 200, 400], 1000, 4);
    expect(rates).toMatchObject({ average: 250, mean: 250, min: 100, max: 400, p50: 200, p97_5: 400, p2_5: 100 });
    expect(rates.stddev).toBeCloseTo(111.8, 1);
  });

  it('lets the one rate of a run shorter than a second stand for its samples', () => {
    expect(describeRates([], 50, 0.5)).toMatchObject({ average: 100, min: 100, max: 100, p50: 100, stddev: 0 });
  });

  it('is all zeros when nothing was measured', () => {
    expect(describeRates([], 0, 0)).toMatchObject({ average: 0, min: 0, max: 0, p99: 0 });
  });
});
