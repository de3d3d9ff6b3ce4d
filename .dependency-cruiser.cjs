/**
 * The import rules of the product, checked by `npm run lint` (depcruise functions shared dev). Type-only imports
 * count: a cycle through types still ties modules together. test/lint/import-rules.test.ts shows each rule fail.
 */

/** Product code: what Azure runs. */
const PRODUCT = '^(functions|shared)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module must not depend on itself through others; extract what both sides need into a leaf.',
      from: { path: '^(functions|shared|dev)/' },
      to: { circular: true },
    },
    {
      name: 'shared-not-functions',
      severity: 'error',
      comment:
        'shared/ is built by the composition root (functions/app.ts) and never reaches back into functions/.',
      from: { path: '^shared/' },
      to: { path: '^functions/' },
    },
    {
      name: 'product-not-dev-or-test',
      severity: 'error',
      comment:
        'The local host, the sandbox, the tests and the portal client are not deployed: product code must not import them.',
      from: { path: PRODUCT },
      to: { path: '^(dev|test|clients)/' },
    },
    {
      name: 'domain-not-http',
      severity: 'error',
      comment:
        'shared/<domain> knows no HTTP: it throws a DomainError (shared/errors) and the edge maps it. Only the edges ' +
        '(shared/http and the function definitions) use shared/http.',
      from: {
        path: '^shared/',
        pathNot: '^shared/http/|^shared/platform/function-definitions[.]ts$',
      },
      to: { path: '^shared/http/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
  },
};
