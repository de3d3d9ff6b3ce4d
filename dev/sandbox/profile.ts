/**
 * Which of the real services' behaviours the sandbox plays.
 *
 * - `strict` answers as the public contracts say, at once: the shapes, status codes, errors, paging and throttling of
 *   the specifications, with no lag. The fast tests and `npm start` run on it.
 * - `reality` adds what no specification file covers but a real tenant or device does, each from a cited public
 *   source (listed in `dev/sandbox/README.md`): eventual consistency (a user just created answers 404 for a while,
 *   a role just granted answers 403), domains that need minutes before a gateway may use them, scripts that apply
 *   partially, soft deletion. Its delays are the real ones multiplied by `delayScale`, so that a test can run them
 *   in seconds.
 */
export type SandboxProfileName = 'strict' | 'reality';

export const SANDBOX_PROFILE_NAMES: readonly SandboxProfileName[] = ['strict', 'reality'];

export interface SandboxProfile {
  readonly name: SandboxProfileName;
  /** Multiplies the reality profile's delays: 1 plays them as measured, 0.01 a hundred times faster. */
  readonly delayScale: number;
}

export const STRICT_PROFILE: SandboxProfile = { name: 'strict', delayScale: 1 };

export function sandboxProfile(name: string, delayScale = 1): SandboxProfile {
  if (!SANDBOX_PROFILE_NAMES.includes(name as SandboxProfileName)) {
    throw new Error(`The sandbox profile must be ${SANDBOX_PROFILE_NAMES.join(' or ')}, not "${name}".`);
  }
  if (!(delayScale >= 0) || !Number.isFinite(delayScale)) {
    throw new Error(`The sandbox delay scale must be a number ≥ 0, not ${delayScale}.`);
  }
  return { name: name as SandboxProfileName, delayScale };
}

/**
 * `SANDBOX_PROFILE` (strict by default) and `SANDBOX_DELAY_SCALE` (1 by default): how CI runs the end-to-end
 * suites a second time under the reality profile.
 */
export function profileFromEnv(env: Readonly<Record<string, string | undefined>>): SandboxProfile {
  const scale = env.SANDBOX_DELAY_SCALE;
  return sandboxProfile(env.SANDBOX_PROFILE || 'strict', scale ? Number(scale) : 1);
}

/** A real delay as this profile plays it: none under `strict`, scaled under `reality`. */
export function profileDelayMs(profile: SandboxProfile, realMs: number): number {
  return profile.name === 'reality' ? realMs * profile.delayScale : 0;
}
