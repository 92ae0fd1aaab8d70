// Package emulator serves the three upstream invitation APIs invitesync talks
// to (Confluent Cloud IAM v2, VMware Cloud Services, Confluent on Azure) from
// one in-memory store, on loopback, with no credentials and no network. Tests,
// benchmarks and `make demo` run against it over real sockets.
//
// Wire shapes follow /work/shared/upstream-apis.md to the field name; where
// that page says UNCONFIRMED, the emulator follows the lead's decisions
// (contracts.md) and the code says "emulator guess" at each such place. The
// main ones:
//
//   - Confluent: 409 resource_already_exists + Location for a pending email,
//     409 without Location for a member; DELETE keeps the invitation as
//     INVITE_STATUS_DEACTIVATED and is idempotent on expired/deactivated ones;
//     page_size over the maximum is clamped; page tokens encode the last item
//     served (creation order), so paging is stable under concurrent inserts;
//     metadata.next carries the request's filters too; the email filter is
//     case-insensitive; validation failures answer 422 invalid_configuration;
//     a create without auth_type gets AUTH_TYPE_LOCAL (orgs have no SSO).
//   - CSP: any orgId exists on first use; only csp-auth-token authenticates;
//     a bulk invite naming any username with an AVAILABLE, unexpired
//     invitation answers 409 and applies nothing; no cap on usernames;
//     DELETE of a REDEEMED invitation answers 400; X-Request-Id on answers.
//   - Azure: orgs exist on first use; duplicates answer 409
//     InvitationAlreadyExists / UserAlreadyExists; the "email" search filter is
//     honoured; pageSize default 10, max 100, clamped; any other action (or
//     method) is a 404 ARM error.
//
// Beyond the contract (extensions):
//
//   - Config.Log (debug line per request, never credentials); Server.Expire;
//     ErrNoPending; DefaultBurst: Burst 0 means max(2, ceil(Rate/10)).
//   - Seed: "expired: true" (all APIs; an invitation whose expiry has passed),
//     "expires_at" (Confluent, Azure), "invited_by" (CSP: someone else's).
//   - Control: POST /_emulator/expire, POST and GET /_emulator/faults (see
//     control.go). Stats.by_route keys are the ServeMux patterns, e.g.
//     "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}/access/default/createInvitation";
//     CSP revoke counts as "POST /csp/gateway/am/api/orgs/{orgId}/invitations?action=revoke".
//   - Reset re-seeds the fault PRNG and refills the rate limiter; ids keep
//     counting so a ledger never sees one reused.
//   - With a state file, every change is on disk (temp file, fsync, rename)
//     before it is acknowledged; concurrent changes share one write.
package emulator
