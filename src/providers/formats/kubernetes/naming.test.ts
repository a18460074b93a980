import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullServiceName, makeId, normalize, routeKey } from './naming.js';

test('normalize: runs of non letters/digits become one dash, trimmed (Traefik provider.Normalize)', () => {
  assert.equal(normalize('add-svc'), 'add-svc');
  assert.equal(normalize('a.b__c'), 'a-b-c');
  assert.equal(normalize('--x--'), 'x');
  assert.equal(normalize('café.ü'), 'café-ü');
});

test('makeId / routeKey / fullServiceName', () => {
  assert.equal(makeId('add', 'calcheader'), 'add-calcheader');
  assert.equal(makeId('', 'x'), 'x');
  // sha256("Host(`calc.1.1.1.1.xip.io`) && PathPrefix(`/`)") starts 9805da42bd3521ce200e (sha256sum).
  assert.equal(routeKey('add', 'calc-svc', 'Host(`calc.1.1.1.1.xip.io`) && PathPrefix(`/`)'), 'add-calc-svc-9805da42bd3521ce200e');
  assert.equal(fullServiceName('add', 'add-svc', 80), 'add-add-svc-80');
  assert.equal(fullServiceName('add', 'add-svc', 'http'), 'add-add-svc-http');
  assert.equal(fullServiceName('add', 'split', undefined), 'add-split');
  assert.equal(fullServiceName('add', 'api@internal', undefined), 'api@internal');
  assert.equal(fullServiceName('add', 'split@kubernetescrd', undefined), 'add-split');
});
