import { shortNameKey } from '../customers/short-name.js';
import type { Tables } from '../storage/versioned-table.js';
import type { ConsentFlow, SignInLaunch } from './consent-flow.js';

export const CONSENT_FLOWS_TABLE = 'consentflows';
const PARTITION = 'flow';
const LAUNCH_PARTITION = 'launch';

export interface ConsentFlowStore {
  create(flow: Omit<ConsentFlow, 'etag'>): Promise<ConsentFlow>;
  get(id: string): Promise<ConsentFlow | null>;
  /**
   * Writes the flow if it is still at `current.etag`, else VersionConflictError (another request changed it first:
   * a second poll, a replayed callback).
   */
  replace(current: ConsentFlow, next: Omit<ConsentFlow, 'etag'>): Promise<ConsentFlow>;
  /**
   * The flows of the customer's invitation or wizard sessions, for its removal, so that no sign-in under way
   * completes for the customer; returns the rows deleted.
   */
  forgetCustomer(customerId: string): Promise<number>;
}

type FlowEntity = { partitionKey: string; rowKey: string; document: string; expiresAt: string };

/** One row per flow; its secrets are sealed before they reach the document. */
export function createConsentFlowStore(tables: Tables): ConsentFlowStore {
  const table = tables.table<FlowEntity>(CONSENT_FLOWS_TABLE);
  const entity = (flow: Omit<ConsentFlow, 'etag'>): FlowEntity => {
    // A flow read back carries its ETag; it belongs to the row, not to the document.
    const { etag: _etag, ...document } = flow as Omit<ConsentFlow, 'etag'> & { etag?: string };
    return {
      partitionKey: PARTITION,
      rowKey: flow.id,
      document: JSON.stringify(document),
      expiresAt: flow.expiresAt,
    };
  };
  return {
    async create(flow) {
      return { ...flow, etag: await table.insert(entity(flow)) };
    },
    async get(id) {
      const found = await table.get(PARTITION, id);
      return found
        ? { ...(JSON.parse(found.value.document) as Omit<ConsentFlow, 'etag'>), etag: found.etag }
        : null;
    },
    async forgetCustomer(customerId) {
      const key = shortNameKey(customerId);
      let deleted = 0;
      for await (const { value } of table.list({ partitionKey: PARTITION })) {
        const { subject } = JSON.parse(value.document) as Pick<ConsentFlow, 'subject'>;
        const of = subject.type === 'invitation' ? subject.invitationId : subject.customerId;
        if (shortNameKey(of) === key && (await table.delete(PARTITION, value.rowKey))) deleted++;
      }
      // The wizard's unopened Sign in now links too: one opened later would start a sign-in for the customer.
      for await (const { value } of table.list({ partitionKey: LAUNCH_PARTITION })) {
        const { subject } = JSON.parse(value.document) as Pick<SignInLaunch, 'subject'>;
        if (shortNameKey(subject.customerId) === key && (await table.delete(LAUNCH_PARTITION, value.rowKey)))
          deleted++;
      }
      return deleted;
    },
    async replace(current, next) {
      return { ...next, etag: await table.replace(entity(next), current.etag) };
    },
  };
}

export interface SignInLaunchStore {
  create(launch: Omit<SignInLaunch, 'etag'>): Promise<SignInLaunch>;
  get(tokenHash: string): Promise<SignInLaunch | null>;
  /** Writes the launch if it is still at `current.etag`, else VersionConflictError (opened twice at once). */
  replace(current: SignInLaunch, next: Omit<SignInLaunch, 'etag'>): Promise<SignInLaunch>;
}

/** One row per launch link, keyed by its token's hash, beside the flows it starts. */
export function createSignInLaunchStore(tables: Tables): SignInLaunchStore {
  const table = tables.table<FlowEntity>(CONSENT_FLOWS_TABLE);
  const entity = (launch: Omit<SignInLaunch, 'etag'>): FlowEntity => {
    const { etag: _etag, ...document } = launch as Omit<SignInLaunch, 'etag'> & { etag?: string };
    return {
      partitionKey: LAUNCH_PARTITION,
      rowKey: launch.tokenHash,
      document: JSON.stringify(document),
      expiresAt: launch.expiresAt,
    };
  };
  return {
    async create(launch) {
      return { ...launch, etag: await table.insert(entity(launch)) };
    },
    async get(tokenHash) {
      const found = await table.get(LAUNCH_PARTITION, tokenHash);
      return found
        ? { ...(JSON.parse(found.value.document) as Omit<SignInLaunch, 'etag'>), etag: found.etag }
        : null;
    },
    async replace(current, next) {
      return { ...next, etag: await table.replace(entity(next), current.etag) };
    },
  };
}
