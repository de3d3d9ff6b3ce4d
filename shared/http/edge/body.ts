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
  if (declaredLength > MAX_BODY_BYTES) throw tooLarge(MAX_BODY_BYTES);
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
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge(MAX_BODY_BYTES);
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

/**
 * The request's text of one media type (a CSV file): that Content-Type (any charset parameter must be UTF-8), at most
 * `maxBytes`, UTF-8 (a byte-order mark dropped), not empty. What the text says is the handler's to check.
 */
export async function readTextBody(
  request: HttpRequest,
  mediaType: string,
  maxBytes: number,
): Promise<string> {
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (declaredLength > maxBytes) throw tooLarge(maxBytes);
  const contentType = request.headers.get('content-type');
  const [declared, ...parameters] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  if (declared !== mediaType || (charset !== undefined && charset.replace(/"/g, '') !== 'utf-8')) {
    throw new DomainError('unsupported_media_type', {
      code: 'unsupported_media_type',
      title: 'Unsupported media type',
      detail: contentType
        ? `The body must be ${mediaType} in UTF-8, not ${contentType}.`
        : `The body has no Content-Type; send it as ${mediaType}.`,
    });
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DomainError('validation', {
      code: 'validation_failed',
      title: 'Invalid body',
      detail: 'The body is not valid UTF-8.',
    });
  }
  if (text.trim() === '') {
    throw new DomainError('validation', {
      code: 'validation_failed',
      title: 'Invalid body',
      detail: `The body is empty; send a ${mediaType} file.`,
    });
  }
  return text;
}

function tooLarge(maxBytes: number): DomainError {
  return new DomainError('too_large', {
    code: 'payload_too_large',
    title: 'Payload too large',
    detail: `The body must not exceed ${maxBytes} bytes.`,
  });
}

function malformed(detail: string): DomainError {
  return new DomainError('validation', { code: 'malformed_json', title: 'Malformed JSON', detail });
}
