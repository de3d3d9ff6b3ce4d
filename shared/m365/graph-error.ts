/**
 * The Graph SDK's error class and response types from their own files: the very objects the package's index exports
 * (it re-exports these files), so `instanceof GraphError` holds for what a client throws, while telling a failure
 * apart loads two small modules instead of the whole SDK at start-up (docs/decisions.md, 82).
 */
export { GraphError } from '@microsoft/microsoft-graph-client/lib/src/GraphError.js';
export { ResponseType } from '@microsoft/microsoft-graph-client/lib/src/ResponseType.js';
