import { domainErrors, VersionConflictError } from '../errors/domain-errors.js';
import type { Stored, TableRow, Tables, TransactionAction } from '../storage/versioned-table.js';
import { deleteListed, withOptimisticRetry } from '../storage/versioned-table.js';
import { tableKeyText } from '../storage/table-key.js';
import type { UserTemplate, UserTemplateInput } from './user-template.js';

export const USER_TEMPLATES_TABLE = 'usertemplates';

/**
 * One partition per customer: `t~{id}` (zero-padded, so the templates list in id order) holds a template, and
 * `n~{name}` (lower case) its name, written in the same transaction: two templates never share a name, and two
 * creates never share an id (the loser's insert fails, and it tries again with the next one).
 */
interface TemplateRow extends TableRow {
  readonly data: string;
}
interface NameRow extends TableRow {
  readonly templateId: number;
}
type Row = TemplateRow | NameRow;

const templateKey = (id: number) => `t~${String(id).padStart(6, '0')}`;
const nameKey = (name: string) => `n~${tableKeyText(name.toLowerCase())}`;
const partitionOf = (customerId: string) => customerId.toLowerCase();

export function createUserTemplateStore(tables: Tables) {
  const table = tables.table<Row>(USER_TEMPLATES_TABLE);

  const stored = (row: Stored<Row>): Stored<UserTemplate> => ({
    value: JSON.parse((row.value as TemplateRow).data) as UserTemplate,
    etag: row.etag,
  });

  const templateRow = (template: UserTemplate): TemplateRow => ({
    partitionKey: partitionOf(template.customerId),
    rowKey: templateKey(template.id),
    data: JSON.stringify(template),
  });

  const nameRow = (template: UserTemplate): NameRow => ({
    partitionKey: partitionOf(template.customerId),
    rowKey: nameKey(template.name),
    templateId: template.id,
  });

  /** A name another template holds: the conflict the caller sees (the name row decided it). */
  async function nameTaken(customerId: string, name: string, except?: number): Promise<boolean> {
    const found = await table.get(partitionOf(customerId), nameKey(name));
    return found !== null && (found.value as NameRow).templateId !== except;
  }

  function takenError(name: string) {
    return domainErrors.conflict(
      'template_name_taken',
      'The name is taken',
      `The customer already has a template named "${name}" (names are compared without case).`,
      [{ field: 'name', in: 'body', code: 'template_name_taken', message: 'Unique name per customer.' }],
    );
  }

  async function list(customerId: string): Promise<Stored<UserTemplate>[]> {
    const found: Stored<UserTemplate>[] = [];
    for await (const row of table.list({ partitionKey: partitionOf(customerId), rowKey: { prefix: 't~' } })) {
      found.push(stored(row));
    }
    return found;
  }

  return {
    /**
     * The customer's templates, with its lifecycle bindings and pass journal (lifecycle-store.ts keeps them in the
     * same partition), for its removal; returns the rows deleted.
     */
    forgetCustomer: (customerId: string): Promise<number> =>
      deleteListed(table, { partitionKey: partitionOf(customerId) }),
    list,

    async get(customerId: string, id: number): Promise<Stored<UserTemplate> | null> {
      const row = await table.get(partitionOf(customerId), templateKey(id));
      return row ? stored(row) : null;
    },

    /** Stores a new template under the next free id; refused when the name is taken or `limit` are stored. */
    async create(
      customerId: string,
      input: UserTemplateInput,
      meta: { readonly at: string; readonly by: string; readonly limit: number },
    ): Promise<Stored<UserTemplate>> {
      return withOptimisticRetry(
        async () => {
          const existing = await list(customerId);
          if (existing.length >= meta.limit) {
            throw domainErrors.limitReached(
              'template_limit_reached',
              'Too many templates',
              `A customer has at most ${meta.limit} templates; delete one first.`,
            );
          }
          const template: UserTemplate = {
            ...input,
            id: Math.max(0, ...existing.map((t) => t.value.id)) + 1,
            customerId,
            createdAt: meta.at,
            updatedAt: meta.at,
            createdBy: meta.by,
          };
          try {
            const [etag = ''] = await table.transaction([
              { kind: 'insert', row: templateRow(template) },
              { kind: 'insert', row: nameRow(template) },
            ]);
            return { value: template, etag };
          } catch (error) {
            if (error instanceof VersionConflictError && (await nameTaken(customerId, input.name))) {
              throw takenError(input.name);
            }
            throw error;
          }
        },
        { attempts: 8 },
      );
    },

    /** Replaces `current` (guarded by its ETag) with `next`; a new name moves the name row in the same transaction. */
    async replace(current: Stored<UserTemplate>, next: UserTemplate): Promise<Stored<UserTemplate>> {
      const renamed = nameKey(current.value.name) !== nameKey(next.name);
      const actions: TransactionAction<Row>[] = [
        { kind: 'replace', row: templateRow(next), etag: current.etag },
      ];
      if (renamed) {
        actions.push(
          { kind: 'delete', partitionKey: partitionOf(next.customerId), rowKey: nameKey(current.value.name) },
          { kind: 'insert', row: nameRow(next) },
        );
      }
      try {
        const [etag = ''] = await table.transaction(actions);
        return { value: next, etag };
      } catch (error) {
        if (
          error instanceof VersionConflictError &&
          renamed &&
          (await nameTaken(next.customerId, next.name, next.id))
        ) {
          throw takenError(next.name);
        }
        throw error;
      }
    },

    /** Removes the template and its name, guarded by its ETag. */
    async remove(current: Stored<UserTemplate>): Promise<void> {
      const partitionKey = partitionOf(current.value.customerId);
      const row = await table.get(partitionKey, templateKey(current.value.id));
      if (!row || row.etag !== current.etag) throw new VersionConflictError();
      await table.transaction([
        { kind: 'delete', partitionKey, rowKey: templateKey(current.value.id) },
        { kind: 'delete', partitionKey, rowKey: nameKey(current.value.name) },
      ]);
    },
  };
}

export type UserTemplateStore = ReturnType<typeof createUserTemplateStore>;
