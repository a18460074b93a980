import { GatehouseError } from '../errors.js';

/**
 * A rule that cannot be parsed or compiled. `position` is the 0-based offset in
 * the rule text of the token (or argument) at fault; the message always ends
 * with `at position N`.
 */
export class RuleSyntaxError extends GatehouseError {
  readonly rule: string;
  readonly position: number;
  constructor(rule: string, position: number, message: string) {
    super('GH_RULE_SYNTAX', `${message} at position ${position}`);
    this.name = 'RuleSyntaxError';
    this.rule = rule;
    this.position = position;
  }
}
