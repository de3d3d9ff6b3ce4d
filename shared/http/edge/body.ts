import type { HttpRequest } from '@azure/functions';
import { DomainError, domainErrors } from '../../errors/domain-errors.js';
import { firstDuplicateKey } from './duplicate-keys.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The request's JSON document: a JSON media type, at most MAX_BODY_BYTES, UTF-8, not empty, parseable, no key twice
 * in one object. A body without Content-Type is refused like any other type: guessing JSON would let a form or a
 * plain-text post from a browser, sent without a CORS preflight, reach a handler.
 */
export async function readJsonBody(request: HttpRequest): Promise<unknown> {
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (declaredLength > MAX_BODY_BYTES) throw tooLarge();
  const contentType = request.headers.get('content-type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(mediaType)) {
    throw new DomainError('unsupported_media_type', {
      code: 'unsupported_media_type',
      title: 'Unsupported media type',
      detail: contentType
        ? `The body must be application/json, not ${contentType}.`
        : 'The body has no Content-Type; send it as application/json.',
    });
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformed('The body is not valid UTF-8.');
  }
  if (text.trim() === '') throw malformed('The body is empty; send a JSON document.');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw malformed(`The body is not valid JSON: ${error instanceof Error ? error.message : 'parse error'}.`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) {
    throw domainErrors.validation(
      [
        {
          field: duplicate,
          in: 'body',
          code: 'duplicate_field',
          message: `"${duplicate}" appears more than once; send each field once.`,
        },
      ],
      'The body names a field more than once.',
    );
  }
  return document;
}

function tooLarge(): DomainError {
  return new DomainError('too_large', {
    code: 'payload_too_large',
    title: 'Payload too large',
    detail: `The body must not exceed ${MAX_BODY_BYTES} bytes.`,
  });
}

function malformed(detail: string): DomainError {
  return new DomainError('validation', { code: 'malformed_json', title: 'Malformed JSON', detail });
}
