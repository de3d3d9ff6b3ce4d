import './telemetry-start.js';
import { app } from '@azure/functions';
import { loadSettings } from '../shared/config/settings.js';
import { STORAGE_CONNECTION_SETTING } from '../shared/platform/function-definitions.js';
import { createApp } from './app.js';

// Fail at start-up, naming every missing or invalid setting, rather than on the first request.
const { registry } = createApp(loadSettings(process.env));

for (const definition of registry) {
  switch (definition.kind) {
    case 'http':
      app.http(definition.name, {
        methods: [...definition.methods],
        route: definition.route,
        authLevel: 'anonymous',
        handler: definition.handler,
      });
      break;
    case 'timer':
      app.timer(definition.name, {
        schedule: definition.schedule,
        runOnStartup: definition.runOnStartup ?? false,
        handler: definition.handler,
      });
      break;
    case 'queue':
      app.storageQueue(definition.name, {
        queueName: definition.queueName,
        connection: STORAGE_CONNECTION_SETTING,
        handler: definition.handler,
      });
      break;
  }
}
