/**
 * A synth-time error for a bad construct prop. The message names the prop, the rule and the
 * value, e.g. `` `timeout` must be at most 29 seconds, got: 1 minute ``.
 */
export class PropValidationError extends Error {
  /**
   * @param prop name of the prop, dotted for nested props (`throttle.burstLimit`)
   * @param requirement what the value must satisfy, e.g. `must be at most 29 seconds`
   * @param got the offending value, already formatted for people
   */
  constructor(readonly prop: string, requirement: string, got: string) {
    super(`\`${prop}\` ${requirement}, got: ${got}`);
    this.name = 'PropValidationError';
  }
}
