import { randomBytes } from 'node:crypto';
import type { TrustedTransport } from '../net/trusted-transport.js';

export interface SbcClientOptions {
  /**
   * The device's REST base, without `/api/v1`: `https://{device}` in production (from the setting's URL
   * template), `${sandboxUrl}/sbc/{device}` locally.
   */
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  readonly transport: Pick<TrustedTransport, 'fetch'>;
}

/** What the device answered to a CLI script: its description and the CLI session's output. */
export interface SbcScriptResult {
  readonly description: string;
  readonly output: string;
  /**
   * The commands the device refused while applying the rest: a real device answers such a partial application
   * 200 like a full one, and only its output's `Error…` lines tell (AudioCodes REST API, Incremental CLI Script).
   */
  readonly refused: readonly SbcRefusedCommand[];
}

export interface SbcRefusedCommand {
  /** The command as the device echoed it before the error; empty when the output names none. */
  readonly command: string;
  readonly error: string;
}

/** The refused commands of a CLI session's output: each `Error…` line, with the command echoed before it. */
export function refusedCommands(output: string): SbcRefusedCommand[] {
  const refused: SbcRefusedCommand[] = [];
  let command = '';
  for (const line of output.split(/\r?\n/)) {
    const echoed = /^[^\s#]*(?:\([^)]*\))?# (.*)$/.exec(line);
    if (echoed) {
      command = echoed[1]?.trim() ?? '';
      continue;
    }
    const error = /^\s*Error\b:?\s*(.*)$/i.exec(line);
    if (error) refused.push({ command, error: error[1]?.trim() || line.trim() });
  }
  return refused;
}

/** The device status (`GET /api/v1/status`); the fields the product reads, others kept as they come. */
export interface SbcStatus {
  readonly productType?: string;
  readonly versionID?: string;
  readonly serialNumber?: string;
  readonly ipAddress?: string;
  readonly highAvailability?: string;
  readonly saveNeeded?: boolean;
  readonly [key: string]: unknown;
}

export interface SbcClient {
  /** `PUT /api/v1/files/cliScript/incremental` (multipart `file`). */
  runCliScript(script: string): Promise<SbcScriptResult>;
  /** `GET /api/v1/files/ini`: the configuration as ini text (see `parseSbcIni`). */
  getIni(): Promise<string>;
  /**
   * `GET /api/v1/files/cliScript`: the configuration as a CLI script, where the dial-plan rules are with their row
   * indexes (see `parseCliDialPlans`).
   */
  getCliScript(): Promise<string>;
  /** `GET /api/v1/files/dialplan`: the dial plan file (CSV, see `parseDialPlanFile`). */
  getDialPlan(): Promise<string>;
  /** `PUT /api/v1/files/dialplan` (multipart `file`). */
  putDialPlan(csv: string): Promise<void>;
  status(): Promise<SbcStatus>;
}

/**
 * A failed SBC call. `transient` for 409 (the device cannot take configuration now, e.g. HA sync), 5xx and
 * network failures: the task should retry later. 400 (an incorrect script) carries the CLI `output`.
 */
export class SbcError extends Error {
  override readonly name = 'SbcError';
  constructor(
    message: string,
    /** 0 for a network failure. */
    readonly status: number,
    readonly description: string,
    readonly output: string | undefined,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export function createSbcClient(options: SbcClientOptions): SbcClient {
  const base = `${options.baseUrl.replace(/\/+$/, '')}/api/v1`;
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;

  const request = async (
    method: string,
    path: string,
    init: { body?: Buffer; contentType?: string } = {},
  ) => {
    let response: Response;
    try {
      response = await options.transport.fetch(`${base}${path}`, {
        method,
        headers: {
          authorization,
          accept: 'application/json, text/plain, */*',
          ...(init.contentType ? { 'content-type': init.contentType } : {}),
        },
        ...(init.body ? { body: init.body } : {}),
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new SbcError(`${method} ${path}: the SBC is unreachable (${why}).`, 0, why, undefined, true);
    }
    const text = await response.text();
    if (!response.ok) {
      const { description, output } = describe(text, response.status);
      const transient = response.status === 409 || response.status >= 500 || response.status === 429;
      throw new SbcError(
        `${method} ${path}: ${response.status} ${description}`,
        response.status,
        description,
        output,
        transient,
      );
    }
    return text;
  };

  const upload = (path: string, content: string) => {
    const { body, contentType } = multipart(
      'file',
      path.endsWith('incremental') ? 'script.txt' : 'dialplan.csv',
      content,
    );
    return request('PUT', path, { body, contentType });
  };

  return {
    async runCliScript(script) {
      const text = await upload('/files/cliScript/incremental', script);
      const { description, output = '' } = describe(text, 200);
      return { description, output, refused: refusedCommands(output) };
    },
    getIni: () => request('GET', '/files/ini'),
    getCliScript: () => request('GET', '/files/cliScript'),
    getDialPlan: () => request('GET', '/files/dialplan'),
    async putDialPlan(csv) {
      await upload('/files/dialplan', csv);
    },
    async status() {
      const text = await request('GET', '/status');
      try {
        return JSON.parse(text) as SbcStatus;
      } catch {
        throw new SbcError(
          'GET /status: the SBC answered no JSON.',
          200,
          text.slice(0, 200),
          undefined,
          false,
        );
      }
    },
  };
}

function describe(text: string, status: number): { description: string; output?: string } {
  try {
    const body = JSON.parse(text) as { description?: unknown; output?: unknown };
    return {
      description: typeof body.description === 'string' ? body.description : `HTTP ${status}`,
      ...(typeof body.output === 'string' ? { output: body.output } : {}),
    };
  } catch {
    return { description: text.slice(0, 500) || `HTTP ${status}` };
  }
}

/** A `multipart/form-data` body with one file field, built by hand so any fetch implementation sends it as is. */
function multipart(field: string, filename: string, content: string): { body: Buffer; contentType: string } {
  const boundary = `----drh${randomBytes(12).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
        'Content-Type: text/plain; charset=utf-8\r\n\r\n',
    ),
    Buffer.from(content, 'utf8'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
