/**
 * A seeded generator of numbers in [0, 1) (Park-Miller), so that a failing run can be replayed
 * from its seed.
 */
export function seeded(seed: number): () => number {
  let state = seed % 2147483647 || 1;
  return () => {
    state = (state * 16807) % 2147483647;
    return (state - 1) / 2147483646;
  };
}
