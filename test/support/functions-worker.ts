import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FunctionDefinition } from '../../shared/platform/function-definitions.js';
import { STORAGE_CONNECTION_SETTING } from '../../shared/platform/function-definitions.js';

/** The stand-in for the Functions worker's `@azure/functions-core` that records every registration. */
const worker = join(import.meta.dirname, '..', 'package', 'fixtures', 'functions-worker.mjs');

/** Well-formed, and pointing at the discard port, so an export attempt fails fast instead of leaving the machine. */
export const FAKE_CONNECTION_STRING =
  'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/';

export interface Registration {
  readonly name: string;
  readonly bindings: Record<string, Record<string, unknown>>;
  readonly callbackType: string;
}

export interface Loaded {
  readonly node: string;
  readonly programmingModel?: string;
  readonly capabilities: Record<string, string>;
  readonly hooks: string[];
  readonly functions: Registration[];
}

export interface LoadOptions {
  readonly node: string;
  readonly entry: string;
  /** The whole environment of the app besides PATH: only what Azure would give it, no vitest or npm variables. */
  readonly env: Record<string, string>;
  readonly cwd?: string;
}

/** Imports `entry` in a child `node` as the Functions worker does and returns what it registered. */
export function loadEntry({ node, entry, env, cwd }: LoadOptions): Promise<Loaded> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [worker, entry], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('REGISTRATIONS '));
      if (code !== 0 || !line) {
        reject(new Error(`loading ${entry} failed (exit ${code ?? signal}):\n${stderr}\n${stdout}`));
        return;
      }
      resolve(JSON.parse(line.slice('REGISTRATIONS '.length)) as Loaded);
    });
  });
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
