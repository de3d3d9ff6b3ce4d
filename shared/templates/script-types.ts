/** The manual's ScriptType 1–4, and NULL ("Background processing only"). */
export const SCRIPT_TYPES = [
  'SBC onboarding',
  'SBC cleanup',
  'M365 onboarding',
  'M365 cleanup',
  'Background',
] as const;
export type ScriptType = (typeof SCRIPT_TYPES)[number];

/** What a template renders to: AudioCodes CLI text for the SBC, or Teams commands (PowerShell lines). */
export type ScriptFamily = 'sbc' | 'm365';

export function familyOf(type: ScriptType): ScriptFamily {
  return type === 'M365 onboarding' || type === 'M365 cleanup' ? 'm365' : 'sbc';
}

/** The type a template of this type pairs with: onboarding ↔ cleanup; background scripts pair among themselves. */
export function counterpartType(type: ScriptType): ScriptType {
  switch (type) {
    case 'SBC onboarding':
      return 'SBC cleanup';
    case 'SBC cleanup':
      return 'SBC onboarding';
    case 'M365 onboarding':
      return 'M365 cleanup';
    case 'M365 cleanup':
      return 'M365 onboarding';
    case 'Background':
      return 'Background';
  }
}

/** The types the onboarding wizard offers a picker for, each with one preselected ("Default Script") template. */
export function hasWizardDefault(type: ScriptType): boolean {
  return type !== 'Background';
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
