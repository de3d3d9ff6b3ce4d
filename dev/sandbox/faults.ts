import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const faultSpecSchema = z
  .strictObject({
    /** Any method when omitted. */
    method: z
      .string()
      .min(1)
      .transform((m) => m.toUpperCase())
      .optional(),
    /** A regular expression tested against the request path (no query string), e.g. `^/graph/v1\.0/users$`. */
    pathPattern: z.string().refine(isRegExp, 'must be a valid regular expression'),
    kind: z.enum(['status', 'latency', 'drop']),
    status: z.number().int().min(400).max(599).optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    /** How many matching requests it affects; unlimited when omitted. */
    times: z.number().int().min(1).optional(),
    /** Matching requests let through before it starts affecting them (a failure mid-way). */
    skip: z.number().int().min(0).optional(),
    /** The chance that a matching request is affected; 1 when omitted. */
    probability: z.number().min(0).max(1).optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.kind === 'status' && spec.status === undefined) {
      ctx.addIssue({ code: 'custom', path: ['status'], message: "is required for kind 'status'" });
    }
    if (spec.kind === 'latency' && spec.latencyMs === undefined) {
      ctx.addIssue({ code: 'custom', path: ['latencyMs'], message: "is required for kind 'latency'" });
    }
  });

export type FaultSpec = z.input<typeof faultSpecSchema>;

export interface Fault extends z.output<typeof faultSpecSchema> {
  readonly id: string;
  /** Requests it will still affect; null when unlimited. */
  remaining: number | null;
  /** Requests it has affected so far. */
  hits: number;
  /** Matching requests still to let through before it applies. */
  toSkip: number;
}

/** What happens to one request: an optional delay, then at most one of a status reply or a dropped socket. */
export interface FaultPlan {
  readonly latencyMs: number;
  readonly outcome?: Fault & ({ kind: 'status'; status: number } | { kind: 'drop' });
}

/**
 * A repeatable sequence of numbers in [0, 1) (mulberry32): the same seed draws the same chances, so that two
 * measurements can meet the same throttling, and a failing test's seed can be run again.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Faults injected by tests, per route; the control API and the in-process handle share one instance. */
export class FaultInjector {
  private faults: Fault[] = [];
  /** Where a fault's `probability` draws its chances. */
  private random: () => number = Math.random;

  /**
   * Draws the chances of the faults with a `probability` from a sequence that starts again at each call with
   * the same seed: the requests that follow meet the same faults, in the same order, as those after an earlier
   * call did (the benchmark's Graph-read floor and the cycle it is compared with).
   */
  reseed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** Validates like the HTTP API does; throws a ZodError for an invalid spec. */
  add(spec: FaultSpec): Fault {
    const parsed = faultSpecSchema.parse(spec);
    // A 429 or 503 without Retry-After would be unlike the services the product retries on (Graph, ARM, ACS, Entra
    // ID): they say when to come back (test/contracts/throttling.test.ts).
    const retryAfterSeconds =
      parsed.retryAfterSeconds ?? (parsed.status === 429 || parsed.status === 503 ? 1 : undefined);
    const fault: Fault = {
      ...parsed,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      id: randomUUID(),
      remaining: parsed.times ?? null,
      hits: 0,
      toSkip: parsed.skip ?? 0,
    };
    this.faults.push(fault);
    return fault;
  }

  list(): readonly Fault[] {
    return this.faults;
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  /** Decides the faults for one request and counts them as used. */
  plan(method: string, path: string): FaultPlan {
    let latencyMs = 0;
    let outcome: FaultPlan['outcome'];
    for (const fault of this.faults) {
      if (fault.remaining === 0) continue;
      if (fault.method !== undefined && fault.method !== method) continue;
      if (!new RegExp(fault.pathPattern).test(path)) continue;
      if (fault.kind !== 'latency' && outcome) continue;
      if (fault.toSkip > 0) {
        fault.toSkip--;
        continue;
      }
      if (fault.probability !== undefined && this.random() >= fault.probability) continue;
      fault.hits++;
      if (fault.remaining !== null) fault.remaining--;
      if (fault.kind === 'latency') latencyMs += fault.latencyMs ?? 0;
      else if (fault.kind === 'drop') outcome = { ...fault, kind: 'drop' };
      else outcome = { ...fault, kind: 'status', status: fault.status ?? 500 };
    }
    return outcome ? { latencyMs, outcome } : { latencyMs };
  }
}

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}
