/** `sbc-scenario7` and its cleanup (manual part B §3.4) as the template renders them, for tests. */
export interface ScenarioInput {
  readonly customerId: string;
  readonly carrier: string;
  readonly gateway: string;
  readonly cacProfile?: string;
  readonly registration?: {
    readonly userName: string;
    readonly password: string;
    readonly hostName: string;
    readonly mainLine: string;
  };
  readonly dialPlans: ReadonlyArray<{ readonly name: string; readonly prefixes: readonly string[] }>;
}

export function scenario7(input: ScenarioInput): string {
  const { customerId: id, carrier, gateway } = input;
  const lines = [
    'configure voip',
    'ip-group new',
    ` name "${id}-c"`,
    ` proxy-set-name "${carrier}"`,
    ` ip-profile-name "${carrier}"`,
    ` tags "Trunk=${gateway}"`,
    ' classify-by-proxy-set disable',
    ' call-setup-rules-set-id 1',
    ' activate',
    'exit',
    'ip-group new',
    ` name "${id}-t"`,
    ' proxy-set-name "Teams"',
    ' ip-profile-name "Teams"',
    ` local-host-name "${gateway}"`,
    ' always-use-source-addr enable',
    ` tags "Tenant=${gateway}"`,
    ' classify-by-proxy-set disable',
    ' call-setup-rules-set-id 0',
    ...(input.cacProfile ? [` cac-profile "${input.cacProfile}"`] : []),
    ' activate',
    'exit',
  ];
  if (input.registration) {
    const r = input.registration;
    lines.push(
      'sip-definition account new',
      ` account-name "${id}"`,
      ` served-ip-group-name "${id}-t"`,
      ` serving-ip-group-name "${id}-c"`,
      ` user-name "${r.userName}"`,
      ` password "${r.password}"`,
      ` host-name "${r.hostName}"`,
      ` contact-user "${r.mainLine}"`,
      ' register reg',
      ' application-type sbc',
      ' activate',
      'exit',
    );
  }
  for (const plan of input.dialPlans) {
    lines.push(`sbc dial-plan where name "${plan.name}"`);
    for (const prefix of plan.prefixes) {
      lines.push(
        ' dial-plan-rule new',
        `  name "${id}"`,
        `  prefix "${prefix}"`,
        `  tag "${gateway}"`,
        ' exit',
      );
    }
    lines.push(' activate', 'exit');
  }
  lines.push('do write');
  return lines.join('\n');
}

export function scenario7Cleanup(customerId: string, dialPlans: readonly string[]): string {
  return [
    'configure voip',
    `no ip-group where name "${customerId}-c"`,
    `no ip-group where name "${customerId}-t"`,
    `no sip-definition account where account-name "${customerId}"`,
    ...dialPlans.flatMap((name) => [
      `sbc dial-plan where name "${name}"`,
      ` no dial-plan-rule where name "${customerId}"`,
      ' activate',
      'exit',
    ]),
    'do write',
  ].join('\n');
}
