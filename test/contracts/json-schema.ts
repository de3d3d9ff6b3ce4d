import { Ajv, type ValidateFunction } from 'ajv';

/**
 * Swagger 2.0 schemas (Azure REST specs) as closed JSON Schemas: an object schema accepts only the properties it
 * declares, `allOf` bases merged in, so that a sandbox answer with a property the spec lacks fails. The specs leave
 * `additionalProperties` open for forward compatibility; a double of the service has no such excuse.
 */

type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The definition a local `#/definitions/X` ref names. */
function resolve(ref: unknown, definitions: Readonly<Record<string, Schema>>): Schema {
  const name = typeof ref === 'string' ? /^#\/definitions\/(.+)$/.exec(ref)?.[1] : undefined;
  const found = name === undefined ? undefined : definitions[name];
  if (!found) throw new Error(`Cannot resolve ${String(ref)} among the spec's definitions.`);
  return found;
}

export function closed(schema: unknown, definitions: Readonly<Record<string, Schema>>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => closed(s, definitions));
  if (!isSchema(schema)) return schema;
  let source = schema;
  if (Array.isArray(source.allOf)) {
    const bases = source.allOf.map((part) =>
      isSchema(part) && part.$ref ? resolve(part.$ref, definitions) : part,
    );
    const { allOf: _allOf, ...rest } = source;
    source = {
      ...rest,
      properties: Object.assign({}, ...bases.map((b) => (isSchema(b) ? b.properties : {})), rest.properties),
      required: [
        ...new Set([
          ...bases.flatMap((b) => (isSchema(b) && Array.isArray(b.required) ? b.required : [])),
          ...(Array.isArray(rest.required) ? rest.required : []),
        ]),
      ],
    };
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    if (key.startsWith('x-')) continue;
    out[key] =
      key === 'properties' && isSchema(value)
        ? Object.fromEntries(Object.entries(value).map(([name, p]) => [name, closed(p, definitions)]))
        : closed(value, definitions);
  }
  if (isSchema(out.properties)) {
    out.type ??= 'object';
    out.additionalProperties ??= false;
  }
  return out;
}

/** Validators for a Swagger document's schemas, closed, compiled once each. */
export function swaggerValidator(document: { definitions?: Record<string, unknown> }) {
  const definitions = Object.fromEntries(
    Object.entries(document.definitions ?? {}).filter((entry): entry is [string, Schema] =>
      isSchema(entry[1]),
    ),
  );
  // Formats (int32, date-time, …) are Swagger's annotations, not checks here: the types carry the contract.
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  // The definitions once, as their own schema; an operation's schema refers into it.
  ajv.addSchema({ definitions: closed(definitions, definitions) }, 'spec');
  const cache = new Map<string, ValidateFunction>();
  return (schema: unknown, value: unknown): string[] => {
    const key = JSON.stringify(schema);
    let validate = cache.get(key);
    if (!validate) {
      const own = JSON.stringify(closed(schema, definitions)).replaceAll(
        '"#/definitions/',
        '"spec#/definitions/',
      );
      validate = ajv.compile(JSON.parse(own) as Schema);
      cache.set(key, validate);
    }
    return validate(value)
      ? []
      : (validate.errors ?? []).map(
          (e) =>
            `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`,
        );
  };
}
