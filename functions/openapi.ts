import { z } from 'zod';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { buildOpenApiDocument } from '../shared/http/openapi.js';
import type { FunctionDefinition, HttpFunctionDefinition } from '../shared/platform/function-definitions.js';

/** What each tag's operations are for, as the portal's generated client and the reference show it. */
const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  Access: 'Channels and the admins who may act on their customers.',
  Alarms: 'Alarms raised by license use, failed tasks and poisoned messages.',
  Audit: 'Who changed what, when.',
  'Authentication status': "Each customer's Microsoft 365 credentials and their verification.",
  'Customer invitations': "Invitations for a customer's IT administrator to authenticate.",
  Customers: 'The Tenants: add, list, edit and remove customers.',
  'Dial plans': "Each SBC site's number prefixes, and importing customers from an SBC.",
  Licenses: 'The license pool and what each customer uses of it.',
  Meta: 'This document.',
  Numbers: "Each customer's number ranges (exclusive on their SBC), reserved numbers and free numbers.",
  'Onboarding settings': 'Regions, Known SBCs, the DNS API and license plans the wizard offers.',
  'Onboarding wizard': 'The server-side session the onboarding wizard fills in, page by page.',
  Onboarding: 'Deploying a customer and its SBC sites.',
  Operations: 'Health and the operator tools.',
  'Provider settings': 'The provider-wide settings: token app, email, white label.',
  Replication: "The mirror of each customer's Microsoft 365 voice configuration.",
  'Script templates': 'The PowerShell and SBC script templates onboarding renders.',
  Tasks: 'The queued work that changes a customer: poll a task at the Location a 202 gave.',
  Users: "Each customer's Microsoft 365 users: the Users list, its CSV export, a user's details.",
  'User templates':
    "Manage Templates: a customer's policies, Enterprise Voice and number source for users, applied as one import.",
  'Lifecycle management':
    'Security-group bindings of user templates: after each replication cycle a member gets the template of the lowest rank they match.',
  Voice:
    "Each customer's Teams voice configuration: the call-routing simulator over the mirror and pending changes.",
  'User changes':
    "A user's number, Enterprise Voice, usage location and policies: queued as Office365 tasks, audited, rolled back.",
  'Voice routing':
    "Online Voice Routing: a customer's PSTN usages, voice routes, voice routing policies and tenant dial plans, changed as queued Teams commands with dry run, audit and rollback.",
};

/** The OpenAPI document of the registry's API operations (served below, and linted by `npm run lint`). */
export function apiDocument(definitions: readonly FunctionDefinition[]): Record<string, unknown> {
  return buildOpenApiDocument(
    definitions.filter((definition): definition is HttpFunctionDefinition => definition.kind === 'http'),
    {
      title: 'Direct Routing Hub API',
      version: '1.0.0',
      description:
        'Onboard and run Microsoft Teams Direct Routing customers. Errors are RFC 9457 application/problem+json with a stable code.',
    },
    TAG_DESCRIPTIONS,
  );
}

/** Takes the registry lazily because the document describes the registry that contains it. */
export function openApiFunction(
  edge: ApiEdge,
  registry: () => readonly FunctionDefinition[],
): HttpFunctionDefinition {
  let document: Record<string, unknown> | undefined;
  return defineApiRoute(edge, {
    name: 'openapi',
    method: 'GET',
    route: 'api/v1/openapi.json',
    summary: "This API's OpenAPI 3.1 document",
    tags: ['Meta'],
    roles: null,
    responses: { 200: { description: 'The OpenAPI document.', schema: z.record(z.string(), z.unknown()) } },
    handler: async () => {
      document ??= apiDocument(registry());
      return { status: 200, body: document };
    },
  });
}
