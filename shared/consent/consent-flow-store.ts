import { lazyTable, restStatus } from '../storage/table-client.js';
import type { ConsentFlow } from './consent-flow.js';

export const CONSENT_FLOWS_TABLE = 'consentflows';
const PARTITION = 'flow';

/** Another request changed the flow first (a second poll, a replayed callback). */
export class ConsentFlowChangedError extends Error {
  override readonly name = 'ConsentFlowChangedError';
}

export interface ConsentFlowStore {
  create(flow: Omit<ConsentFlow, 'etag'>): Promise<ConsentFlow>;
  get(id: string): Promise<ConsentFlow | null>;
  /** Writes the flow if it is still at `current.etag`, else throws ConsentFlowChangedError. */
  replace(current: ConsentFlow, next: Omit<ConsentFlow, 'etag'>): Promise<ConsentFlow>;
}

type FlowEntity = { partitionKey: string; rowKey: string; document: string; expiresAt: string };

/** One row per flow; its secrets are sealed before they reach the document. */
export function createTableConsentFlowStore(connectionString: string): ConsentFlowStore {
  const table = lazyTable(connectionString, CONSENT_FLOWS_TABLE);
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
      const client = await table();
      const response = await client.createEntity(entity(flow));
      return { ...flow, etag: response.etag ?? '' };
    },
    async get(id) {
      const client = await table();
      try {
        const found = await client.getEntity<FlowEntity>(PARTITION, id);
        return { ...(JSON.parse(found.document) as Omit<ConsentFlow, 'etag'>), etag: found.etag };
      } catch (error) {
        if (restStatus(error) === 404) return null;
        throw error;
      }
    },
    async replace(current, next) {
      const client = await table();
      try {
        const response = await client.updateEntity(entity(next), 'Replace', { etag: current.etag });
        return { ...next, etag: response.etag ?? '' };
      } catch (error) {
        if (restStatus(error) === 412 || restStatus(error) === 404) throw new ConsentFlowChangedError();
        throw error;
      }
    },
  };
}
