/** A budget of the benchmark (issue 5) and whether this run met it: name, measured figure, met. */
export type Budget = readonly [budget: string, figure: string, met: boolean];
