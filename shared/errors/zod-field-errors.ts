import type { z } from 'zod';
import type { FieldError, FieldLocation } from './domain-errors.js';

/** Rules that carry their own stable code put it in `params.code`; the rest get one derived from zod's issue. */
export function toFieldErrors(error: z.ZodError, location: FieldLocation, input: unknown): FieldError[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: [...issue.path, key].join('.'),
        in: location,
        code: 'unknown_field',
        message:
          location === 'query'
            ? `"${key}" is not a query parameter of this operation.`
            : `"${key}" is not a field of this request.`,
      }));
    }
    const missing = issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined;
    return [
      {
        field: issue.path.join('.'),
        in: location,
        code: missing ? 'required' : codeOf(issue),
        message: issue.message,
      },
    ];
  });
}

function codeOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'custom':
      return typeof issue.params?.code === 'string' ? issue.params.code : 'invalid';
    case 'invalid_type':
      return issue.expected === 'int' ? 'not_integer' : 'invalid_type';
    case 'too_small':
      return issue.origin === 'string' ? 'too_short' : 'too_small';
    case 'too_big':
      return issue.origin === 'string' ? 'too_long' : 'too_big';
    case 'invalid_value':
      return 'not_allowed';
    case 'invalid_format':
      return 'invalid_format';
    case 'not_multiple_of':
      return 'not_multiple_of';
    default:
      return 'invalid';
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
