import { readFileSync } from 'node:fs';
import { specPath } from './specs.js';

/**
 * The cut Microsoft Graph v1.0 CSDL (dev/contracts/specs/graph/v1.0-metadata.cut.xml), read into a model that
 * checks a JSON response as Graph's OData JSON would have it: every key a declared property, every value of its
 * declared type, enum member and nullability. The cut's elements are the pinned file's, verbatim and regularly
 * indented, so a few regular expressions read it.
 */

interface CsdlProperty {
  readonly type: string;
  readonly collection: boolean;
  readonly nullable: boolean;
  readonly navigation: boolean;
}

interface CsdlType {
  readonly name: string;
  readonly kind: 'EntityType' | 'ComplexType' | 'EnumType';
  readonly base: string | undefined;
  readonly properties: ReadonlyMap<string, CsdlProperty>;
  readonly members: readonly string[];
  readonly flags: boolean;
}

/** What an `@odata.context` URL says the payload is. */
export interface ContextTarget {
  readonly type: string;
  readonly collection: boolean;
  /** The `$select` list the context echoes, if any. */
  readonly select: readonly string[] | undefined;
}

/** Instance annotations Graph puts on entities and payloads (OData JSON format §18, delta's `@removed`). */
const INSTANCE_ANNOTATIONS = new Set([
  '@odata.context',
  '@odata.type',
  '@odata.id',
  '@odata.etag',
  '@odata.nextLink',
  '@odata.deltaLink',
  '@odata.count',
  '@removed',
]);

const PRIMITIVES: Readonly<Record<string, (value: unknown) => boolean>> = {
  'Edm.String': (v) => typeof v === 'string',
  'Edm.Boolean': (v) => typeof v === 'boolean',
  'Edm.Int16': Number.isInteger,
  'Edm.Int32': Number.isInteger,
  // IEEE754Compatible=false, the content type Graph and the sandbox answer with: 64-bit integers as numbers.
  'Edm.Int64': Number.isInteger,
  'Edm.Byte': Number.isInteger,
  'Edm.Double': (v) => typeof v === 'number',
  'Edm.Single': (v) => typeof v === 'number',
  'Edm.Decimal': (v) => typeof v === 'number',
  'Edm.Guid': (v) =>
    typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  'Edm.DateTimeOffset': (v) =>
    typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)$/.test(v),
  'Edm.Date': (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\d$/.test(v),
  'Edm.TimeOfDay': (v) => typeof v === 'string' && /^\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v),
  'Edm.Duration': (v) => typeof v === 'string' && /^-?P/.test(v),
  'Edm.Binary': (v) => typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v),
  'Edm.Stream': (v) => typeof v === 'string',
  'Edm.Untyped': () => true,
};

export class Csdl {
  private readonly types = new Map<string, CsdlType>();
  private readonly sources = new Map<string, { type: string; collection: boolean }>();
  private readonly aliases = new Map<string, string>();

  constructor(xml: string) {
    for (const [, namespace = '', alias, body = ''] of xml.matchAll(
      /<Schema Namespace="([^"]+)"(?: Alias="([^"]+)")?[^>]*>([\s\S]*?)<\/Schema>/g,
    )) {
      this.aliases.set(namespace, namespace);
      if (alias) this.aliases.set(alias, namespace);
      for (const [, kind, attributes = '', content = ''] of body.matchAll(
        /^ {6}<(EntityType|ComplexType|EnumType)\b([^>]*?)(?:\/>|>([\s\S]*?)^ {6}<\/\1>)$/gm,
      )) {
        const name = `${namespace}.${attribute(attributes, 'Name')}`;
        const properties = new Map<string, CsdlProperty>();
        for (const [, element, attrs = ''] of content.matchAll(
          /<(Property|NavigationProperty)\s([^>]*?)\/?>/g,
        )) {
          const declared = attribute(attrs, 'Type') ?? '';
          const inner = /^Collection\((.+)\)$/.exec(declared)?.[1];
          properties.set(attribute(attrs, 'Name') ?? '', {
            type: inner ?? declared,
            collection: inner !== undefined,
            nullable: attribute(attrs, 'Nullable') !== 'false',
            navigation: element === 'NavigationProperty',
          });
        }
        this.types.set(name, {
          name,
          kind: kind as CsdlType['kind'],
          base: attribute(attributes, 'BaseType'),
          properties,
          members: [...content.matchAll(/<Member Name="([^"]+)"/g)].map((m) => m[1] ?? ''),
          flags: attribute(attributes, 'IsFlags') === 'true',
        });
      }
      for (const [, kind, attrs = ''] of body.matchAll(/<(EntitySet|Singleton)\s([^>]*?)\/?>/g)) {
        this.sources.set(attribute(attrs, 'Name') ?? '', {
          type: attribute(attrs, kind === 'EntitySet' ? 'EntityType' : 'Type') ?? '',
          collection: kind === 'EntitySet',
        });
      }
    }
  }

  /** The qualified name (`graph.user` → `microsoft.graph.user`). */
  qualify(name: string): string {
    if (name.startsWith('Edm.')) return name;
    const dot = name.lastIndexOf('.');
    const namespace = this.aliases.get(name.slice(0, dot));
    return namespace ? `${namespace}${name.slice(dot)}` : name;
  }

  private type(name: string): CsdlType {
    const type = this.types.get(this.qualify(name));
    if (!type)
      throw new Error(`The cut CSDL has no type ${name}; regenerate it with dev/contracts/cut-graph.mjs.`);
    return type;
  }

  has(name: string): boolean {
    return this.types.has(this.qualify(name));
  }

  /** A property or navigation property of the type or one of its base types. */
  property(typeName: string, name: string): CsdlProperty | undefined {
    for (let type: CsdlType | undefined = this.type(typeName); type;) {
      const found = type.properties.get(name);
      if (found) return found;
      type = type.base ? this.type(type.base) : undefined;
    }
    return undefined;
  }

  isA(typeName: string, baseName: string): boolean {
    const base = this.qualify(baseName);
    for (let type: CsdlType | undefined = this.type(typeName); type;) {
      if (type.name === base) return true;
      type = type.base ? this.type(type.base) : undefined;
    }
    return false;
  }

  /** Resolves `…/$metadata#users(id,displayName)/$entity`, `domains('x')/verificationDnsRecords`, `admin/teams/…`. */
  resolveContext(context: string): ContextTarget {
    const fragment = decodeURIComponent(context.slice(context.indexOf('#') + 1));
    const collectionOf = /^Collection\((.+)\)$/.exec(fragment)?.[1];
    if (collectionOf) return { type: this.qualify(collectionOf), collection: true, select: undefined };
    const segments = fragment.split('/');
    const entity = segments.at(-1) === '$entity';
    if (entity) segments.pop();
    let target: { type: string; collection: boolean } | undefined;
    let select: string[] | undefined;
    for (const [index, segment] of segments.entries()) {
      const [, name = '', parenthesised] = /^([^(]+)(?:\((.*)\))?$/.exec(segment) ?? [];
      if (!target) {
        target = this.sources.get(name);
        if (!target) throw new Error(`@odata.context ${context}: no entity set or singleton '${name}'`);
      } else if (this.types.has(this.qualify(name))) {
        target = { type: this.qualify(name), collection: target.collection };
      } else {
        const navigation = this.property(target.type, name);
        if (!navigation?.navigation) {
          throw new Error(`@odata.context ${context}: ${target.type} has no navigation property '${name}'`);
        }
        target = { type: this.qualify(navigation.type), collection: navigation.collection };
      }
      if (parenthesised !== undefined) {
        const isKey = /^'.*'$/.test(parenthesised) || /^[0-9a-f-]{36}$/i.test(parenthesised);
        if (isKey) target = { ...target, collection: false };
        else if (index === segments.length - 1) select = parenthesised.split(',');
        else throw new Error(`@odata.context ${context}: a select list before the last segment`);
      }
    }
    if (!target) throw new Error(`@odata.context ${context}: empty`);
    return { type: this.qualify(target.type), collection: entity ? false : target.collection, select };
  }

  /** What is wrong with `value` as an instance of the structured type `typeName`; empty when nothing is. */
  validate(value: unknown, typeName: string, path = '$'): string[] {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return [`${path}: expected an object of ${typeName}, got ${JSON.stringify(value)}`];
    }
    const record = value as Record<string, unknown>;
    let actual = this.qualify(typeName);
    const cast = record['@odata.type'];
    if (cast !== undefined) {
      const named = typeof cast === 'string' ? this.qualify(cast.replace(/^#/, '')) : '';
      if (!this.has(named)) return [`${path}: @odata.type ${String(cast)} is not a type of the CSDL cut`];
      if (!this.isA(named, actual)) return [`${path}: @odata.type ${named} does not derive from ${actual}`];
      actual = named;
    }
    const problems: string[] = [];
    for (const [key, item] of Object.entries(record)) {
      const at = `${path}.${key}`;
      if (key.startsWith('@')) {
        if (!INSTANCE_ANNOTATIONS.has(key)) problems.push(`${at}: unknown instance annotation`);
        continue;
      }
      const annotated = key.indexOf('@');
      const name = annotated > 0 ? key.slice(0, annotated) : key;
      const property = this.property(actual, name);
      if (!property) {
        problems.push(`${at}: ${actual} has no property '${name}'`);
        continue;
      }
      if (annotated > 0) {
        // `members@delta`: the changed members of a navigation property, each a (possibly removed) entity.
        if (key.slice(annotated) !== '@delta' || !property.navigation || !Array.isArray(item)) {
          problems.push(`${at}: unexpected property annotation`);
          continue;
        }
        item.forEach((entry, i) => problems.push(...this.validate(entry, property.type, `${at}[${i}]`)));
        continue;
      }
      problems.push(...this.checkValue(item, property, at));
    }
    return problems;
  }

  private checkValue(value: unknown, property: CsdlProperty, path: string): string[] {
    if (property.collection) {
      if (!Array.isArray(value))
        return [`${path}: expected a collection of ${property.type}, got ${JSON.stringify(value)}`];
      return value.flatMap((item, i) => this.checkSingle(item, property, `${path}[${i}]`));
    }
    return this.checkSingle(value, property, path);
  }

  private checkSingle(value: unknown, property: CsdlProperty, path: string): string[] {
    if (value === null)
      return property.nullable ? [] : [`${path}: null, but ${property.type} is not nullable`];
    const primitive = PRIMITIVES[property.type];
    if (primitive)
      return primitive(value) ? [] : [`${path}: ${JSON.stringify(value)} is not ${property.type}`];
    const type = this.type(property.type);
    if (type.kind === 'EnumType') {
      const values = typeof value === 'string' ? (type.flags ? value.split(/,\s*/) : [value]) : [];
      const bad = values.length === 0 || values.some((v) => !type.members.includes(v));
      return bad
        ? [`${path}: ${JSON.stringify(value)} is not a member of ${type.name} (${type.members.join(', ')})`]
        : [];
    }
    return this.validate(value, type.name, path);
  }
}

function attribute(attributes: string, name: string): string | undefined {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(attributes)?.[1];
}

/** The cut CSDL, read once per test file. */
export function loadGraphCsdl(): Csdl {
  return new Csdl(readFileSync(specPath('graph/v1.0-metadata.cut.xml'), 'utf8'));
}
