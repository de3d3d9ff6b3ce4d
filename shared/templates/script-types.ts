/** The manual's ScriptType 1–4, and NULL ("Background processing only"). */
export const SCRIPT_TYPES = [
  'sbc-onboarding',
  'sbc-cleanup',
  'm365-onboarding',
  'm365-cleanup',
  'background',
] as const;
export type ScriptType = (typeof SCRIPT_TYPES)[number];

/** The manual's ScriptType names. */
export const SCRIPT_TYPE_LABELS: Readonly<Record<ScriptType, string>> = {
  'sbc-onboarding': 'SBC onboarding',
  'sbc-cleanup': 'SBC cleanup',
  'm365-onboarding': 'M365 onboarding',
  'm365-cleanup': 'M365 cleanup',
  background: 'Background',
};

/** What a template renders to: AudioCodes CLI text for the SBC, or Teams commands (PowerShell lines). */
export type ScriptFamily = 'sbc' | 'm365';

export function familyOf(type: ScriptType): ScriptFamily {
  return type === 'm365-onboarding' || type === 'm365-cleanup' ? 'm365' : 'sbc';
}

/** The type a template of this type pairs with: onboarding ↔ cleanup; background scripts pair among themselves. */
export function counterpartType(type: ScriptType): ScriptType {
  switch (type) {
    case 'sbc-onboarding':
      return 'sbc-cleanup';
    case 'sbc-cleanup':
      return 'sbc-onboarding';
    case 'm365-onboarding':
      return 'm365-cleanup';
    case 'm365-cleanup':
      return 'm365-onboarding';
    case 'background':
      return 'background';
  }
}

/** The types the onboarding wizard offers a picker for, each with one preselected ("Default Script") template. */
export function hasWizardDefault(type: ScriptType): boolean {
  return type !== 'background';
}

/** A Customer Variable a template declares: a row of the wizard's "Customer Variables | Value" grid. */
export interface TemplateVariable {
  /** Used as `{{CustomVar.<name>}}`. */
  readonly name: string;
  readonly label: string;
  readonly default: string | null;
  readonly required: boolean;
}

/** What rendering needs of a template. */
export interface RenderableTemplate {
  readonly type: ScriptType;
  readonly body: string;
  readonly variables: readonly TemplateVariable[];
}
