import type { MirrorUser } from '../../shared/replication/mirror-user.js';

/** A user as replication leaves it in the mirror: no voice unless `changes` says so. */
export function mirrorUser(
  changes: Partial<MirrorUser> & Pick<MirrorUser, 'id' | 'userPrincipalName'>,
): MirrorUser {
  return {
    displayName: null,
    department: null,
    usageLocation: 'GB',
    businessPhones: [],
    mobilePhone: null,
    accountEnabled: true,
    accountType: 'User',
    enterpriseVoiceEnabled: false,
    lineUri: null,
    telephoneNumbers: [],
    policies: {},
    teamsModifiedAt: null,
    assignedLicenses: [],
    ...changes,
  };
}
