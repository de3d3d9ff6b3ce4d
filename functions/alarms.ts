import { z } from 'zod';
import { alarmViewSchema } from '../shared/alarms/alarm-service.js';
import { defineApiRoute } from '../shared/http/api-route.js';

export const alarmFunctions = [
  defineApiRoute({
    name: 'alarms-list',
    method: 'GET',
    route: 'api/v1/alarms',
    summary: 'Alarms, newest first; active=true leaves out the cleared ones',
    tags: ['Alarms'],
    roles: ['provider-admin'],
    query: z.object({ active: z.enum(['true', 'false']).optional() }),
    responses: { 200: { description: 'Alarms.', schema: z.object({ value: z.array(alarmViewSchema) }) } },
    handler: async ({ query, services }) => ({
      status: 200,
      body: { value: await services.alarms.list({ activeOnly: query.active === 'true' }) },
    }),
  }),
];
