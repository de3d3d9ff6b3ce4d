import { randomBytes } from 'node:crypto';
import { DomainError, domainErrors, type FieldError, VersionConflictError } from '../errors/domain-errors.js';
import { withOptimisticRetry } from '../storage/versioned-table.js';
import { renderPowerShell } from '../teams/powershell.js';
import type { TeamsCommand } from '../teams/teams-command.js';
import { BUILT_IN_TEMPLATES, type BuiltInTemplate, builtInTemplate } from './builtin-templates.js';
import type {
  CreateTemplateInput,
  PreviewInput,
  ScriptTemplate,
  ScriptTemplateVersion,
  ScriptTemplateVersionSummary,
  UpdateTemplateInput,
  VersionChange,
} from './script-template.js';
import {
  type ScriptTemplateStore,
  type StoredTemplate,
  type StoreOperation,
} from './script-template-store.js';
import {
  counterpartType,
  familyOf,
  hasWizardDefault,
  type ScriptFamily,
  type ScriptType,
  type TemplateVariable,
} from './script-types.js';
import {
  checkTemplate,
  parseCommandLines,
  renderTemplate,
  TemplateRenderError,
  type TemplateIssue,
} from './template-compiler.js';
import { mergeContext, SAMPLE_CONTEXT, type TemplateContext } from './template-context.js';

/** A template rendered for a customer: CLI text for the SBC, or Teams commands (with their PowerShell lines). */
export interface RenderedScript {
  readonly templateId: string;
  readonly type: ScriptType;
  readonly text: string;
  /** M365 templates only. */
  readonly commands?: readonly {
    readonly line: number;
    readonly command: TeamsCommand;
    readonly powerShell: string;
  }[];
}

export interface ScriptTemplateService {
  list(filter?: { type?: ScriptType; family?: ScriptFamily }): Promise<ScriptTemplate[]>;
  get(id: string): Promise<ScriptTemplate>;
  create(input: CreateTemplateInput, by: string): Promise<ScriptTemplate>;
  update(id: string, input: UpdateTemplateInput, by: string, ifMatch?: string): Promise<ScriptTemplate>;
  remove(id: string, ifMatch?: string): Promise<void>;
  /** Built-ins only: back to the shipped name, description, body and Customer Variables, as a new version. */
  reset(id: string, by: string, ifMatch?: string): Promise<ScriptTemplate>;
  versions(id: string): Promise<ScriptTemplateVersionSummary[]>;
  version(id: string, version: number): Promise<ScriptTemplateVersion>;
  /** Renders with a sample customer, overridden by what the caller gives. */
  preview(id: string, input: PreviewInput): Promise<RenderedScript>;
  /** What onboarding and background tasks run: the stored template rendered for a real customer. */
  render(id: string, context: TemplateContext): Promise<RenderedScript>;
  /** Whether a built-in's content differs from the shipped text. */
  isCustomized(template: ScriptTemplate): boolean;
}

export interface ScriptTemplateServiceOptions {
  readonly store: ScriptTemplateStore;
  readonly now?: () => Date;
}

/** Every attempt re-reads, so If-Match and pairing are checked afresh; a few suffice unless a burst keeps on. */
const RETRY = { attempts: 10, baseDelayMs: 20, maxDelayMs: 200 } as const;
const SYSTEM = 'system';

export function createScriptTemplateService({
  store,
  now = () => new Date(),
}: ScriptTemplateServiceOptions): ScriptTemplateService {
  let seeded: Promise<void> | undefined;

  /** Creates the missing built-ins in one transaction; a concurrent seeder's win is simply re-read. */
  function ensureSeeded(): Promise<void> {
    seeded ??= seed().catch((error: unknown) => {
      seeded = undefined;
      throw error;
    });
    return seeded;
  }

  async function seed(): Promise<void> {
    await withOptimisticRetry(async () => {
      const existing = await store.list();
      const have = new Set(existing.map((t) => t.id));
      const missing = BUILT_IN_TEMPLATES.filter((b) => !have.has(b.id));
      if (missing.length === 0) return;
      const batch = new Set(missing.map((b) => b.id));
      const defaultTaken = new Set(existing.filter((t) => t.isDefault).map((t) => t.type));
      const at = now().toISOString();
      const operations = missing.flatMap((b): StoreOperation[] => {
        const template: Omit<StoredTemplate, 'etag'> = {
          ...shipped(b),
          pairedTemplateId: b.pairedTemplateId && batch.has(b.pairedTemplateId) ? b.pairedTemplateId : null,
          isDefault: b.isDefault && !defaultTaken.has(b.type),
          builtIn: true,
          version: 1,
          incarnation: newIncarnation(),
          createdAt: at,
          updatedAt: at,
          updatedBy: SYSTEM,
        };
        return [
          { kind: 'create', template },
          { kind: 'version', incarnation: template.incarnation, version: versionOf(template, 'created') },
        ];
      });
      await store.commit(operations);
    }, RETRY);
  }

  async function getStored(id: string): Promise<StoredTemplate> {
    await ensureSeeded();
    const template = await store.get(id.toLowerCase());
    if (!template) throw domainErrors.notFound(`There is no script template "${id}".`);
    return template;
  }

  function checkVersion(template: StoredTemplate, ifMatch: string | undefined): void {
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== template.etag) {
      // Not a VersionConflictError: that is a race optimistic() retries, and a stale If-Match stays stale.
      throw new DomainError('version_mismatch', {
        code: 'precondition_failed',
        title: 'Precondition failed',
        detail: `Script template "${template.id}" was changed since you read it (now version ${template.version}); reload it.`,
      });
    }
  }

  /** Runs a read-check-write until it wins; every attempt re-reads, so If-Match and pairing are checked afresh. */
  async function optimistic<T>(attempt: () => Promise<T>): Promise<T> {
    await ensureSeeded();
    try {
      return await withOptimisticRetry(attempt, RETRY);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      throw domainErrors.conflict(
        'concurrent_change',
        'Concurrent change',
        'Script templates are being changed by someone else right now; try again.',
      );
    }
  }

  function validateContent(template: {
    type: ScriptType;
    body: string;
    variables: readonly TemplateVariable[];
  }): void {
    const issues = checkTemplate(template);
    if (issues.length > 0) throw templateInvalid(issues);
  }

  /**
   * The writes that keep pairing mutual and one default per type, after `self` (already validated) is saved:
   * the old counterpart is released, the new one pointed back, another default of the type cleared.
   */
  function relatedChanges(
    self: Omit<StoredTemplate, 'etag'>,
    previousPair: string | null,
    all: readonly StoredTemplate[],
  ): StoreOperation[] {
    const byId = new Map(all.map((t) => [t.id, t]));
    const changed = new Map<string, StoredTemplate>();
    const edit = (id: string, change: Partial<StoredTemplate>) => {
      const base = changed.get(id) ?? byId.get(id);
      if (base) changed.set(id, { ...base, ...change });
    };
    const pair = self.pairedTemplateId;
    if (pair) {
      const target = byId.get(pair);
      if (!target) {
        throw domainErrors.validation([
          fieldError('pairedTemplateId', 'not_found', `There is no script template "${pair}" to pair with.`),
        ]);
      }
      if (target.id === self.id) {
        throw domainErrors.validation([
          fieldError('pairedTemplateId', 'pairing_self', 'A template cannot be paired with itself.'),
        ]);
      }
      const expected = counterpartType(self.type);
      if (target.type !== expected) {
        throw domainErrors.validation([
          fieldError(
            'pairedTemplateId',
            'pairing_type_mismatch',
            `A ${self.type} template pairs with a ${expected} template; "${target.id}" is ${target.type}.`,
          ),
        ]);
      }
      if (target.pairedTemplateId && target.pairedTemplateId !== self.id) {
        throw domainErrors.conflict(
          'pairing_conflict',
          'Already paired',
          `"${target.id}" is paired with "${target.pairedTemplateId}"; unpair them first.`,
        );
      }
      if (target.pairedTemplateId !== self.id) edit(target.id, { pairedTemplateId: self.id });
    }
    if (previousPair && previousPair !== pair && byId.get(previousPair)?.pairedTemplateId === self.id) {
      edit(previousPair, { pairedTemplateId: null });
    }
    if (self.isDefault) {
      if (!hasWizardDefault(self.type)) {
        throw domainErrors.validation([
          fieldError('isDefault', 'not_allowed', 'Background scripts are not offered in the wizard.'),
        ]);
      }
      for (const other of all) {
        if (other.id !== self.id && other.type === self.type && other.isDefault) {
          edit(other.id, { isDefault: false });
        }
      }
    }
    return [...changed.values()].map((t): StoreOperation => ({
      kind: 'replace',
      template: withoutEtag(t),
      etag: t.etag,
    }));
  }

  async function save(
    self: Omit<StoredTemplate, 'etag'>,
    current: StoredTemplate | null,
    change: VersionChange,
    all: readonly StoredTemplate[],
  ): Promise<ScriptTemplate> {
    const main: StoreOperation = current
      ? { kind: 'replace', template: self, etag: current.etag }
      : { kind: 'create', template: self };
    const etags = await store.commit([
      main,
      { kind: 'version', incarnation: self.incarnation, version: versionOf(self, change) },
      ...relatedChanges(self, current?.pairedTemplateId ?? null, all),
    ]);
    return publicView({ ...self, etag: etags.get(self.id) ?? '' });
  }

  async function rendered(template: StoredTemplate, context: TemplateContext): Promise<RenderedScript> {
    const text = renderTemplate(template, context);
    if (familyOf(template.type) === 'sbc') return { templateId: template.id, type: template.type, text };
    const commands = parseCommandLines(text).map((c) => ({
      line: c.line,
      command: c.command,
      powerShell: renderPowerShell(c.command),
    }));
    return { templateId: template.id, type: template.type, text, commands };
  }

  return {
    async list(filter = {}) {
      await ensureSeeded();
      const all = await store.list();
      return all
        .filter((t) => !filter.type || t.type === filter.type)
        .filter((t) => !filter.family || familyOf(t.type) === filter.family)
        .map(publicView);
    },

    async get(id) {
      return publicView(await getStored(id));
    },

    create(input, by) {
      validateContent(input);
      return optimistic(async () => {
        const all = await store.list();
        if (all.some((t) => t.id === input.id)) {
          throw domainErrors.conflict(
            'template_exists',
            'Template exists',
            `A script template "${input.id}" already exists.`,
          );
        }
        const at = now().toISOString();
        const template: Omit<StoredTemplate, 'etag'> = {
          id: input.id,
          name: input.name,
          type: input.type,
          description: input.description,
          body: input.body,
          variables: input.variables,
          pairedTemplateId: input.pairedTemplateId,
          isDefault: input.isDefault,
          builtIn: false,
          version: 1,
          incarnation: newIncarnation(),
          createdAt: at,
          updatedAt: at,
          updatedBy: by,
        };
        return save(template, null, 'created', all);
      });
    },

    update(id, input, by, ifMatch) {
      return optimistic(async () => {
        const current = await getStored(id);
        checkVersion(current, ifMatch);
        if (current.builtIn && input.type !== current.type) {
          throw domainErrors.conflict(
            'builtin_type_fixed',
            'Built-in type is fixed',
            `"${current.id}" is a built-in ${current.type} script; its type cannot change.`,
          );
        }
        const variables = input.variables ?? current.variables;
        validateContent({ type: input.type, body: input.body, variables });
        const next: Omit<StoredTemplate, 'etag'> = {
          ...withoutEtag(current),
          name: input.name,
          type: input.type,
          description: input.description ?? current.description,
          body: input.body,
          variables,
          pairedTemplateId:
            input.pairedTemplateId === undefined ? current.pairedTemplateId : input.pairedTemplateId,
          isDefault:
            input.isDefault ??
            (current.isDefault && input.type === current.type && hasWizardDefault(input.type)),
          version: current.version + 1,
          updatedAt: now().toISOString(),
          updatedBy: by,
        };
        return save(next, current, 'updated', await store.list());
      });
    },

    async remove(id, ifMatch) {
      const removed = await optimistic(async () => {
        const current = await getStored(id);
        checkVersion(current, ifMatch);
        if (current.builtIn) {
          throw domainErrors.conflict(
            'builtin_not_deletable',
            'Built-in template',
            `"${current.id}" is a built-in template; it cannot be deleted, only reset (POST …/reset).`,
          );
        }
        const all = await store.list();
        const released = all.find(
          (t) => t.id === current.pairedTemplateId && t.pairedTemplateId === current.id,
        );
        await store.commit([
          { kind: 'delete', id: current.id },
          ...(released
            ? [
                {
                  kind: 'replace',
                  template: { ...withoutEtag(released), pairedTemplateId: null },
                  etag: released.etag,
                } as const,
              ]
            : []),
        ]);
        return current;
      });
      await store.deleteVersions(removed.id, removed.incarnation).catch(() => undefined);
    },

    reset(id, by, ifMatch) {
      return optimistic(async () => {
        const current = await getStored(id);
        checkVersion(current, ifMatch);
        const original = builtInTemplate(current.id);
        if (!current.builtIn || !original) {
          throw domainErrors.conflict(
            'not_builtin',
            'Not a built-in template',
            `"${current.id}" is not a built-in template; there is no shipped text to reset it to.`,
          );
        }
        const next: Omit<StoredTemplate, 'etag'> = {
          ...withoutEtag(current),
          ...shipped(original),
          pairedTemplateId: current.pairedTemplateId,
          version: current.version + 1,
          updatedAt: now().toISOString(),
          updatedBy: by,
        };
        return save(next, current, 'reset', await store.list());
      });
    },

    async versions(id) {
      const template = await getStored(id);
      const versions = await store.versions(template.id, template.incarnation);
      return versions.sort((a, b) => b.version - a.version);
    },

    async version(id, version) {
      const template = await getStored(id);
      const found = await store.version(template.id, template.incarnation, version);
      if (!found) throw domainErrors.notFound(`Script template "${template.id}" has no version ${version}.`);
      return found;
    },

    async preview(id, input) {
      const template = await getStored(id);
      const context = mergeContext(SAMPLE_CONTEXT, input.context);
      try {
        return await rendered(template, { ...context, CustomVar: input.customVariables });
      } catch (error) {
        throw renderProblem(error);
      }
    },

    async render(id, context) {
      return rendered(await getStored(id), context);
    },

    isCustomized(template) {
      const original = template.builtIn ? builtInTemplate(template.id) : undefined;
      if (!original) return false;
      const shippedContent = shipped(original);
      return (
        template.name !== shippedContent.name ||
        template.description !== shippedContent.description ||
        template.body !== shippedContent.body ||
        JSON.stringify(template.variables) !== JSON.stringify(shippedContent.variables)
      );
    },
  };
}

function shipped(b: BuiltInTemplate) {
  return {
    id: b.id,
    name: b.name,
    type: b.type,
    description: b.description,
    body: b.body,
    variables: b.variables,
  };
}

function newIncarnation(): string {
  return randomBytes(6).toString('base64url');
}

function withoutEtag(template: StoredTemplate): Omit<StoredTemplate, 'etag'> {
  const { etag: _etag, ...rest } = template;
  return rest;
}

function publicView(template: StoredTemplate): ScriptTemplate {
  const { incarnation: _incarnation, ...rest } = template;
  return rest;
}

function versionOf(t: Omit<StoredTemplate, 'etag'>, change: VersionChange): ScriptTemplateVersion {
  return {
    templateId: t.id,
    version: t.version,
    change,
    name: t.name,
    type: t.type,
    description: t.description,
    body: t.body,
    variables: t.variables,
    pairedTemplateId: t.pairedTemplateId,
    updatedAt: t.updatedAt,
    updatedBy: t.updatedBy,
  };
}

function fieldError(field: string, code: string, message: string): FieldError {
  return { field, in: 'body', code, message };
}

/** 400 `template_invalid`: one field error per issue, on `body`, with line and column where known. */
export function templateInvalid(issues: readonly TemplateIssue[]): DomainError {
  const errors = issues.map((issue) => ({
    field: 'body',
    in: 'body' as const,
    code: issue.code,
    message: issue.line ? `Line ${issue.line}: ${issue.message}` : issue.message,
    ...(issue.line !== undefined ? { line: issue.line } : {}),
    ...(issue.column !== undefined ? { column: issue.column } : {}),
  }));
  return new DomainError('validation', {
    code: 'template_invalid',
    title: 'Invalid template',
    detail: 'The template was not saved; see errors.',
    fields: errors,
  });
}

function renderProblem(error: unknown): unknown {
  if (!(error instanceof TemplateRenderError)) return error;
  switch (error.code) {
    case 'custom_variable_missing':
      return domainErrors.validation([
        fieldError(`customVariables.${String(error.at)}`, 'required', error.message),
      ]);
    case 'unsafe_value':
      return domainErrors.validation([
        fieldError(error.at ? `context.${String(error.at)}` : 'context', 'unsafe_value', error.message),
      ]);
    case 'quote_unbalanced':
      return templateInvalid([{ code: 'quote_unbalanced', message: error.message }]);
    case 'command_invalid':
      return new DomainError('validation', {
        code: 'render_failed',
        title: 'Rendering failed',
        detail: `With these values, ${error.message}`,
      });
    default: {
      // A new code without a case would otherwise be thrown as `undefined` (a 500).
      const unhandled: never = error.code;
      return unhandled;
    }
  }
}
