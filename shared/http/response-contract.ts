import type { DomainErrorKind } from '../errors/domain-errors.js';
import type { OperationDoc, ResponseDoc, SuccessHeader } from './operation-doc.js';
import { STATUS_OF_KIND } from './problem-mapper.js';

/** The response headers the document declares: what a generated client may read. */
export type DeclaredHeader = 'ETag' | 'Location' | 'Retry-After' | 'WWW-Authenticate';

export const DECLARED_HEADERS: readonly DeclaredHeader[] = [
  'ETag',
  'Location',
  'Retry-After',
  'WWW-Authenticate',
];

export interface DocumentedResponse {
  readonly description: string;
  /** The handler's JSON body, if it answers one at this status. */
  readonly schema?: ResponseDoc['schema'];
  /** The media type of that body: JSON unless the operation answers text (a CSV file). */
  readonly mediaType: string;
  /** A problem (application/problem+json, the Problem schema) may be answered at this status. */
  readonly problem: boolean;
  readonly headers: readonly DeclaredHeader[];
}

const HEADER_NAME: Readonly<Record<SuccessHeader, DeclaredHeader>> = { etag: 'ETag', location: 'Location' };

/** The headers the problem mapper adds to the problem of a kind (shared/http/problem-mapper.ts). */
const HEADERS_OF_KIND: Readonly<Partial<Record<DomainErrorKind, readonly DeclaredHeader[]>>> = {
  unauthenticated: ['WWW-Authenticate'],
  transient: ['Retry-After'],
  rate_limited: ['Retry-After'],
};

/**
 * The domain errors the edge's steps raise for an operation, derived from what the operation uses, so the document
 * follows the edge rather than a list kept by hand (shared/http/edge/api-edge.ts has the steps).
 */
function edgeErrors(doc: OperationDoc): Array<[DomainErrorKind, string]> {
  const errors: Array<[DomainErrorKind, string]> = [];
  if (doc.query || doc.body)
    errors.push(['validation', 'Invalid request: malformed JSON or invalid fields.']);
  if (doc.roles) {
    errors.push(['unauthenticated', 'Missing, invalid or expired access token.']);
    errors.push([
      'forbidden',
      doc.customerScoped
        ? `The caller lacks the role ${doc.roles.join(' or ')}, or may not act on this customer.`
        : `The caller lacks the role ${doc.roles.join(' or ')}.`,
    ]);
  }
  if (doc.optionalAuthentication)
    errors.push(['unauthenticated', 'An access token was sent but is invalid or expired.']);
  if (doc.params) errors.push(['not_found', 'Nothing exists at this address.']);
  if (doc.textBody) {
    errors.push(['too_large', `The body exceeds ${doc.textBody.maxBytes / (1024 * 1024)} MB.`]);
    errors.push(['unsupported_media_type', `The body is not ${doc.textBody.mediaType} in UTF-8.`]);
  } else if (doc.body) {
    errors.push(['too_large', 'The body exceeds 1 MB.']);
    errors.push(['unsupported_media_type', 'The body is not application/json.']);
  }
  if (doc.ifMatch) errors.push(['version_mismatch', 'If-Match does not match the current version.']);
  if (doc.reach) {
    const reached = [doc.reach.sbc ? 'an SBC' : '', doc.reach.tenant ? "a customer's tenant" : '']
      .filter(Boolean)
      .join(' and ');
    const counters = doc.reach.sbc && doc.reach.sbc !== 'unnamed' ? 'the caller or the SBC' : 'the caller';
    errors.push([
      'rate_limited',
      `\`rate_limited\`: the call reaches ${reached}, and ${counters} used up the requests of the current window; retry after Retry-After seconds.`,
    ]);
  }
  // Every operation reads or writes storage, whose outage is answered 503 with Retry-After.
  errors.push(['transient', 'Storage or a peer is briefly unavailable; retry after Retry-After seconds.']);
  return errors;
}

/**
 * Every status an operation can answer, with its headers: the handler's successes, the domain errors it declares,
 * those of the edge's steps, and 500. The OpenAPI document and the test that holds responses to it both read this.
 */
export function documentedResponses(doc: OperationDoc): ReadonlyMap<number, DocumentedResponse> {
  const result = new Map<number, DocumentedResponse>();
  for (const [status, response] of Object.entries(doc.responses) as Array<[string, ResponseDoc]>) {
    result.set(Number(status), {
      description: response.description,
      ...(response.schema ? { schema: response.schema } : {}),
      mediaType: response.mediaType ?? 'application/json',
      problem: false,
      headers: (response.headers ?? []).map((header) => HEADER_NAME[header]),
    });
  }
  const declared = Object.entries(doc.errors ?? {}) as Array<[DomainErrorKind, string]>;
  const declaredKinds = new Set(declared.map(([kind]) => kind));
  const errors = [...edgeErrors(doc).filter(([kind]) => !declaredKinds.has(kind)), ...declared];
  const problems = new Map<number, { descriptions: string[]; headers: Set<DeclaredHeader> }>();
  for (const [kind, description] of errors) {
    const status = STATUS_OF_KIND[kind];
    const entry = problems.get(status) ?? { descriptions: [], headers: new Set<DeclaredHeader>() };
    entry.descriptions.push(description);
    for (const header of HEADERS_OF_KIND[kind] ?? []) entry.headers.add(header);
    problems.set(status, entry);
  }
  problems.set(500, { descriptions: ['Unexpected error; quote the invocation id.'], headers: new Set() });
  for (const [status, { descriptions, headers }] of [...problems].sort(([a], [b]) => a - b)) {
    // A handler's own answer at an error status (health's 503 report) and the problem share the status.
    const answer = result.get(status);
    result.set(status, {
      description: [answer?.description, ...descriptions].filter(Boolean).join(' '),
      ...(answer?.schema ? { schema: answer.schema } : {}),
      mediaType: answer?.mediaType ?? 'application/json',
      problem: true,
      headers: [...new Set([...(answer?.headers ?? []), ...headers])],
    });
  }
  return result;
}
