/**
 * Day two's unit of work: one change to one field of one replicated user (issue 11). The per-user PATCH, the
 * action routes, the bulk CSV import, templates and rollback all express what they want as a list of these; the
 * queued-command task applies them one by one through a `UserChangeApplier`, and the audit records each one's
 * old and new value.
 */

/**
 * The policy types a user can be granted, as the manual's user edit and template "Additional Policies" list
 * them (manual-part-D §1.3, §4.1). `teamsType` is the Teams admin API's PolicyType (what `Grant-Cs…` sends and
 * what Graph's `effectivePolicyAssignments[].policyType` names); `cmdlet` the PowerShell a person would type.
 */
export const USER_POLICY_TYPES = {
  'voice-routing': {
    teamsType: 'OnlineVoiceRoutingPolicy',
    cmdlet: 'Grant-CsOnlineVoiceRoutingPolicy',
    label: 'Online Voice Routing Policy',
  },
  'tenant-dial-plan': {
    teamsType: 'TenantDialPlan',
    cmdlet: 'Grant-CsTenantDialPlan',
    label: 'Tenant Dial Plan',
  },
  calling: { teamsType: 'TeamsCallingPolicy', cmdlet: 'Grant-CsTeamsCallingPolicy', label: 'Calling Policy' },
  'caller-id': {
    teamsType: 'CallingLineIdentity',
    cmdlet: 'Grant-CsCallingLineIdentity',
    label: 'Caller ID Policy',
  },
  'emergency-calling': {
    teamsType: 'TeamsEmergencyCallingPolicy',
    cmdlet: 'Grant-CsTeamsEmergencyCallingPolicy',
    label: 'Emergency Calling Policy',
  },
  'emergency-call-routing': {
    teamsType: 'TeamsEmergencyCallRoutingPolicy',
    cmdlet: 'Grant-CsTeamsEmergencyCallRoutingPolicy',
    label: 'Emergency Call Routing Policy',
  },
  meeting: { teamsType: 'TeamsMeetingPolicy', cmdlet: 'Grant-CsTeamsMeetingPolicy', label: 'Meeting Policy' },
  messaging: {
    teamsType: 'TeamsMessagingPolicy',
    cmdlet: 'Grant-CsTeamsMessagingPolicy',
    label: 'Messaging Policy',
  },
  'app-setup': {
    teamsType: 'TeamsAppSetupPolicy',
    cmdlet: 'Grant-CsTeamsAppSetupPolicy',
    label: 'App Setup Policy',
  },
  'app-permission': {
    teamsType: 'TeamsAppPermissionPolicy',
    cmdlet: 'Grant-CsTeamsAppPermissionPolicy',
    label: 'App Permission Policy',
  },
  'survivable-branch-appliance': {
    teamsType: 'TeamsSurvivableBranchAppliancePolicy',
    cmdlet: 'Grant-CsTeamsSurvivableBranchAppliancePolicy',
    label: 'Survivable Branch Appliance Policy',
  },
  'compliance-recording': {
    teamsType: 'TeamsComplianceRecordingPolicy',
    cmdlet: 'Grant-CsTeamsComplianceRecordingPolicy',
    label: 'Compliance Recording Policy',
  },
  'video-interop': {
    teamsType: 'TeamsVideoInteropServicePolicy',
    cmdlet: 'Grant-CsTeamsVideoInteropServicePolicy',
    label: 'Video Interop Service Policy',
  },
  upgrade: { teamsType: 'TeamsUpgradePolicy', cmdlet: 'Grant-CsTeamsUpgradePolicy', label: 'Upgrade Policy' },
} as const;

export type UserPolicyType = keyof typeof USER_POLICY_TYPES;
export const USER_POLICY_TYPE_IDS = Object.keys(USER_POLICY_TYPES) as UserPolicyType[];

/**
 * One change. `lineUri` is `tel:+<E.164>` with an optional `;ext=<digits>` (null unassigns the number);
 * a policy's `value` is the policy's name without `Tag:` (null grants the Global, org-wide default).
 */
export type UserChange =
  | { readonly field: 'line-uri'; readonly value: string | null }
  | { readonly field: 'enterprise-voice'; readonly value: boolean }
  | { readonly field: 'usage-location'; readonly value: string | null }
  | { readonly field: 'policy'; readonly policyType: UserPolicyType; readonly value: string | null };

/** The user a change is made to, as the mirror knows it. */
export interface UserChangeTarget {
  readonly customerId: string;
  readonly userId: string;
  readonly userPrincipalName: string;
}

/**
 * Applies changes to the customer's tenant (Graph number assignment, Graph user PATCH, Teams policy grants).
 * Idempotent: applying a value already in place changes nothing. Throws `TransientTaskError` (throttling, a
 * long-running operation still running after its budget, 5xx) or `PermanentTaskError` with the service's reason
 * (number assigned to another user, user not licensed or not voice-enabled, unknown policy …).
 */
export interface UserChangeApplier {
  /** The PowerShell a person would type for the change: the Queued Task's "Queued Change" text. */
  render(target: UserChangeTarget, change: UserChange): string;
  apply(target: UserChangeTarget, change: UserChange): Promise<void>;
}
