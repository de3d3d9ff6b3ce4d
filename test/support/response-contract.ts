import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { buildOpenApiDocument, documentPath } from '../../shared/http/openapi.js';
import type { OperationDoc } from '../../shared/http/operation-doc.js';
import { PROBLEM_CONTENT_TYPE } from '../../shared/http/problem.js';
import { DECLARED_HEADERS, documentedResponses } from '../../shared/http/response-contract.js';
import type { HttpFunctionDefinition } from '../../shared/platform/function-definitions.js';

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
  if (mediaType !== undefined && mediaType !== PROBLEM_CONTENT_TYPE && mediaType !== 'application/json') {
    if (mediaType !== documented.mediaType) {
      violations.push(
        `${operation} answered ${mediaType} with ${status}, documented as ${documented.mediaType ?? 'JSON'}.`,
      );
    }
  }
  if (mediaType === 'application/json' && !documented.schema) {
    violations.push(`${operation} answered a JSON body with ${status}, documented without one.`);
  }
  if (
    mediaType &&
    mediaType !== PROBLEM_CONTENT_TYPE &&
    documented.schema &&
    mediaType !== documented.mediaType
  ) {
    violations.push(
      `${operation} answered ${mediaType} with ${status}, documented as ${documented.mediaType}.`,
    );
  }
  return violations;
}

type Document = {
  components: Record<string, unknown>;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
};

/**
 * The contract of the registry's operations, bodies included: a JSON body must match the schema the document gives
 * it, as a generated client's types would assume (the document's components resolve its $refs).
 */
export function responseContract(definitions: readonly HttpFunctionDefinition[]) {
  let document: Document | undefined;
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const validators = new Map<string, ValidateFunction>();
  function validator(definition: HttpFunctionDefinition, status: number, mediaType: string) {
    document ??= buildOpenApiDocument(definitions, {
      title: 'test',
      version: '0',
      description: '',
    }) as Document;
    const doc = definition.openapi!;
    const key = `${doc.operationId} ${status} ${mediaType}`;
    let validate = validators.get(key);
    if (!validate) {
      const schema =
        document.paths[documentPath(definition.route)]?.[doc.method.toLowerCase()]?.responses[String(status)]
          ?.content?.[mediaType]?.schema;
      if (!schema) return undefined;
      validate = ajv.compile({ ...schema, components: document.components });
      validators.set(key, validate);
    }
    return validate;
  }
  return {
    violations(
      definition: HttpFunctionDefinition,
      status: number,
      headers: Pick<Headers, 'get'>,
      body: string,
    ) {
      if (!definition.openapi) return [];
      const violations = contractViolations(definition.openapi, status, headers);
      const mediaType = headers.get('content-type')?.split(';')[0]?.trim();
      if (violations.length > 0 || !mediaType || body === '' || !mediaType.endsWith('json'))
        return violations;
      const validate = validator(definition, status, mediaType);
      // A text body (a CSV file) is the string its schema describes; JSON is parsed first.
      const value: unknown = mediaType.endsWith('json') ? JSON.parse(body) : body;
      if (validate && !validate(value)) {
        violations.push(
          `${definition.openapi.operationId} answered ${status} with a body its schema refuses: ${ajv.errorsText(validate.errors)}`,
        );
      }
      return violations;
    },
  };
}
