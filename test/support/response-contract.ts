import type { OperationDoc } from '../../shared/http/operation-doc.js';
import { PROBLEM_CONTENT_TYPE } from '../../shared/http/problem.js';
import { DECLARED_HEADERS, documentedResponses } from '../../shared/http/response-contract.js';

/**
 * What a response does that its operation's OpenAPI description does not say: an undocumented status, a declared
 * header (ETag, Location, Retry-After, WWW-Authenticate) sent where none is declared, a body of an undeclared kind.
 * Empty when the response keeps the contract a generated client relies on.
 */
export function contractViolations(
  doc: OperationDoc,
  status: number,
  headers: Pick<Headers, 'get'>,
): string[] {
  const operation = `${doc.operationId} (${doc.method} /${doc.route})`;
  const documented = documentedResponses(doc).get(status);
  if (!documented)
    return [`${operation} answered ${status}, which its OpenAPI description does not document.`];
  const violations: string[] = [];
  for (const header of DECLARED_HEADERS) {
    if (headers.get(header) !== null && !documented.headers.includes(header)) {
      violations.push(
        `${operation} sent ${header} with ${status}, which its OpenAPI description does not declare.`,
      );
    }
  }
  const mediaType = headers.get('content-type')?.split(';')[0]?.trim();
  if (mediaType === PROBLEM_CONTENT_TYPE && !documented.problem) {
    violations.push(`${operation} answered a problem with ${status}, documented as no problem.`);
  }
  if (mediaType === 'application/json' && !documented.schema) {
    violations.push(`${operation} answered a JSON body with ${status}, documented without one.`);
  }
  return violations;
}
