import {
  MAX_TRANSACTION_ACTIONS,
  type Stored,
  type Tables,
  type TransactionAction,
} from '../storage/versioned-table.js';
import type {
  ScriptTemplate,
  ScriptTemplateVersion,
  ScriptTemplateVersionSummary,
} from './script-template.js';
import { SCRIPT_TYPES, type ScriptType, type TemplateVariable } from './script-types.js';

export const SCRIPT_TEMPLATES_TABLE = 'scripttemplates';
/**
 * One partition holds every template and every version: a save writes the template and its new version in one
 * transaction (a version is never lost), and re-pairing or moving "default" touches two templates atomically.
 */
const PARTITION = 'templates';
/** Table string properties hold 64 KiB (32 Ki UTF-16 units); a 64 KB body is split across properties. */
const CHUNK = 30_000;

/** A template as stored: its version rows are keyed by an incarnation, so a re-created id never inherits history. */
export interface StoredTemplate extends ScriptTemplate {
  readonly incarnation: string;
}

export type StoreOperation =
  | { readonly kind: 'create'; readonly template: Omit<StoredTemplate, 'etag'> }
  | { readonly kind: 'replace'; readonly template: Omit<StoredTemplate, 'etag'>; readonly etag: string }
  | { readonly kind: 'delete'; readonly id: string }
  | { readonly kind: 'version'; readonly incarnation: string; readonly version: ScriptTemplateVersion };

export interface ScriptTemplateStore {
  list(): Promise<StoredTemplate[]>;
  get(id: string): Promise<StoredTemplate | null>;
  /**
   * All operations in one transaction; returns the new ETag of every template row written. VersionConflictError
   * when it lost a race (a row exists, is gone, or changed): the caller re-reads and decides.
   */
  commit(operations: readonly StoreOperation[]): Promise<ReadonlyMap<string, string>>;
  versions(id: string, incarnation: string): Promise<ScriptTemplateVersionSummary[]>;
  version(id: string, incarnation: string, version: number): Promise<ScriptTemplateVersion | null>;
  /** Best effort after a delete: the version rows of a removed incarnation are unreachable anyway. */
  deleteVersions(id: string, incarnation: string): Promise<void>;
}

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const currentKey = (id: string) => `T|${id}`;
const versionPrefix = (id: string, incarnation: string) => `V|${id}|${incarnation}|`;
const versionKey = (id: string, incarnation: string, version: number) =>
  `${versionPrefix(id, incarnation)}${String(version).padStart(6, '0')}`;

export function createScriptTemplateStore(
  tables: Tables,
  tableName = SCRIPT_TEMPLATES_TABLE,
): ScriptTemplateStore {
  const table = tables.table<Entity>(tableName);

  async function listRows(from: string, to: string, select?: string[]) {
    const rows: Stored<Entity>[] = [];
    const found = table.list({
      partitionKey: PARTITION,
      rowKey: { ge: from, lt: to },
      ...(select ? { select } : {}),
    });
    for await (const row of found) rows.push(row);
    return rows;
  }

  return {
    async list() {
      return (await listRows('T|', 'T}')).map(toTemplate);
    },

    async get(id) {
      const found = await table.get(PARTITION, currentKey(id));
      return found ? toTemplate(found) : null;
    },

    async commit(operations) {
      const actions = operations.map((op): TransactionAction<Entity> => {
        switch (op.kind) {
          case 'create':
            return { kind: 'insert', row: templateEntity(op.template) };
          case 'replace':
            return { kind: 'replace', row: templateEntity(op.template), etag: op.etag };
          case 'delete':
            // A transaction's delete is unconditional; the service checked the ETag just before.
            return { kind: 'delete', partitionKey: PARTITION, rowKey: currentKey(op.id) };
          case 'version':
            return { kind: 'insert', row: versionEntity(op.incarnation, op.version) };
        }
      });
      const written = await table.transaction(actions);
      const etags = new Map<string, string>();
      operations.forEach((op, i) => {
        const etag = written[i];
        if ((op.kind === 'create' || op.kind === 'replace') && etag) etags.set(op.template.id, etag);
      });
      return etags;
    },

    async versions(id, incarnation) {
      const prefix = versionPrefix(id, incarnation);
      const rows = await listRows(prefix, `${prefix}~`, [
        'templateId',
        'version',
        'change',
        'name',
        'type',
        'updatedAt',
        'updatedBy',
      ]);
      return rows.map(({ value: row }) => ({
        templateId: String(row.templateId),
        version: Number(row.version),
        change: toChange(row.change),
        name: String(row.name),
        type: toType(row.type),
        updatedAt: String(row.updatedAt),
        updatedBy: String(row.updatedBy),
      }));
    },

    async version(id, incarnation, version) {
      const found = await table.get(PARTITION, versionKey(id, incarnation, version));
      return found ? toVersion(found.value) : null;
    },

    async deleteVersions(id, incarnation) {
      const prefix = versionPrefix(id, incarnation);
      const rows = await listRows(prefix, `${prefix}~`, []);
      for (let i = 0; i < rows.length; i += MAX_TRANSACTION_ACTIONS) {
        await table.transaction(
          rows
            .slice(i, i + MAX_TRANSACTION_ACTIONS)
            .map(({ value }) => ({ kind: 'delete', partitionKey: PARTITION, rowKey: value.rowKey })),
        );
      }
    },
  };
}

function bodyProperties(body: string): Record<string, string | number> {
  const properties: Record<string, string | number> = {};
  let chunks = 0;
  let start = 0;
  do {
    let end = Math.min(start + CHUNK, body.length);
    // Never split a surrogate pair between two properties.
    if (end < body.length && /[\uD800-\uDBFF]/.test(body.charAt(end - 1))) end--;
    properties[`body${chunks}`] = body.slice(start, end);
    chunks++;
    start = end;
  } while (start < body.length);
  properties.bodyChunks = chunks;
  return properties;
}

function readBody(entity: Entity): string {
  const chunks = Number(entity.bodyChunks ?? 0);
  let body = '';
  for (let i = 0; i < chunks; i++) body += String(entity[`body${i}`] ?? '');
  return body;
}

function templateEntity(t: Omit<StoredTemplate, 'etag'>): Entity {
  return {
    partitionKey: PARTITION,
    rowKey: currentKey(t.id),
    id: t.id,
    name: t.name,
    type: t.type,
    description: t.description,
    ...bodyProperties(t.body),
    variables: JSON.stringify(t.variables),
    pairedTemplateId: t.pairedTemplateId ?? '',
    isDefault: t.isDefault,
    builtIn: t.builtIn,
    version: t.version,
    incarnation: t.incarnation,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    updatedBy: t.updatedBy,
  };
}

function versionEntity(incarnation: string, v: ScriptTemplateVersion): Entity {
  return {
    partitionKey: PARTITION,
    rowKey: versionKey(v.templateId, incarnation, v.version),
    templateId: v.templateId,
    version: v.version,
    change: v.change,
    name: v.name,
    type: v.type,
    description: v.description,
    ...bodyProperties(v.body),
    variables: JSON.stringify(v.variables),
    pairedTemplateId: v.pairedTemplateId ?? '',
    updatedAt: v.updatedAt,
    updatedBy: v.updatedBy,
  };
}

function toType(value: unknown): ScriptType {
  const type = SCRIPT_TYPES.find((t) => t === value);
  if (!type) throw new Error(`Stored script template has an unknown type ${String(value)}.`);
  return type;
}

function toChange(value: unknown): ScriptTemplateVersion['change'] {
  return value === 'created' || value === 'reset' ? value : 'updated';
}

function toVariables(value: unknown): TemplateVariable[] {
  return typeof value === 'string' && value ? (JSON.parse(value) as TemplateVariable[]) : [];
}

function toTemplate({ value: entity, etag }: Stored<Entity>): StoredTemplate {
  return {
    id: String(entity.id),
    name: String(entity.name),
    type: toType(entity.type),
    description: String(entity.description ?? ''),
    body: readBody(entity),
    variables: toVariables(entity.variables),
    pairedTemplateId: entity.pairedTemplateId ? String(entity.pairedTemplateId) : null,
    isDefault: entity.isDefault === true,
    builtIn: entity.builtIn === true,
    version: Number(entity.version),
    incarnation: String(entity.incarnation),
    createdAt: String(entity.createdAt),
    updatedAt: String(entity.updatedAt),
    updatedBy: String(entity.updatedBy),
    etag,
  };
}

function toVersion(entity: Entity): ScriptTemplateVersion {
  return {
    templateId: String(entity.templateId),
    version: Number(entity.version),
    change: toChange(entity.change),
    name: String(entity.name),
    type: toType(entity.type),
    description: String(entity.description ?? ''),
    body: readBody(entity),
    variables: toVariables(entity.variables),
    pairedTemplateId: entity.pairedTemplateId ? String(entity.pairedTemplateId) : null,
    updatedAt: String(entity.updatedAt),
    updatedBy: String(entity.updatedBy),
  };
}
