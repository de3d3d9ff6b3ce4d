import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Call,
  fillWizard,
  lines,
  type OnboardingStack,
  SBC,
  SIP_TRUNK,
  settled,
  startOnboardingStack,
  submit,
} from './onboarding-fixture.js';

let env: OnboardingStack;
let call: Call;

beforeAll(async () => {
  env = await startOnboardingStack();
  call = env.call;
}, 120_000);
afterAll(async () => env?.stack.close());

/** Carrier registration fields are free text; each tries to close its quotes and add a CLI parameter. */
const REGISTRATION = {
  username: 'u" password "p',
  password: 'p\\" host-name "evil.example.com',
  mainLine: '+41" register "no-reg',
  hostName: 'sip.carrier.example.com',
};

describe('An onboarding renders hostile carrier registration values into the SBC script as one value each', () => {
  it('the dry run and the real run succeed, and the SBC stores each exactly as typed', async () => {
    // The registrar is one the provider allows (docs/access.md, Shared resources).
    const allowed = await call('PUT', '/api/v1/settings/registrar-hosts', {
      json: { hosts: [REGISTRATION.hostName] },
    });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
    const session = await fillWizard(call, {
      shortName: 'Quoted',
      dns: { method: 'automatic', regionId: 'emea', licensePlan: 'Office 365 E5' },
      sbc: { ...SIP_TRUNK, carrierRegistration: REGISTRATION },
      prefixes: [{ dialPlanName: 'CustDialPlan', prefix: '+41589081' }],
    });
    const planned = await settled(call, await submit(call, session, true));
    expect(planned.state, lines(planned).join('\n')).toBe('finish-success');

    const task = await settled(call, await submit(call, session));
    expect(task.state, lines(task).join('\n')).toBe('finish-success');
    const account = env.stack.sandbox.sbc.configuration(SBC).accounts.find((a) => a.accountName === 'Quoted');
    expect(account).toMatchObject({
      userName: REGISTRATION.username,
      password: REGISTRATION.password,
      hostName: REGISTRATION.hostName,
      contactUser: REGISTRATION.mainLine,
      register: 'reg',
      servedIpGroupName: 'Quoted-t',
      servingIpGroupName: 'Quoted-c',
    });
  }, 180_000);
});
