/**
 * ASP.NET Core's inline route constraints as Azure Functions routes use them (`{id:int}`, `{code:regex(...)}`).
 * Semantics follow ASP.NET: int/long are 32/64-bit with an optional sign, alpha is ASCII letters, regex is
 * case-insensitive and unanchored unless the pattern anchors itself.
 */

export interface RouteConstraint {
  /** As written, e.g. `int` or `range(1,10)`. */
  readonly text: string;
  readonly test: (value: string) => boolean;
}

const INT32 = { min: -2147483648n, max: 2147483647n };
const INT64 = { min: -9223372036854775808n, max: 9223372036854775807n };
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const GUID_FORMS = [
  /^[0-9a-f]{32}$/i,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i,
  /^\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)$/i,
];

function integerIn(value: string, range: { min: bigint; max: bigint }): boolean {
  if (!INTEGER.test(value)) return false;
  const n = BigInt(value);
  return n >= range.min && n <= range.max;
}

export function createConstraint(
  name: string,
  args: string | undefined,
  fail: (reason: string) => never,
): RouteConstraint {
  const text = args === undefined ? name : `${name}(${args})`;
  const numbers = (count: number[]): bigint[] => {
    const list = (args ?? '').split(',').map((a) => a.trim());
    if (!count.includes(list.length) || !list.every((a) => INTEGER.test(a))) {
      fail(`the constraint '${text}' needs ${count.join(' or ')} integer argument(s).`);
    }
    return list.map((a) => BigInt(a));
  };
  const noArgs = (test: (value: string) => boolean): RouteConstraint => {
    if (args !== undefined) fail(`the constraint '${name}' takes no arguments.`);
    return { text, test };
  };
  const length = (value: string) => BigInt([...value].length);
  switch (name.toLowerCase()) {
    case 'int':
      return noArgs((v) => integerIn(v, INT32));
    case 'long':
      return noArgs((v) => integerIn(v, INT64));
    case 'bool':
      return noArgs((v) => /^(true|false)$/i.test(v));
    case 'guid':
      return noArgs((v) => GUID_FORMS.some((form) => form.test(v)));
    case 'alpha':
      return noArgs((v) => /^[a-z]*$/i.test(v));
    case 'double':
    case 'float':
    case 'decimal':
      return noArgs((v) => DECIMAL.test(v));
    case 'datetime':
      return noArgs((v) => !Number.isNaN(Date.parse(v)));
    case 'min': {
      const [min = 0n] = numbers([1]);
      return { text, test: (v) => INTEGER.test(v) && BigInt(v) >= min };
    }
    case 'max': {
      const [max = 0n] = numbers([1]);
      return { text, test: (v) => INTEGER.test(v) && BigInt(v) <= max };
    }
    case 'range': {
      const [min = 0n, max = 0n] = numbers([2]);
      return { text, test: (v) => INTEGER.test(v) && BigInt(v) >= min && BigInt(v) <= max };
    }
    case 'minlength': {
      const [min = 0n] = numbers([1]);
      return { text, test: (v) => length(v) >= min };
    }
    case 'maxlength': {
      const [max = 0n] = numbers([1]);
      return { text, test: (v) => length(v) <= max };
    }
    case 'length': {
      const [a = 0n, b] = numbers([1, 2]);
      return { text, test: (v) => (b === undefined ? length(v) === a : length(v) >= a && length(v) <= b) };
    }
    case 'regex': {
      if (args === undefined) fail(`the constraint 'regex' needs a pattern.`);
      let pattern: RegExp;
      try {
        // ASP.NET evaluates regex constraints case-insensitively and unanchored (the pattern anchors itself).
        pattern = new RegExp(args ?? '', 'i');
      } catch (error) {
        return fail(
          `the constraint '${text}' is not a valid regular expression (${(error as Error).message}).`,
        );
      }
      return { text, test: (v) => pattern.test(v) };
    }
    default:
      return fail(
        `the constraint '${name}' is not supported (int, long, bool, guid, alpha, double, datetime, min, max, range, minlength, maxlength, length, regex).`,
      );
  }
}
