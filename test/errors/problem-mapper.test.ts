import { describe, expect, it } from 'vitest';
import {
  DomainError,
  type DomainErrorKind,
  domainErrors,
  type FieldError,
  TransientError,
  VersionConflictError,
} from '../../shared/errors/domain-errors.js';
import { problemOfDomainError, STATUS_OF_KIND } from '../../shared/http/problem-mapper.js';
import { problemResponse } from '../../shared/http/problem.js';

// Spelled out rather than read back from STATUS_OF_KIND, so a changed status is a failing test, not a silent change.
const EXPECTED: Record<DomainErrorKind, number> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  limit_reached: 409,
  version_mismatch: 412,
  gone: 410,
  unprocessable: 422,
  upstream_failed: 502,
  rate_limited: 429,
  transient: 503,
  too_large: 413,
  unsupported_media_type: 415,
};

describe('problemOfDomainError', () => {
  it('gives every kind its status', () => {
    expect(Object.keys(STATUS_OF_KIND).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [kind, status] of Object.entries(EXPECTED) as [DomainErrorKind, number][]) {
      const mapped = problemOfDomainError(
        new DomainError(kind, { code: 'concurrent_change', title: 'Some title' }),
      );
      expect(mapped?.problem.status, kind).toBe(status);
    }
  });

  it('keeps code, title and detail, and names the type after the code', () => {
    const mapped = problemOfDomainError(
      domainErrors.conflict(
        'customer_being_removed',
        'Customer is being removed',
        'Alpha is Ready for remove.',
      ),
    );
    expect(mapped).toEqual({
      problem: {
        type: 'urn:direct-routing-hub:problem:customer_being_removed',
        title: 'Customer is being removed',
        status: 409,
        code: 'customer_being_removed',
        detail: 'Alpha is Ready for remove.',
      },
      headers: {},
    });
  });

  it('turns fields into errors, and leaves errors out when there are none', () => {
    const fields: FieldError[] = [
      { field: 'licensedUsers', in: 'body', code: 'too_small', message: 'At least 1.' },
    ];
    expect(problemOfDomainError(domainErrors.validation(fields))?.problem).toEqual({
      type: 'urn:direct-routing-hub:problem:validation_failed',
      title: 'Invalid request',
      status: 400,
      code: 'validation_failed',
      detail: 'The request has invalid fields; see errors.',
      errors: fields,
    });
    expect(problemOfDomainError(domainErrors.notFound('There is no task 1.'))?.problem).not.toHaveProperty(
      'errors',
    );
  });

  it('asks an unauthenticated caller for a bearer token', () => {
    const mapped = problemOfDomainError(domainErrors.unauthenticated('Sign in first.'));
    expect(mapped?.problem).toMatchObject({
      status: 401,
      code: 'unauthenticated',
      title: 'Authentication required',
    });
    expect(mapped?.headers).toEqual({ 'www-authenticate': 'Bearer' });
  });

  it('tells a transient failure when to retry, with its own code and title where it has one', () => {
    const outage = problemOfDomainError(new TransientError('Storage did not answer.'));
    expect(outage?.problem).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(outage?.headers).toEqual({ 'retry-after': '5' });

    const keys = problemOfDomainError(
      new DomainError('transient', {
        code: 'signing_keys_unavailable',
        title: 'Signing keys unavailable',
        detail: 'The token signing keys could not be fetched; try again shortly.',
        retryAfterSeconds: 5,
      }),
    );
    expect(keys?.problem).toEqual({
      type: 'urn:direct-routing-hub:problem:signing_keys_unavailable',
      title: 'Signing keys unavailable',
      status: 503,
      code: 'signing_keys_unavailable',
      detail: 'The token signing keys could not be fetched; try again shortly.',
    });
    expect(keys?.headers).toEqual({ 'retry-after': '5' });
  });

  it('answers a version conflict with 412 precondition_failed', () => {
    const mapped = problemOfDomainError(new VersionConflictError('"Alpha" changed meanwhile; try again.'));
    expect(mapped?.problem).toMatchObject({
      status: 412,
      code: 'precondition_failed',
      title: 'Precondition failed',
    });
    expect(mapped?.headers).toEqual({});
  });

  it('leaves anything that is not a domain error to the edge', () => {
    expect(problemOfDomainError(new Error('boom'))).toBeNull();
    expect(problemOfDomainError('boom')).toBeNull();
  });

  it('renders problem+json with the status of the kind, the code, the detail and the field errors', () => {
    const fields: FieldError[] = [
      { field: 'body', in: 'body', code: 'handlebars_syntax', message: 'Line 3: x' },
    ];
    const mapped = problemOfDomainError(
      new DomainError('validation', {
        code: 'template_invalid',
        title: 'Invalid template',
        detail: 'Not saved; see errors.',
        fields,
      }),
    );
    expect(mapped && problemResponse(mapped.problem, mapped.headers)).toEqual({
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({
        type: 'urn:direct-routing-hub:problem:template_invalid',
        title: 'Invalid template',
        status: 400,
        code: 'template_invalid',
        detail: 'Not saved; see errors.',
        errors: fields,
      }),
    });
  });
});
