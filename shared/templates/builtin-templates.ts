import type { ScriptType, TemplateVariable } from './script-types.js';

/** A template the product ships (DESIGN §4): seeded on first use, editable, resettable to this text. */
export interface BuiltInTemplate {
  readonly id: string;
  readonly name: string;
  readonly type: ScriptType;
  readonly description: string;
  readonly body: string;
  readonly variables: readonly TemplateVariable[];
  readonly pairedTemplateId: string | null;
  /** Preselected in the onboarding wizard for its type ("Default Script"). */
  readonly isDefault: boolean;
}

/** `sbc-scenario7` (manual ID 7), verbatim from the manual (§3.4 of the extract). */
const SBC_SCENARIO7 = `configure voip
ip-group new
 name "{{CustomerId}}-c"
 proxy-set-name "{{SBC.CarrierID}}"
 ip-profile-name "{{SBC.CarrierID}}"
 tags "Trunk={{SBC.OnlinePstnGateway}}"
 classify-by-proxy-set disable
 call-setup-rules-set-id 1
 activate
exit
ip-group new
 name "{{CustomerId}}-t"
 proxy-set-name "Teams"
 ip-profile-name "Teams"
 local-host-name "{{SBC.OnlinePstnGateway}}"
 always-use-source-addr enable
 tags "Tenant={{SBC.OnlinePstnGateway}}"
 classify-by-proxy-set disable
 call-setup-rules-set-id 0
 {{#if SBC.EnableCAC}}
 cac-profile "{{SBC.CacProfile}}"
 {{/if }}
 activate
exit
{{#if SBC.FlagCarrierRegistration}}
sip-definition account new
 account-name "{{CustomerId}}"
 served-ip-group-name "{{CustomerId}}-t"
 serving-ip-group-name "{{CustomerId}}-c"
 user-name "{{SBC.CarrierUserName}}"
 password "{{SBC.CarrierPassword}}"
 host-name "{{SBC.CarrierHostName}}"
 contact-user "{{SBC.CarrierMainLine}}"
 register reg
 application-type sbc
 activate
exit
{{/if }}
{{#each SBC.DialPlanPrefixes}}
sbc dial-plan where name "{{this.DialPlanName}}"
 {{#each this.Rules}}
 dial-plan-rule new
  name "{{this.Name}}"
  prefix "{{this.Prefix}}"
  tag "{{this.Tag}}"
 exit
 {{/each}}
 activate
exit
{{/each}}
do write
`;

/** `sbc-scenario7Cleanup` (manual ID 700), the 8.0.300+ form that loops over every dial plan of the customer. */
const SBC_SCENARIO7_CLEANUP = `configure voip
no ip-group where name "{{CustomerId}}-c"
no ip-group where name "{{CustomerId}}-t"
no sip-definition account where account-name "{{CustomerId}}"
{{#each SBC.DialPlanPrefixes}}
sbc dial-plan where name "{{this.DialPlanName}}"
 no dial-plan-rule where name "{{../CustomerId}}"
 activate
exit
{{/each}}
do write
`;

/**
 * `sbc-add-prefix` (manual ID 100); run once per target dial plan. Each rule is named after its customer's Short Name,
 * as the manual's prose and `sbc-scenario7` have it (the listing's `SBC.SbcSiteName` would escape the cleanup's
 * match), and carried by the rule so that one script adds the rules of many customers (docs/decisions.md).
 */
const SBC_ADD_PREFIX = `configure voip
sbc dial-plan where name "{{DialPlanName}}"
 {{#each CmdData.DialPlanRules.ToAdd}}
 dial-plan-rule new
  name "{{this.Name}}"
  prefix "{{this.Prefix}}"
  tag "{{this.Tag}}"
 exit
 {{/each}}
 activate
exit
do write
`;

/** `sbc-remove-prefix` (manual ID 101), the 8.0.300+ form with the dial plan as a variable; deletes by SBC index. */
const SBC_REMOVE_PREFIX = `configure voip
sbc dial-plan where name "{{DialPlanName}}"
 {{#each ToRemove}}
 no dial-plan-rule "{{this.Index}}"
 {{/each}}
 activate
exit
do write
`;

/**
 * `add-ipx-user` / `add-ip-pbx-user` (manual ID 103): the manual's text with the `.` the extraction lost restored
 * (`LocalUserName\\.Pbxhost`) and the unquoted registering password passed through sbcEscape.
 */
const ADD_IPX_USER = `# Registration of an IP-PBX user (add-ip-pbx-user).
# CSV guidelines: the field 'LocalUserName' should have the extension e.g. 2345;
# the field 'PbxExtension' should also have that syntax. e.g. 4002;
# the field 'OnlineVoiceRoutingPolicy' should have the PBX SIP domain. e.g. ac3cx.elastix.com or the IP address
# used by the PBX in the from header for calls towards an extension.
# If create has a value the create section runs, if delete has a value the delete section runs.
configure voip
{{#if PbxUser.create}}
sbc dial-plan where name "CustDialPlan"
 dial-plan-rule new
  name "{{SBC.SbcSiteName}}"
  prefix "{{sbcEscape PbxUser.LocalUserName}}\\.{{sbcEscape PbxUser.Pbxhost}}"
  tag "{{SBC.OnlinePstnGateway}}"
 exit
 dial-plan-rule new
  name "{{SBC.SbcSiteName}}"
  prefix "+{{sbcEscape PbxUser.E164}}"
  tag "{{SBC.OnlinePstnGateway}}"
 exit
 activate
exit
sip-definition proxy-and-registration
 user-info sbc-user-info new
  local-user "{{PbxUser.LocalUserName}}.{{PbxUser.Pbxhost}}"
  username "{{PbxUser.RegisteringUserName}}"
  password {{sbcEscape PbxUser.RegisteringPassword}}
  ip-group-name "{{SBC.SbcSiteName}}-t"
  activate
 exit
exit
sbc dial-plan where name "RegisteredUsers"
 dial-plan-rule new
  name "{{SBC.SbcSiteName}}"
  prefix "+{{sbcEscape PbxUser.E164}}"
  tag "{{PbxUser.LocalUserName}}.{{PbxUser.Pbxhost}}"
  activate
 exit
 dial-plan-rule new
  name "{{SBC.SbcSiteName}}"
  prefix "{{sbcEscape PbxUser.LocalUserName}}\\.{{sbcEscape PbxUser.Pbxhost}}"
  tag "{{PbxUser.LocalUserName}}.{{PbxUser.Pbxhost}}"
  activate
 exit
 dial-plan-rule new
  name "{{SBC.SbcSiteName}}"
  prefix "pb{{sbcEscape PbxUser.LocalUserName}}\\.{{sbcEscape PbxUser.Pbxhost}}"
  tag "{{PbxUser.E164}}"
  activate
 exit
exit
{{/if }}
{{#if PbxUser.delete}}
sbc dial-plan where name "CustDialPlan"
 no dial-plan-rule where prefix "{{sbcEscape PbxUser.LocalUserName}}\\.{{sbcEscape PbxUser.Pbxhost}}"
 no dial-plan-rule where prefix "+{{sbcEscape PbxUser.E164}}"
exit
sip-definition proxy-and-registration
 no user-info sbc-user-info where local-user "{{PbxUser.LocalUserName}}.{{PbxUser.Pbxhost}}"
exit
sbc dial-plan where name "RegisteredUsers"
 no dial-plan-rule where prefix "+{{sbcEscape PbxUser.E164}}"
 no dial-plan-rule where prefix "{{sbcEscape PbxUser.LocalUserName}}\\.{{sbcEscape PbxUser.Pbxhost}}"
 no dial-plan-rule where prefix "pb{{sbcEscape PbxUser.LocalUserName}}\\.{{sbcEscape PbxUser.Pbxhost}}"
exit
{{/if }}
do write
`;

/**
 * The Default M365 routing (manual ID 5461210) as one Teams command per line. The manual's PowerShell wraps each
 * in an "if not exists" test; here every command is desired state and the Teams executor makes it idempotent:
 * a `New-*` whose object exists is not created again, only its list edits (`@{add=…}`) are applied — exactly the
 * manual's "if the route exists and lacks this gateway, add the gateway".
 */
const M365_DEFAULT_ROUTING = `# Add PSTN Usage record Unrestricted if not exists
Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='Unrestricted'}
# Add Online Voice Route Unrestricted if not exists, else add the PSTN gateway to its OnlinePstnGatewayList
New-CsOnlineVoiceRoute -Identity 'Unrestricted' -NumberPattern '.*' -OnlinePstnGatewayList @{add='{{SBC.OnlinePstnGateway}}'} -Priority 1 -OnlinePstnUsages @{add='Unrestricted'}
# Add Voice Routing Policy Unrestricted if not exists
New-CsOnlineVoiceRoutingPolicy -Identity 'Unrestricted' -OnlinePstnUsages 'Unrestricted'
`;

const M365_DEFAULT_ONBOARDING = `# Default M365 Tenant Onboarding Script
${M365_DEFAULT_ROUTING}# End of M365 onboarding script
`;

/**
 * The Default M365 cleanup (manual ID 5461211): take the gateway out of the voice route the onboarding added it to,
 * then remove that route if its OnlinePstnGatewayList is empty (the executor checks the manual's
 * `OnlinePstnGatewayList.count -eq 0` before removing). PSTN usage, policy and gateway stay, as in the manual.
 */
const M365_DEFAULT_CLEANUP = `# Default M365 Tenant Cleanup Script
# Remove the PSTN gateway from the voice route's OnlinePstnGatewayList
Set-CsOnlineVoiceRoute -Identity 'Unrestricted' -OnlinePstnGatewayList @{remove='{{SBC.OnlinePstnGateway}}'}
# Remove the voice route when no PSTN gateway is left in its OnlinePstnGatewayList
Remove-CsOnlineVoiceRoute -Identity 'Unrestricted'
# End of M365 cleanup script
`;

const LBR_GATEWAY_AND_POLICY = `# Add Online PSTN Gateway if not exists (might require customization: SipSignalingPort, MaxConcurrentSessions)
New-CsOnlinePSTNGateway -Fqdn '{{SBC.OnlinePstnGateway}}' -Enabled $true -SipSignalingPort 5061 -ForwardCallHistory $true -ForwardPai $true -MediaBypass $true -MaxConcurrentSessions 100 -GatewaySiteLbrEnabled $true -GatewaySiteID '{{SBC.SbcSiteName}}'
# Add Teams calling policy UMPPreventTollBypass if not exists
New-CsTeamsCallingPolicy -Identity 'UMPPreventTollBypass' -AllowCallForwardingToPhone $true -Description 'Allow Teams calling, preventing toll bypass' -PreventTollBypass $true
`;

const LBR_REGION_AND_SITE = `# Add network region if not exists
New-CsTenantNetworkRegion -NetworkRegionID 'India'
# Add network site if not exists
New-CsTenantNetworkSite -NetworkSiteID '{{SBC.SbcSiteName}}' -NetworkRegionID 'India' -EnableLocationBasedRouting $true -Description 'Default Site created by AudioCodes LiveCloud'
`;

/** M365 onboarding with Location-based Routing (manual ID 5461212), one command per line. */
const M365_LBR_ONBOARDING = `# M365 Onboarding with Location-based Routing
# Values such as the region 'India', the example subnet and trusted IP should be changed according to the customer deployment.
${LBR_REGION_AND_SITE}# Add example subnet if not exists
New-CsTenantNetworkSubnet -SubnetID '169.254.0.0' -MaskBits '16' -NetworkSiteID '{{SBC.SbcSiteName}}' -Description 'Example subnet set by AudioCodes LiveCloud'
# Add example trusted IP address if not exists
New-CsTenantTrustedIPAddress -IPAddress '169.254.0.1' -MaskBits 32 -Description 'Example Trusted IP Address set by AudioCodes LiveCloud'
${LBR_GATEWAY_AND_POLICY}${M365_DEFAULT_ROUTING}# End of M365 onboarding script
`;

/** M365 onboarding with LBR and Custom Networks (manual ID 5461213); the manual's `OfflinePstnGateway` typo fixed. */
const M365_LBR_CUSTOM_NETWORKS_ONBOARDING = `# M365 onboarding with Location-based Routing and Custom Networks
${LBR_REGION_AND_SITE}# Add the customer's subnet if not exists
New-CsTenantNetworkSubnet -SubnetID '{{CustomVar.IP-Network}}' -MaskBits '{{CustomVar.IP-SubnetBits}}' -NetworkSiteID '{{SBC.SbcSiteName}}' -Description 'Subnet set by AudioCodes LiveCloud'
# Add the customer's trusted IP address if not exists
New-CsTenantTrustedIPAddress -IPAddress '{{CustomVar.Trusted-IP-Network}}' -MaskBits '{{CustomVar.Trusted-IP-SubnetBits}}' -Description 'Trusted IP Address set by AudioCodes LiveCloud'
${LBR_GATEWAY_AND_POLICY}${M365_DEFAULT_ROUTING}# End of M365 onboarding script
`;

export const BUILT_IN_TEMPLATES: readonly BuiltInTemplate[] = [
  {
    id: 'sbc-scenario7',
    name: 'sbc-scenario7',
    type: 'sbc-onboarding',
    description: 'Adds the basic SBC configuration.',
    body: SBC_SCENARIO7,
    variables: [],
    pairedTemplateId: 'sbc-scenario7cleanup',
    isDefault: true,
  },
  {
    id: 'sbc-scenario7cleanup',
    name: 'sbc-scenario7Cleanup',
    type: 'sbc-cleanup',
    description: 'Removes the basic SBC configuration.',
    body: SBC_SCENARIO7_CLEANUP,
    variables: [],
    pairedTemplateId: 'sbc-scenario7',
    isDefault: true,
  },
  {
    id: 'sbc-add-prefix',
    name: 'sbc-add-prefix',
    type: 'background',
    description:
      'Adds dial plan prefix when the provider side is configured as either an IP-PBX or a SIP Trunk.',
    body: SBC_ADD_PREFIX,
    variables: [],
    pairedTemplateId: 'sbc-remove-prefix',
    isDefault: false,
  },
  {
    id: 'sbc-remove-prefix',
    name: 'sbc-remove-prefix',
    type: 'background',
    description:
      'Removes prefixes from the dial plan when the provider side is configured as either an IP-PBX or a SIP Trunk.',
    body: SBC_REMOVE_PREFIX,
    variables: [],
    pairedTemplateId: 'sbc-add-prefix',
    isDefault: false,
  },
  {
    id: 'add-ipx-user',
    name: 'add-ipx-user',
    type: 'background',
    description: 'Adds an IP-PBX registered user when provider side is configured as an IP-PBX.',
    body: ADD_IPX_USER,
    variables: [],
    pairedTemplateId: null,
    isDefault: false,
  },
  {
    id: 'm365-default-onboarding',
    name: 'Default M365 Onboarding script',
    type: 'm365-onboarding',
    description: 'Default M365 Onboarding script.',
    body: M365_DEFAULT_ONBOARDING,
    variables: [],
    pairedTemplateId: 'm365-default-cleanup',
    isDefault: true,
  },
  {
    id: 'm365-default-cleanup',
    name: 'Default M365 Cleanup',
    type: 'm365-cleanup',
    description: 'Default M365 Onboarding cleanup script.',
    body: M365_DEFAULT_CLEANUP,
    variables: [],
    pairedTemplateId: 'm365-default-onboarding',
    isDefault: true,
  },
  {
    id: 'm365-lbr-onboarding',
    name: 'M365 onboarding with Location-Based Routing',
    type: 'm365-onboarding',
    description:
      'Location-based routing: network region, site, example subnet and trusted IP, the PSTN gateway, a calling policy preventing toll bypass, then the default routing. Clean up with the Default M365 Cleanup.',
    body: M365_LBR_ONBOARDING,
    variables: [],
    pairedTemplateId: null,
    isDefault: false,
  },
  {
    id: 'm365-lbr-custom-networks-onboarding',
    name: 'M365 onboarding with Location-Based Routing and Custom Networks',
    type: 'm365-onboarding',
    description:
      "Location-based routing with the customer's own subnet and trusted IP range. Clean up with the Default M365 Cleanup.",
    body: M365_LBR_CUSTOM_NETWORKS_ONBOARDING,
    variables: [
      {
        name: 'IP-Network',
        label: 'Internal IP address of the customer network',
        default: null,
        required: true,
      },
      {
        name: 'IP-SubnetBits',
        label: 'Subnet mask bits for the internal customer network, e.g. 24',
        default: null,
        required: true,
      },
      {
        name: 'Trusted-IP-Network',
        label: 'Public IP address of the customer network',
        default: null,
        required: true,
      },
      {
        name: 'Trusted-IP-SubnetBits',
        label: 'Subnet mask bits for the customer public IP range (32 for a single address)',
        default: '32',
        required: true,
      },
    ],
    pairedTemplateId: null,
    isDefault: false,
  },
];

export function builtInTemplate(id: string): BuiltInTemplate | undefined {
  return BUILT_IN_TEMPLATES.find((t) => t.id === id);
}
