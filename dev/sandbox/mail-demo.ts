/**
 * The sandbox mail services' published test values: the ACS resource's access key and sender, and the SMTP
 * sink's account. Like `DEMO`, they mean nothing outside the sandbox.
 */
export const DEMO_MAIL = {
  acs: {
    /**
     * The resource's access key (base64, as the SDK's HMAC signing expects). The endpoint is the sandbox's root
     * URL itself: `EmailClient` refuses an endpoint with a path, as ACS resources have none.
     */
    accessKey: 'ZHJoLXNhbmRib3gtYWNzLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24tMDEyMzQ1Njc4OQ==',
    /** The verified domain linked to the resource; senders on other domains get 400 DomainNotLinked. */
    senderDomain: 'mail.northwindvoice.example',
    senderAddress: 'DoNotReply@mail.northwindvoice.example',
    /** Accepted, then undeliverable: the send operation ends `Failed` and no mail arrives. */
    undeliverableRecipient: 'suppressed@undeliverable.example',
  },
  smtp: {
    username: 'invitations@northwindvoice.example',
    password: 'smtp8Q~sandbox-mail-password-not-for-production',
    from: 'Northwind Voice <invitations@northwindvoice.example>',
  },
} as const;
