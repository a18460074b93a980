/**
 * The AlertRule kind (gatehouse.dev/v1alpha1): a TypeBox schema, the single
 * source of its type, its validation and its CRD schema. Names follow Azure
 * Monitor's metric alert rules (operator, threshold, windowSize,
 * evaluationFrequency, severity 0–4, autoMitigate).
 */
import { Type, type Static } from '@sinclair/typebox';

export const ALERT_KIND = 'AlertRule';

export const ALERT_SIGNALS = [
  'successRate',
  'requestRate',
  'latencyP50',
  'latencyP95',
  'latencyP99',
  'healthyServers',
  'certificateDaysLeft',
  'configReloadFailures',
] as const;
export type AlertSignal = (typeof ALERT_SIGNALS)[number];

export const ALERT_OPERATORS = ['GreaterThan', 'GreaterThanOrEqual', 'LessThan', 'LessThanOrEqual', '>', '>=', '<', '<='] as const;
export type AlertOperator = (typeof ALERT_OPERATORS)[number];

const Name = Type.String({ minLength: 1, maxLength: 256 });
const Duration = Type.String({ minLength: 1, maxLength: 32, description: 'Go duration, e.g. 30s, 5m, 1h' });
const StringMap = Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.String({ maxLength: 4096 }));

export const AlertScopeSchema = Type.Object(
  {
    router: Type.Optional(Name),
    service: Type.Optional(Name),
    server: Type.Optional(Name),
    entryPoint: Type.Optional(Name),
    /** The caller (verified client id, header value or address); combines with the others. */
    caller: Type.Optional(Name),
    /** certificateDaysLeft: the certificate's name (default: every certificate). */
    certificate: Type.Optional(Name),
  },
  { additionalProperties: false },
);

export const AlertWebhookSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' }),
    /** Sent with every notification (e.g. Authorization); values are never logged. */
    headers: Type.Optional(StringMap),
    /** The Alertmanager `receiver` field (default `<rule>-webhook-<index>`). */
    name: Type.Optional(Name),
  },
  { additionalProperties: false },
);

export const AlertRuleSpecSchema = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    enabled: Type.Optional(Type.Boolean()),
    signal: Type.Union(ALERT_SIGNALS.map((s) => Type.Literal(s))),
    scope: Type.Optional(AlertScopeSchema),
    operator: Type.Union(ALERT_OPERATORS.map((s) => Type.Literal(s))),
    /** successRate 0..1, requestRate per second, latency ms, servers, days, failures. */
    threshold: Type.Number(),
    /** The window the signal is computed over (default 5m, at most 1h). */
    windowSize: Type.Optional(Duration),
    /** How often the rule is evaluated (default 1m, at least 1s). */
    evaluationFrequency: Type.Optional(Duration),
    /** 0 critical, 1 error, 2 warning, 3 informational, 4 verbose (default 3). */
    severity: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
    /** Resolve by itself when the condition stops holding (default true). */
    autoMitigate: Type.Optional(Type.Boolean()),
    /** successRate and latency signals: ignore windows with fewer requests (default 1). */
    minRequests: Type.Optional(Type.Integer({ minimum: 0 })),
    labels: Type.Optional(StringMap),
    annotations: Type.Optional(StringMap),
    webhooks: Type.Optional(Type.Array(AlertWebhookSchema, { maxItems: 10 })),
  },
  { additionalProperties: false },
);

export type AlertScope = Static<typeof AlertScopeSchema>;
export type AlertWebhook = Static<typeof AlertWebhookSchema>;
export type AlertRuleSpec = Static<typeof AlertRuleSpecSchema>;
