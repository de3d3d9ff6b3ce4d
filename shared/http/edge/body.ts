import type { HttpRequest } from '@azure/functions';
import { DomainError } from '../../errors/domain-errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/** The request's JSON document: a JSON media type, at most MAX_BODY_BYTES, UTF-8, not empty, parseable. */
export async function readJsonBody(request: HttpRequest): Promise<unknown> {
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (declaredLength > MAX_BODY_BYTES) throw tooLarge();
  const contentType = request.headers.get('content-type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(mediaType)) {
    throw new DomainError('unsupported_media_type', {
      code: 'unsupported_media_type',
      title: 'Unsupported media type',
      detail: `The body must be application/json${contentType ? `, not ${contentType}` : ''}.`,
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
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformed(`The body is not valid JSON: ${error instanceof Error ? error.message : 'parse error'}.`);
  }
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
