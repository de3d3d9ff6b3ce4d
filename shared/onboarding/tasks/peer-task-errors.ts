import { DnsError } from '../../dns/azure-dns.js';
import { GraphRequestError } from '../../m365/graph-domains.js';
import { NO_LICENSE_MESSAGE, NoLicenseAvailableError } from '../../m365/graph-licenses.js';
import { SbcError } from '../../sbc/sbc-client.js';
import {
  PermanentTaskError,
  type TaskErrorClassifier,
  TransientTaskError,
} from '../../tasks/task-definition.js';
import { TeamsAdminError } from '../../teams/teams-admin-client.js';
import { TeamsCommandError } from '../../teams/teams-commands-rest.js';
import { TemplateRenderError } from '../../templates/template-compiler.js';

/**
 * A DNS Zone Contributor role assigned minutes ago is refused by ARM until it has propagated: Learn ("Troubleshoot
 * Azure RBAC") says a role assignment change can take up to 10 minutes to take effect. The task retries for its
 * retry window (30 minutes by default) and only then fails with this error.
 */
export const FRESH_ROLE_HINT =
  'The DNS app has no DNS Zone Contributor role on the zone yet; a role assigned minutes ago can take up to 10 ' +
  'minutes to apply, so the task tries again. If it keeps failing, assign the role to the app on the zone ' +
  '(System > DNS API Configuration names the app).';

/**
 * The peers' errors as the task engine wants them: what a later try may fix (throttling, 5xx, an SBC busy with HA
 * sync) is transient, the rest permanent with the adapter's message, which names what failed. The tasks that talk
 * to Graph, Teams, DNS or the SBCs name it in their definition; the engine applies it once to what a step throws.
 */
export const classifyPeerError: TaskErrorClassifier = (error) => {
  if (error instanceof DnsError && error.status === 403 && error.code === 'AuthorizationFailed') {
    return new TransientTaskError(`${error.message} ${FRESH_ROLE_HINT}`, undefined, { cause: error });
  }
  if (
    error instanceof GraphRequestError ||
    error instanceof DnsError ||
    error instanceof SbcError ||
    error instanceof TeamsAdminError
  ) {
    const retryAfterMs =
      error instanceof TeamsAdminError && error.retryAfterSeconds !== undefined
        ? error.retryAfterSeconds * 1000
        : undefined;
    return error.transient
      ? new TransientTaskError(error.message, retryAfterMs, { cause: error })
      : new PermanentTaskError(sbcDetail(error), { cause: error });
  }
  if (error instanceof TeamsCommandError || error instanceof TemplateRenderError) {
    return new PermanentTaskError(error.message, { cause: error });
  }
  if (error instanceof NoLicenseAvailableError)
    return new PermanentTaskError(NO_LICENSE_MESSAGE, { cause: error });
  return undefined;
};

function sbcDetail(error: Error): string {
  if (error instanceof SbcError && error.output) return `${error.message} ${error.output.trim()}`;
  return error.message;
}
