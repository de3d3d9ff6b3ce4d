import { app } from '@azure/functions';
import { loadSettings } from '../shared/config/settings.js';
import { STORAGE_CONNECTION_SETTING } from '../shared/platform/function-definitions.js';
import { startConfiguredTelemetry } from './telemetry-start.js';

// Telemetry first: its instrumentations must be in place before the product's modules load, so the composition
// root is imported after it (a static import would be evaluated before this line). Feature SDKs load on first use.
await startConfiguredTelemetry(process.env);
const { createApp } = await import('./app.js');

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
