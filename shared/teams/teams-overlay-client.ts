import type { TeamsAdminClient, TeamsConfigObject } from './teams-admin-client.js';

/**
 * A Teams admin client that reads through to the tenant but keeps its writes to itself. A dry run executes the
 * script's commands against it, so each command is planned against what the commands before it would have done
 * (a route created, then edited, then removed when empty): the plan is what the real run then does.
 */
export function createTeamsOverlayClient(real: TeamsAdminClient): TeamsAdminClient {
  /** Per policy, by lower-cased identity: the object as the dry run left it, or null once removed. */
  const written = new Map<string, Map<string, TeamsConfigObject | null>>();
  const grants = new Map<string, Record<string, string>>();
  const layer = (policyName: string) => {
    let objects = written.get(policyName.toLowerCase());
    if (!objects) {
      objects = new Map();
      written.set(policyName.toLowerCase(), objects);
    }
    return objects;
  };

  return {
    async list(policyName) {
      const objects = layer(policyName);
      const base = (await real.list(policyName)).filter((o) => !objects.has(keyOf(o.Identity)));
      const overlaid = [...objects.values()].filter((o): o is TeamsConfigObject => o !== null);
      return [...base, ...overlaid];
    },
    async get(policyName, identity) {
      const objects = layer(policyName);
      const key = keyOf(identity);
      if (objects.has(key)) return objects.get(key) ?? undefined;
      return real.get(policyName, identity);
    },
    async create(policyName, body) {
      const created: TeamsConfigObject = { ...body };
      layer(policyName).set(keyOf(body.Identity), created);
      return created;
    },
    async update(policyName, identity, body) {
      const current = await this.get(policyName, identity);
      const updated: TeamsConfigObject = { ...(current ?? { Identity: identity }), ...body };
      layer(policyName).set(keyOf(identity), updated);
      return updated;
    },
    async delete(policyName, identity) {
      layer(policyName).set(keyOf(identity), null);
    },
    async grantPolicy(userId, policyType, policyName) {
      const current = grants.get(userId) ?? {};
      grants.set(userId, { ...current, [policyType]: policyName ?? 'Global' });
    },
    async setEnterpriseVoice() {
      throw new Error('A dry run never changes a user’s Enterprise Voice.');
    },
    async effectivePolicies(userId) {
      const base = await real.effectivePolicies(userId);
      const local = grants.get(userId);
      return local ? { ...(base ?? {}), ...local } : base;
    },
  };
}

/** Policies are `Tag:<name>` in reads and `<name>` in creates; identities compare without case. */
function keyOf(identity: string): string {
  return identity.toLowerCase().replace(/^tag:/, '');
}
