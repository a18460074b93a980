import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesOptionsFromStatic, SERVICE_ACCOUNT_DIR, SERVICE_ACCOUNT_DIR_ENV } from './options.js';
import { TokenFileAuth, tokenFileUser } from './token-file.js';

function saDir(namespace = 'gatehouse'): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sa-'));
  writeFileSync(join(dir, 'token'), 'tok-1\n');
  writeFileSync(join(dir, 'ca.crt'), 'ca');
  writeFileSync(join(dir, 'namespace'), namespace);
  return dir;
}

test('no endpoint, no KUBERNETES_SERVICE_HOST, no KUBECONFIG → null (objects from files only)', () => {
  assert.equal(kubernetesOptionsFromStatic({}, '/w', {}), null);
  assert.equal(kubernetesOptionsFromStatic(undefined, '/w', { KUBECONFIG: '/k' }), null);
});

test('KUBECONFIG: the first file of a list, resolved against the working directory; no token file of its own', () => {
  const c = kubernetesOptionsFromStatic({}, '/w', { KUBECONFIG: `:conf/a.yaml:/b.yaml` });
  assert.equal(c?.source, 'kubeconfig');
  assert.equal(c?.kubeconfigPath, '/w/conf/a.yaml');
  assert.equal(c?.tokenFile, undefined);
  assert.equal(c?.endpoint, undefined);
});

test('in-cluster: https://host:port (IPv6 bracketed, 443 by default), the service-account CA, token file and namespace', () => {
  const dir = saDir('gatehouse');
  try {
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '6443', [SERVICE_ACCOUNT_DIR_ENV]: dir };
    const c = kubernetesOptionsFromStatic({}, '/w', env);
    assert.equal(c?.source, 'in-cluster');
    assert.equal(c?.endpoint, 'https://10.96.0.1:6443');
    assert.equal(c?.certAuthFilePath, join(dir, 'ca.crt'));
    assert.equal(c?.tokenFile, join(dir, 'token'));
    assert.equal(c?.token, undefined);
    assert.equal(c?.leaseNamespace, 'gatehouse', 'the namespace file');
    assert.equal(kubernetesOptionsFromStatic({}, '/w', { ...env, POD_NAMESPACE: 'pod-ns' })?.leaseNamespace, 'pod-ns');
    assert.equal(kubernetesOptionsFromStatic({ leaseNamespace: 'flag-ns' }, '/w', env)?.leaseNamespace, 'flag-ns');
    const v6 = kubernetesOptionsFromStatic({}, '/w', { KUBERNETES_SERVICE_HOST: 'fd00::1', [SERVICE_ACCOUNT_DIR_ENV]: dir });
    assert.equal(v6?.endpoint, 'https://[fd00::1]:443');
    // A token flag wins over the token file; a CA flag over the service-account CA.
    const flags = kubernetesOptionsFromStatic({ token: 't', certAuthFilePath: 'ca.pem' }, '/w', env);
    assert.equal(flags?.token, 't');
    assert.equal(flags?.tokenFile, undefined);
    assert.equal(flags?.certAuthFilePath, '/w/ca.pem');
    assert.throws(
      () => kubernetesOptionsFromStatic({}, '/w', { ...env, KUBERNETES_SERVICE_PORT: 'https' }),
      /KUBERNETES_SERVICE_PORT: "https" is not a port number/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flags: the endpoint, with the mounted service-account token when no token flag; the default directory is /var/run/…', () => {
  assert.equal(SERVICE_ACCOUNT_DIR, '/var/run/secrets/kubernetes.io/serviceaccount');
  const dir = saDir();
  try {
    const c = kubernetesOptionsFromStatic({ endpoint: 'https://api:6443' }, '/w', { [SERVICE_ACCOUNT_DIR_ENV]: dir });
    assert.equal(c?.source, 'flags');
    assert.equal(c?.endpoint, 'https://api:6443');
    assert.equal(c?.tokenFile, join(dir, 'token'));
    const none = kubernetesOptionsFromStatic({ endpoint: 'https://api:6443' }, '/w', { [SERVICE_ACCOUNT_DIR_ENV]: join(dir, 'absent') });
    assert.equal(none?.tokenFile, undefined, 'no token file mounted: none');
    assert.throws(() => kubernetesOptionsFromStatic({ endpoint: 'api:6443' }, '/w', {}), /is not a URL: expected https:\/\/host:port/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TokenFileAuth: the trimmed token, read again when the file is replaced; clear errors that never hold the token', async () => {
  const dir = saDir();
  try {
    const file = join(dir, 'token');
    const auth = new TokenFileAuth();
    const user = tokenFileUser('u', file);
    assert.ok(auth.isAuthProvider(user));
    assert.ok(!auth.isAuthProvider({ name: 'x', authProvider: { name: 'oidc', config: {} } }));
    const opts: { headers?: Record<string, unknown> } = {};
    await auth.applyAuthentication(user, opts);
    assert.equal(opts.headers?.Authorization, 'Bearer tok-1');
    assert.equal(auth.token(file), 'tok-1');
    assert.equal(auth.reads, 1, 'unchanged file: not read again');
    // The kubelet swaps the file (a new inode).
    writeFileSync(join(dir, 'token.new'), 'tok-2');
    renameSync(join(dir, 'token.new'), file);
    assert.equal(auth.token(file), 'tok-2');
    assert.equal(auth.reads, 2);
    writeFileSync(file, 'bad token\n');
    assert.throws(
      () => auth.token(file),
      (e: Error) => /does not hold a bearer token/.test(e.message) && !e.message.includes('bad'),
    );
    rmSync(file);
    await assert.rejects(auth.applyAuthentication(user, {}), new RegExp(`cannot read the Kubernetes token file ${file}: ENOENT`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
