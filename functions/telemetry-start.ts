import { startTelemetry } from './telemetry.js';

// Imported first by index.ts: the SDK must patch the modules before anything else loads them.
startTelemetry(process.env);
