import { describe, expect, it } from 'vitest';
import { carriers, parseIniTables, parseSbcIni } from '../../shared/sbc/sbc-config.js';

const INI = [
  ';**************',
  ';** Ini File **',
  '[SYSTEM Params]',
  'SyslogServerIP = 0.0.0.0',
  '[ SIPInterface ]',
  'FORMAT Index = InterfaceName, NetworkInterface, ApplicationType, UDPPort, TCPPort, TLSPort;',
  'SIPInterface 0 = "Teams", "WAN", 2, 0, 0, 5061;',
  'SIPInterface 1 = "SIPTrunk", "LAN", 2, 5060, 0, 0;',
  'SIPInterface 2 = "this is a very long name deliberately_12", "LAN", 2, 5062, 0, 0;',
  'SIPInterface 3 = "OnlyInterface", "LAN", 2, 5064, 0, 0;',
  '[ \\SIPInterface ]',
  '[ ProxySet ]',
  'FORMAT Index = ProxyName, SBCIPv4SIPInterfaceName, EnableProxyKeepAlive;',
  'ProxySet 0 = "Teams", "Teams", 1;',
  'ProxySet 1 = "SIPTrunk", "SIPTrunk", 1;',
  'ProxySet 2 = "this is a very long name deliberately_12", "LAN", 1;',
  'ProxySet 3 = "ProxySet_0", "SIPTrunk", 0;',
  '[ \\ProxySet ]',
  '[ ProxyIp ]',
  'FORMAT Index = ProxySetId, ProxyIpIndex, IpAddress, TransportType;',
  'ProxyIp 0 = 1, 0, "10.0.0.5:5060", 0;',
  'ProxyIp 1 = 1, 1, "10.0.0.6:5060", 0;',
  '[ \\ProxyIp ]',
  '[ IpProfile ]',
  'FORMAT Index = ProfileName;',
  'IpProfile 0 = "Teams";',
  'IpProfile 1 = "SIPTrunk";',
  'IpProfile 4 = "this is a very long name deliberately_12";',
  '[ \\IpProfile ]',
  '[ CallAdmissionControlProfile ]',
  'FORMAT Index = Name;',
  'CallAdmissionControlProfile 0 = "1 session";',
  'CallAdmissionControlProfile 1 = "5 sessions";',
  '[ \\CallAdmissionControlProfile ]',
  '[ IPGroup ]',
  'FORMAT Index = Type, Name, ProxySetName, ProfileName, MediaRealm, SIPGroupName, ClassifyByProxySet, AlwaysUseSourceAddr, CallSetupRulesSetId, AdmissionProfile, Tags, ContactName;',
  'IPGroup 0 = 0, "acme-c", "SIPTrunk", "SIPTrunk", "", "", 0, 0, 1, "", "Trunk=acme.example", "";',
  'IPGroup 1 = 1, "acme-t", "Teams", "Teams", "", "sip, \\"quoted\\"", 0, 1, 0, "5 sessions", "Tenant=acme.example", "acme.example";',
  '[ \\IPGroup ]',
].join('\r\n');

describe('SBC ini parsing', () => {
  it('reads the tables generically', () => {
    const tables = parseIniTables(INI);
    expect([...tables.keys()]).toEqual([
      'SIPInterface',
      'ProxySet',
      'ProxyIp',
      'IpProfile',
      'CallAdmissionControlProfile',
      'IPGroup',
    ]);
    expect(tables.get('SIPInterface')?.rows[1]).toEqual({
      index: 1,
      values: {
        InterfaceName: 'SIPTrunk',
        NetworkInterface: 'LAN',
        ApplicationType: 2,
        UDPPort: 5060,
        TCPPort: 0,
        TLSPort: 0,
      },
    });
  });

  it('types IP groups, proxy sets (with addresses), interfaces, profiles and CAC profiles', () => {
    const config = parseSbcIni(INI);
    expect(config.ipGroups).toEqual([
      {
        index: 0,
        name: 'acme-c',
        type: 'server',
        proxySetName: 'SIPTrunk',
        ipProfileName: 'SIPTrunk',
        sipGroupName: '',
        tags: 'Trunk=acme.example',
        cacProfile: '',
      },
      {
        index: 1,
        name: 'acme-t',
        type: 'user',
        proxySetName: 'Teams',
        ipProfileName: 'Teams',
        sipGroupName: 'sip, "quoted"',
        tags: 'Tenant=acme.example',
        cacProfile: '5 sessions',
      },
    ]);
    expect(config.proxySets[1]).toEqual({
      index: 1,
      name: 'SIPTrunk',
      sipInterfaceName: 'SIPTrunk',
      addresses: ['10.0.0.5:5060', '10.0.0.6:5060'],
    });
    expect(config.cacProfiles.map((c) => c.name)).toEqual(['1 session', '5 sessions']);
    expect(config.ipProfiles.map((p) => p.index)).toEqual([0, 1, 4]);
  });

  it('lists as carriers the names that are SIP interface, proxy set and IP profile at once, Teams excluded', () => {
    const config = parseSbcIni(INI);
    expect(carriers(config)).toEqual(['SIPTrunk', 'this is a very long name deliberately_12']);
    expect(carriers(config, { teamsLeg: null })).toEqual([
      'Teams',
      'SIPTrunk',
      'this is a very long name deliberately_12',
    ]);
    expect(carriers(parseSbcIni(''))).toEqual([]);
  });
});
