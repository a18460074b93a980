/** The identity kinds (Tenant, Application) as a Gatehouse kind compiler: one `identity` section per snapshot. */
import type { KindCompiler } from '../config/kinds.js';
import { compileIdentitySection, type IdentitySection } from './compile.js';

export const identityKind: KindCompiler<IdentitySection> = {
  section: 'identity',
  kinds: ['Tenant', 'Application'],
  compile: (resources) => compileIdentitySection(resources, process.env),
};
