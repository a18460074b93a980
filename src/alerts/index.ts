/** Alerts: the AlertRule kind, its compiler, the engine and its webhook notifier. */
export {
  ALERT_KIND,
  ALERT_OPERATORS,
  ALERT_SIGNALS,
  AlertRuleSpecSchema,
  type AlertRuleSpec,
  type AlertSignal,
  type AlertOperator,
  type AlertScope,
  type AlertWebhook,
} from './schema.js';
export { compileAlertRules, type CompiledAlertRule } from './compile.js';
export { alertRulesKind, type AlertsSection } from './kind.js';
export { AlertEngine, type AlertEngineOptions, type AlertStateView, type AlertStateName } from './engine.js';
export { buildPayload, fingerprint, type AlertmanagerPayload, type AlertmanagerAlert } from './payload.js';
export { WebhookNotifier, type DeliveryResult, type NotifierOptions } from './notifier.js';
