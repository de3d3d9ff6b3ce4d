import type { AuditStore } from '../../audit/audit-store.js';
import { productLog } from '../../platform/product-log.js';
import { redactValue } from '../../tasks/redact.js';
import type { TaskEngine } from '../../tasks/task-engine.js';
import type { EdgeStep } from './compose.js';

export interface AuditPorts {
  readonly audit: Pick<AuditStore, 'record'>;
  /** Names the customer of an audited task operation, whose path names only the task. */
  readonly taskEngine: Pick<TaskEngine, 'get'>;
}

/** Who changed what, when: every successful state-changing call (docs/operations.md), secrets masked. */
export function audit(ports: AuditPorts): EdgeStep {
  return async (ctx, next) => {
    await next();
    const { result, route, principal } = ctx;
    if (!result || route.method === 'GET' || result.status >= 400) return;
    const params = (ctx.params ?? {}) as Record<string, unknown>;
    const changes = result.changes
      ? (redactValue(result.changes).value as Record<string, { before: unknown; after: unknown }>)
      : null;
    try {
      let customerId =
        typeof params.customerId === 'string' ? params.customerId : (result.customerId ?? null);
      if (!customerId && typeof params.taskId === 'string') {
        // A task removed by this very call has no customer left to name.
        customerId = (await ports.taskEngine.get(params.taskId))?.customerId ?? null;
      }
      await ports.audit.record({
        at: new Date().toISOString(),
        who: {
          subject: principal?.subject ?? 'anonymous',
          name: principal?.name ?? null,
          roles: [...(principal?.roles ?? [])],
        },
        operation: route.name,
        method: route.method,
        path: new URL(ctx.request.url).pathname,
        customerId,
        status: result.status,
        request: ctx.body === undefined ? null : redactValue(ctx.body).value,
        changes,
      });
    } catch (error) {
      // The change is made; failing the call now would tell the caller it was not.
      productLog(ctx.context, 'error', `Audit record of ${route.name} failed.`, {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
}
