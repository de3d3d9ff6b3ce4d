import { shortNameKey } from '../customers/short-name.js';
import { EMPTY_PAGES, type WizardPages } from '../onboarding/wizard-pages.js';
import type { Tables } from '../storage/versioned-table.js';
import type { WizardSession } from './wizard-session.js';

export const WIZARD_SESSIONS_TABLE = 'wizardsessions';

type SessionEntity = {
  partitionKey: string;
  rowKey: string;
  owner: string;
  draft: string;
  connection: string;
  m365Settings: string;
  submittedTaskId?: string;
  createdAt: string;
  expiresAt: string;
} & Record<`pages${number}`, string>;

/** A Table property holds 32K UTF-16 characters; thousands of prefixes take several. */
const CHUNK = 30_000;
const MAX_CHUNKS = 24;

function pagesProperties(pages: WizardPages): Record<string, string> {
  const text = JSON.stringify(pages);
  const properties: Record<string, string> = {};
  for (let i = 0; i * CHUNK < text.length; i++) {
    if (i >= MAX_CHUNKS) throw new RangeError('The wizard session is too large.');
    properties[`pages${i}`] = text.slice(i * CHUNK, (i + 1) * CHUNK);
  }
  return properties;
}

function pagesOf(entity: Record<string, unknown>): WizardPages {
  let text = '';
  for (let i = 0; typeof entity[`pages${i}`] === 'string'; i++) text += entity[`pages${i}`] as string;
  return text ? { ...EMPTY_PAGES, ...(JSON.parse(text) as Partial<WizardPages>) } : EMPTY_PAGES;
}

export interface WizardSessionStore {
  get(id: string): Promise<WizardSession | null>;
  create(session: Omit<WizardSession, 'etag'>): Promise<WizardSession>;
  /** Replaces the session if nobody changed it since it was read, else VersionConflictError. */
  replace(
    current: WizardSession,
    next: Omit<WizardSession, 'etag' | 'id' | 'owner' | 'createdAt'>,
  ): Promise<WizardSession>;
  delete(id: string): Promise<void>;
  /**
   * The sessions whose draft names the customer, for its removal: none goes on to act for a later customer of the
   * Short Name. Sessions are few and short-lived; returns the rows deleted.
   */
  forgetCustomer(customerId: string): Promise<number>;
}

/** One partition per session: sessions never need to be listed together. */
export function createWizardSessionStore(tables: Tables): WizardSessionStore {
  const table = tables.table<SessionEntity>(WIZARD_SESSIONS_TABLE);
  const toEntity = (session: Omit<WizardSession, 'etag'>): SessionEntity => ({
    partitionKey: session.id,
    rowKey: 'session',
    owner: session.owner,
    draft: JSON.stringify(session.draft),
    connection: JSON.stringify(session.connection),
    m365Settings: JSON.stringify(session.m365Settings),
    ...(session.submittedTaskId ? { submittedTaskId: session.submittedTaskId } : {}),
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
    ...pagesProperties(session.pages),
  });
  return {
    async get(id) {
      const found = await table.get(id, 'session');
      if (!found) return null;
      const e = found.value;
      return {
        id,
        owner: e.owner,
        draft: JSON.parse(e.draft) as WizardSession['draft'],
        connection: JSON.parse(e.connection) as WizardSession['connection'],
        m365Settings: JSON.parse(e.m365Settings) as WizardSession['m365Settings'],
        pages: pagesOf(e),
        submittedTaskId: e.submittedTaskId ?? null,
        createdAt: e.createdAt,
        expiresAt: e.expiresAt,
        etag: found.etag,
      };
    },
    async create(session) {
      return { ...session, etag: await table.insert(toEntity(session)) };
    },
    async replace(current, next) {
      const session = { ...next, id: current.id, owner: current.owner, createdAt: current.createdAt };
      return { ...session, etag: await table.replace(toEntity(session), current.etag) };
    },
    async delete(id) {
      await table.delete(id, 'session');
    },
    async forgetCustomer(customerId) {
      let deleted = 0;
      for await (const { value } of table.list({ select: ['draft'] })) {
        const draft = JSON.parse(value.draft) as WizardSession['draft'];
        if (draft && shortNameKey(draft.shortName) === shortNameKey(customerId)) {
          if (await table.delete(value.partitionKey, value.rowKey)) deleted++;
        }
      }
      return deleted;
    },
  };
}
