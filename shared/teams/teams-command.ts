/**
 * One change to a customer's Teams voice configuration, as a structured command (DESIGN §3): the cmdlet it stands
 * for and its parameters. M365 script templates render to a list of these; the Teams admin API adapter executes
 * them; `renderPowerShell` shows each as the PowerShell line a person would type (the manual's "Queued Change").
 */
export interface TeamsCommand {
  /** e.g. `New-CsOnlinePSTNGateway`, `Set-CsOnlineVoiceRoute`, `Remove-CsOnlinePSTNGateway`. */
  readonly cmdlet: string;
  readonly params: Readonly<Record<string, TeamsParamValue>>;
}

/** A list edit, PowerShell's `@{Add="a"; Remove="b"}`. */
export interface TeamsListEdit {
  readonly add?: readonly string[];
  readonly remove?: readonly string[];
}

/**
 * A structured value, e.g. one of a dial plan's NormalizationRules (`New-CsVoiceNormalizationRule -InMemory`), written
 * in PowerShell as a hashtable.
 */
export type TeamsRecord = Readonly<Record<string, string | boolean | null>>;

export type TeamsParamValue =
  string | number | boolean | null | readonly string[] | readonly TeamsRecord[] | TeamsListEdit;
