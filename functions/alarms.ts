import { z } from 'zod';
import { domainErrors } from '../shared/errors/domain-errors.js';
import { productLog } from '../shared/platform/product-log.js';
import { checkUserLicenseThreshold } from '../shared/alarms/license-alarms.js';
import { checkPoisonQueues } from '../shared/alarms/queue-alarms.js';
import { checkSbcReachability } from '../shared/alarms/sbc-alarms.js';
import { ALARM_ID_PATTERN, alarmViewSchema } from '../shared/alarms/alarm-service.js';
import { type ApiEdge, defineApiRoute } from '../shared/http/api-route.js';
import { defineTimer } from '../shared/platform/background.js';
import type { FunctionDefinition } from '../shared/platform/function-definitions.js';
import type { AppServices } from './app-services.js';
import { listPage, newestFirstKey, pageSchema, pagingQuery } from '../shared/paging/paging.js';
import { booleanParam } from '../shared/http/route-kit.js';

const TAGS = ['Alarms'];
const ROLES = ['provider-admin'] as const;
/** Every 5 minutes: an SBC down, a poisoned message or a pool running out shows within minutes. */
const CHECK_SCHEDULE = '0 */5 * * * *';

export type AlarmFunctionsDeps = ApiEdge &
  Pick<
    AppServices,
    'alarms' | 'customers' | 'licenses' | 'onboardingSettings' | 'settings' | 'storage' | 'transport'
  >;

export function createAlarmFunctions(services: AlarmFunctionsDeps): FunctionDefinition[] {
  return [
    defineApiRoute(services, {
      name: 'alarms-list',
      method: 'GET',
      route: 'api/v1/alarms',
      summary: 'Alarms, newest first; active=true leaves out the cleared ones',
      tags: TAGS,
      roles: ROLES,
      query: pagingQuery().extend({
        active: booleanParam('active', false).meta({ description: 'true leaves out the cleared alarms.' }),
      }),
      responses: {
        200: { description: 'A page of alarms.', schema: pageSchema(alarmViewSchema, 'AlarmPage') },
      },
      handler: async ({ query, request }) => ({
        status: 200,
        body: listPage(
          await services.alarms.list({ activeOnly: query.active }),
          (alarm) => newestFirstKey(alarm.raisedAt, alarm.id),
          query,
          request.url,
        ),
      }),
    }),
    defineApiRoute(services, {
      name: 'alarms-acknowledge',
      method: 'POST',
      route: 'api/v1/alarms/{alarmId}/acknowledge',
      summary:
        'Acknowledge an alarm: records who and when; the alarm stays until its cause is gone, and a new occurrence after it cleared starts unacknowledged',
      tags: TAGS,
      roles: ROLES,
      params: z.strictObject({
        alarmId: z.string().regex(ALARM_ID_PATTERN).meta({ description: 'The id the alarm list shows.' }),
      }),
      responses: {
        200: {
          description: 'The alarm, acknowledged (the first acknowledgement stays).',
          schema: alarmViewSchema,
        },
      },
      errors: { not_found: 'There is no such alarm.' },
      handler: async ({ params, principal }) => {
        if (!principal) throw domainErrors.unauthenticated('Sign in first.');
        const alarm = await services.alarms.acknowledge(params.alarmId, principal.subject);
        if (!alarm) throw domainErrors.notFound(`There is no alarm ${params.alarmId}.`);
        return { status: 200, body: alarm };
      },
    }),
    defineTimer({
      name: 'alarms-sbc-check',
      schedule: CHECK_SCHEDULE,
      async run(context) {
        const { checked, unreachable } = await checkSbcReachability(services);
        if (unreachable.length > 0) {
          productLog(
            context,
            'warn',
            `${unreachable.length} of ${checked} SBC(s) unreachable: ${unreachable.join(', ')}.`,
          );
        }
      },
    }),
    defineTimer({
      name: 'alarms-poison-check',
      schedule: CHECK_SCHEDULE,
      async run(context) {
        const { poisoned } = await checkPoisonQueues({
          storage: services.storage,
          alarms: services.alarms,
        });
        for (const { queue, messages } of poisoned)
          productLog(context, 'warn', `${messages} poisoned message(s) in ${queue}.`, { queue });
      },
    }),
    defineTimer({
      name: 'alarms-license-check',
      schedule: CHECK_SCHEDULE,
      async run(context) {
        const { raised, usedUsers, userPool } = await checkUserLicenseThreshold({
          customers: services.customers,
          license: services.settings.license,
          alarms: services.alarms,
          warningPercent: async () => (await services.licenses.settings()).warningLimitPercent,
        });
        if (raised)
          productLog(
            context,
            'warn',
            `User licenses at the Warning Limit: ${usedUsers} of ${userPool} in use.`,
          );
      },
    }),
  ];
}
