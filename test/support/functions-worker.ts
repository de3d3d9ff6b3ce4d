import { expect } from 'vitest';
import {
  type EntryImportOptions,
  importEntry,
  type Loaded,
  type Registration,
} from '../../dev/bench/entry-import.js';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';
import { STORAGE_CONNECTION_SETTING } from '../../shared/platform/function-definitions.js';

export {
  FAKE_CONNECTION_STRING,
  type Loaded,
  productionLikeSettings,
  type Registration,
} from '../../dev/bench/entry-import.js';

/** Imports `entry` in a child `node` as the Functions worker does (the bench's measurement) and returns what it registered. */
export async function loadEntry(options: EntryImportOptions): Promise<Loaded> {
  return (await importEntry(options)).loaded;
}

/** The trigger binding of a registration (its other bindings are outputs). */
function trigger(registration: Registration): Record<string, unknown> {
  const triggers = Object.values(registration.bindings).filter((b) => b.direction === 'in');
  expect(triggers, `${registration.name} has one trigger`).toHaveLength(1);
  return triggers[0]!;
}

/** Every entry of the registry (the composition root's) reached @azure/functions, with its trigger. */
export function expectEveryDefinitionRegistered(
  loaded: Loaded,
  registry: readonly FunctionDefinition[],
): void {
  expect(loaded.programmingModel).toBe('@azure/functions');
  const names = loaded.functions.map((f) => f.name);
  expect(names).toEqual(registry.map((d) => d.name));
  const byName = new Map(loaded.functions.map((f) => [f.name, f]));
  for (const definition of registry) {
    const registration = byName.get(definition.name)!;
    expect(registration.callbackType, definition.name).toBe('function');
    const bound = trigger(registration);
    switch (definition.kind) {
      case 'http':
        expect(bound, definition.name).toMatchObject({
          type: 'httpTrigger',
          route: definition.route,
          methods: [...definition.methods],
          authLevel: 'anonymous',
        });
        expect(registration.bindings.$return, definition.name).toMatchObject({
          type: 'http',
          direction: 'out',
        });
        break;
      case 'timer':
        expect(bound, definition.name).toMatchObject({
          type: 'timerTrigger',
          schedule: definition.schedule,
          runOnStartup: definition.runOnStartup ?? false,
        });
        break;
      case 'queue':
        expect(bound, definition.name).toMatchObject({
          type: 'queueTrigger',
          queueName: definition.queueName,
          connection: STORAGE_CONNECTION_SETTING,
        });
        break;
    }
  }
}
