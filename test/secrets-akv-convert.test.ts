/**
 * akv2k8s AzureKeyVaultSecret objects as the Kubernetes format reads them
 * (every apiVersion, field errors at their line), the data of the Secret
 * each writes (transforms, multi-key-value-secret in JSON and YAML, never a
 * value in an error), and what `check` does with them (placeholders, a warning).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYamlDocuments } from '../src/providers/formats/kubernetes/documents.js';
import { fromKubernetesObjects } from '../src/providers/formats/kubernetes/convert.js';
import { resolveExternalSecrets, secretDataFromVault, type AkvSecretSpec } from '../src/providers/formats/kubernetes/external-secrets.js';
import { SecretFormatError } from '../src/providers/formats/kubernetes/secrets.js';

function convert(yaml: string): ReturnType<typeof fromKubernetesObjects> {
  const { documents, issues } = parseYamlDocuments(yaml, 'akv.yaml');
  assert.deepEqual(issues, []);
  return fromKubernetesObjects(documents);
}

const akv = (apiVersion: string, spec: string): string =>
  `apiVersion: ${apiVersion}\nkind: AzureKeyVaultSecret\nmetadata: { name: s1, namespace: prod }\nspec:\n${spec}`;

test('every akv2k8s apiVersion becomes a Secret a basicAuth middleware can reference', () => {
  for (const [v, tf] of [
    ['spv.no/v2beta1', 'transform'],
    ['spv.no/v2alpha1', 'transform'],
    ['spv.no/v1', 'transform'],
    ['spv.no/v1alpha1', 'transforms'],
    ['keyvault.azure.spv.no/v2beta1', 'transform'],
  ] as const) {
    const f = convert(
      akv(
        v,
        `  vault: { name: my-vault, object: { name: web-users, type: secret } }\n  output:\n    secret: { name: users, dataKey: users }\n    ${tf}: [trim]\n`,
      ) +
        '---\napiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: { name: auth, namespace: prod }\nspec: { basicAuth: { secret: users } }\n',
    );
    assert.deepEqual(f.issues, [], v);
    const r = f.resources.find((x) => x.kind === 'AzureKeyVaultSecret');
    assert.ok(r !== undefined, v);
    const spec = r.spec as AkvSecretSpec;
    assert.equal(spec.vault, 'my-vault');
    assert.equal(spec.secretName, 'users');
    assert.deepEqual(spec.transforms, ['trim'], v);
    assert.ok(f.middlewares['prod-auth'] !== undefined, `${v}: middleware created`);
  }
});

test('field errors name the field and line; unsupported types are refused with the reason', () => {
  const cases: Array<[string, RegExp, string]> = [
    [
      '  vault: { name: my-vault, object: { name: c, type: key } }\n  output: { secret: { name: x } }\n',
      /"key" is not supported: Key Vault never exports the private part of a key/,
      'spec.vault.object.type',
    ],
    [
      '  vault: { name: my-vault, object: { name: c, type: secret } }\n  output: { secret: { name: x } }\n',
      /needs output.secret.dataKey/,
      'spec.output.secret.dataKey',
    ],
    [
      '  vault: { name: my-vault, object: { name: c, type: multi-key-value-secret } }\n  output: { secret: { name: x } }\n',
      /contentType application\/x-json or application\/x-yaml/,
      'spec.vault.object.contentType',
    ],
    [
      '  vault: { name: "1bad", object: { name: c, type: secret } }\n  output: { secret: { name: x, dataKey: k } }\n',
      /name of a Key Vault/,
      'spec.vault.name',
    ],
    [
      '  vault: { name: my-vault, object: { name: c, type: secret } }\n  output: { secret: { name: x, dataKey: k }, transform: [rot13] }\n',
      /unknown transform "rot13"/,
      'spec.output.transform[0]',
    ],
    [
      '  vault: { name: my-vault, object: { name: c, type: secret, version: latest } }\n  output: { secret: { name: x, dataKey: k } }\n',
      /32 hex digits/,
      'spec.vault.object.version',
    ],
  ];
  for (const [spec, message, field] of cases) {
    const f = convert(akv('spv.no/v2beta1', spec));
    const e = f.issues.find((i) => i.severity === 'error');
    assert.ok(e !== undefined, field);
    assert.match(e.message, message);
    assert.equal(e.field, field);
    assert.ok(e.line !== undefined && e.line > 1, `${field}: line given`);
    assert.equal(f.resources.length, 0, `${field}: nothing passed on`);
  }
});

test('Secret data from the vault value: transforms, multi-key JSON and YAML, errors never quote the value', () => {
  const base: AkvSecretSpec = {
    vault: 'v',
    object: 'o',
    version: '',
    type: 'secret',
    secretName: 's',
    dataKey: 'k',
    secretType: 'Opaque',
    transforms: [],
    akvName: 'a',
  };
  assert.equal(secretDataFromVault({ ...base, transforms: ['trim'] }, '  x \n').data.get('k'), 'x');
  assert.equal(secretDataFromVault({ ...base, transforms: ['base64encode'] }, 'hi').data.get('k'), 'aGk=');
  assert.equal(secretDataFromVault({ ...base, transforms: ['trim', 'base64decode'] }, ' aGk= ').data.get('k'), 'hi');
  const json = secretDataFromVault({ ...base, type: 'multi-key-value-secret', contentType: 'application/x-json' }, '{"a":"1","b":2}');
  assert.deepEqual(
    [...json.data],
    [
      ['a', '1'],
      ['b', '2'],
    ],
  );
  const yaml = secretDataFromVault({ ...base, type: 'multi-key-value-secret', contentType: 'application/x-yaml' }, 'a: one\nb: two\n');
  assert.deepEqual(
    [...yaml.data],
    [
      ['a', 'one'],
      ['b', 'two'],
    ],
  );
  const secretish = 'SUPER-secret-value-{';
  assert.throws(
    () => secretDataFromVault({ ...base, type: 'multi-key-value-secret', contentType: 'application/x-json' }, secretish),
    (e: unknown) => e instanceof SecretFormatError && !e.message.includes('SUPER') && /not valid JSON/.test(e.message),
  );
  assert.throws(() => secretDataFromVault({ ...base, transforms: ['base64decode'] }, 'not base64!'), /not base64/);
});

test('without Key Vault flags the middleware is refused with what to configure; check validates with a placeholder and a warning', () => {
  const f = convert(
    akv(
      'spv.no/v2beta1',
      '  vault: { name: my-vault, object: { name: web-users, type: secret } }\n  output: { secret: { name: users, dataKey: users } }\n',
    ) +
      '---\napiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: { name: auth, namespace: prod }\nspec: { basicAuth: { secret: users } }\n',
  );
  const serve = resolveExternalSecrets([f], { source: null, mode: 'serve' });
  assert.equal(serve.fragments[0]!.middlewares['prod-auth'], undefined);
  assert.match(
    serve.fragments[0]!.issues.map((i) => i.message).join('\n'),
    /Middleware not created \("prod-auth"\).*--secrets\.azurekeyvault\.tenantid/,
  );
  assert.deepEqual(
    serve.wants.map((w) => w.ref),
    [{ vault: 'my-vault', name: 'web-users', version: '' }],
  );
  const check = resolveExternalSecrets([f], { source: null, mode: 'check' });
  assert.ok(check.fragments[0]!.middlewares['prod-auth'] !== undefined);
  assert.match(check.fragments[0]!.issues.map((i) => `${i.severity} ${i.message}`).join('\n'), /warning .*not fetched by check/);
  assert.ok(f.middlewares['prod-auth'] !== undefined, 'the provider fragment itself is not changed');
});
