/**
 * The mirror's user, in a module of its own so that the mirror store and the index it keeps beside each user
 * (user-index.ts) both read one definition, with imports one way only.
 */

/** A replicated user: the Graph user merged with its Teams user configuration (the manual's Users list). */
export interface MirrorUser {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName: string | null;
  readonly department: string | null;
  readonly usageLocation: string | null;
  readonly businessPhones: readonly string[];
  readonly mobilePhone: string | null;
  readonly accountEnabled: boolean | null;
  readonly accountType: string | null;
  readonly enterpriseVoiceEnabled: boolean;
  /** `tel:+…` of the primary number, the manual's Line Uri; null without a number. */
  readonly lineUri: string | null;
  readonly telephoneNumbers: readonly string[];
  /** Effective policy by type (display names, `Global` for the default). */
  readonly policies: Readonly<Record<string, string>>;
  readonly teamsModifiedAt: string | null;
  /** The licences' skuIds (Graph `assignedLicenses`). */
  readonly assignedLicenses: readonly string[];
}
