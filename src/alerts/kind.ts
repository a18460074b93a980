/** AlertRule as a Gatehouse kind compiler: one `alerts` section (the compiled rules) per snapshot. */
import type { KindCompiler } from '../config/kinds.js';
import { compileAlertRules, type CompiledAlertRule } from './compile.js';

export interface AlertsSection {
  readonly rules: readonly CompiledAlertRule[];
}

export const alertRulesKind: KindCompiler<AlertsSection> = {
  section: 'alerts',
  kinds: ['AlertRule'],
  compile: (resources) => {
    const { rules, issues } = compileAlertRules(resources);
    return { section: { rules }, issues };
  },
};
