import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import type { HttpMethod, OperationDoc } from '../http/operation-doc.js';

export type { HttpMethod };

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
export type TimerHandler = (timer: Timer, context: InvocationContext) => Promise<void>;
/** Receives the message as Azure delivers it: JSON messages parsed, other text as a string. */
export type QueueHandler = (message: unknown, context: InvocationContext) => Promise<void>;

export interface HttpFunctionDefinition {
  readonly kind: 'http';
  readonly name: string;
  readonly methods: readonly HttpMethod[];
  /** Azure Functions route template without a leading slash, e.g. `api/v1/customers/{customerId}`. */
  readonly route: string;
  readonly handler: HttpHandler;
  /** Present for JSON API operations, which the OpenAPI document must describe; absent for pages. */
  readonly openapi?: OperationDoc;
}

export interface TimerFunctionDefinition {
  readonly kind: 'timer';
  readonly name: string;
  /** Six-field NCRONTAB: `{second} {minute} {hour} {day} {month} {day-of-week}`, UTC. */
  readonly schedule: string;
  readonly runOnStartup?: boolean;
  readonly handler: TimerHandler;
}

export interface QueueFunctionDefinition {
  readonly kind: 'queue';
  readonly name: string;
  readonly queueName: string;
  readonly handler: QueueHandler;
}

export type FunctionDefinition = HttpFunctionDefinition | TimerFunctionDefinition | QueueFunctionDefinition;

/** The app setting holding the storage connection that queue triggers listen on (Azure's default name). */
export const STORAGE_CONNECTION_SETTING = 'AzureWebJobsStorage';
