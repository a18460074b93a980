// ESLint: typescript-eslint's recommended rules plus the house habits
// (CONVENTIONS.md). Formatting is Prettier's job (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/vendor/**', 'bench/experiments/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // No `any` anywhere: public surfaces especially (CONVENTIONS: strict TypeScript).
      '@typescript-eslint/no-explicit-any': 'error',
      // tsc's noUnusedLocals already reports these; `_`-prefixed parameters are deliberate.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always'],
      // Header-value and token checks match control characters on purpose (RFC 9110 field syntax).
      'no-control-regex': 'off',
      'no-var': 'error',
      'prefer-const': 'error',
      // No default exports (named exports only).
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'use named exports' }],
    },
  },
);
