/** Rendering refused: a missing required Customer Variable, an unsafe value, or a line that is no Teams command. */
export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';
  constructor(
    readonly code: 'custom_variable_missing' | 'unsafe_value' | 'command_invalid' | 'quote_unbalanced',
    message: string,
    /** The Customer Variable, context path or rendered line (1-based) concerned. */
    readonly at?: string | number,
  ) {
    super(message);
  }
}
