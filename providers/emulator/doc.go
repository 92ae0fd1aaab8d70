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
//   - Confluent: 409 resource_already_exists + Location for a pending email
//     (switch), 409 without Location for a member; DELETE keeps the
//     invitation as INVITE_STATUS_DEACTIVATED and is idempotent on
//     expired/deactivated ones; page_size over the maximum is clamped; page
//     tokens encode the last item served (creation order), so paging is
//     stable under concurrent inserts; metadata.next carries the request's
//     filters too; validation failures answer 422 invalid_configuration; a
//     create without auth_type gets AUTH_TYPE_LOCAL (orgs have no SSO).
//     Access: the key's owner is a member holding OrganizationAdmin; the
//     emulator's own Cloud API key is not in the api-keys listing; a
//     role-binding crn_pattern ending "/*" also matches nested scopes (the
//     Confluent CLI's --inclusive), any other its scope only; a crn_pattern
//     of another org answers 403 user_unauthorized; a duplicate binding
//     answers 409 resource_already_exists (documented) with a Location (not);
//     DELETE /iam/v2/users/{id} removes the user, its API keys and its role
//     bindings at once (upstream: "is being deleted") and leaves its
//     invitations listed as they were.
//   - CSP: any orgId exists on first use; only csp-auth-token authenticates;
//     a bulk invite naming any username with an AVAILABLE, unexpired
//     invitation answers 409 and applies nothing; no cap on usernames;
//     DELETE of a REDEEMED invitation answers 400; X-Request-Id on answers.
//   - Azure: orgs exist on first use (switch); duplicates answer the ARM
//     default error (switch); the "email" search filter is honoured (clients
//     must not rely on it); pageSize default 10, max 100, clamped; any other
//     action (or method) is a 404 ARM error. listRoleBindings honours the
//     searchFilters keys crn_pattern, principal and role_name (undocumented)
//     and lists every binding without crn_pattern; deleteRoleBinding answers
//     200 when it deleted and 204 when there was nothing (the spec's two
//     successes, read as ARM's delete convention); GET on the organization
//     resource answers properties.organizationId (Organization_Get).
//
// Switches (Config.Confluent, Config.Azure; emulator flags), the documented
// or most likely behaviour first, so a client is tested against every
// plausible answer and relies on none:
//
//   - Confluent email filter (--confluent-email-filter): "exact" (documented:
//     "Filter the results by exact match for email") | "fold".
//   - Confluent create for a pending email (--confluent-duplicate): "409"
//     (409 + Location) | "201" (a second invitation); undocumented.
//   - A second org behind the same host (--confluent-second-key, -secret,
//     -principal): that key reaches another organization id, so a plan made
//     for one org and applied with the other org's key is detectable. An
//     unknown key answers 401, another org's key id in who-am-I 404.
//   - Azure page token (--azure-next-token): "page_token" (metadata.next is a
//     Confluent URL whose page_token goes back as searchFilters.pageToken,
//     as the example pair suggests) | "link" (the whole next link must go
//     back; a bare token serves the first page again) | "token" (next is
//     the bare token).
//   - Azure duplicate create or binding (--azure-duplicate): "conflict" (409,
//     ARM default error, code Conflict) | "badrequest" (400, BadRequest) |
//     "legacy" (409 InvitationAlreadyExists / UserAlreadyExists, an old
//     guess). The spec documents only "the ARM default error".
//   - Azure timestamps (--azure-timestamps): "rfc3339" (the examples) |
//     "mixed" (.NET round-trip without zone, space-separated, US date, and
//     every seventh record's created_at no date at all).
//   - Azure organizations (--azure-orgs): empty, every org exists on first
//     use | a list: only those exist, others answer 404 ResourceNotFound as
//     ARM does.
//
// Beyond the contract (extensions):
//
//   - Config.Log (debug line per request, never credentials); Server.Expire;
//     ErrNoPending; DefaultBurst: Burst 0 means max(2, ceil(Rate/10)).
//   - Seed: "expired: true" (all APIs; an invitation whose expiry has passed),
//     "expires_at" (Confluent, Azure), "invited_by" (CSP: someone else's),
//     "roles" (Confluent, Azure: role bindings of the invitee's user, in the
//     roster's syntax NAME, NAME@env-x or NAME@env-x/lkc-y), "api_keys"
//     (Confluent, accepted only: ids of API keys the member owns).
//   - Stats: duplicate_grants (role-binding creates for a binding that
//     exists) and access (users, role_bindings, api_keys per API).
//   - Control: POST /_emulator/expire, POST and GET /_emulator/faults (see
//     control.go). Stats.by_route keys are the ServeMux patterns, e.g.
//     "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}/access/default/createInvitation";
//     CSP revoke counts as "POST /csp/gateway/am/api/orgs/{orgId}/invitations?action=revoke".
//   - Reset re-seeds the fault PRNG and refills the rate limiter; ids keep
//     counting so a ledger never sees one reused.
//   - With a state file, every change is on disk (temp file, fsync, rename)
//     before it is acknowledged; concurrent changes share one write.
//   - Misbehaviour modes (misbehave.go), off by default, for tests of a
//     hostile upstream: overlap-pages, endless-pages, cycle-pages,
//     huge-lists, late-answer, late-land, cut-create, garbage-create,
//     echo-auth, escape-errors, escape-fields, clock-skew. Config.Misbehave,
//     MisbehaveDelay and HugeBodyBytes; --misbehave, --misbehave-delay and
//     --huge-body-mib; POST and GET /_emulator/misbehave; Stats.misbehaviours
//     counts the answers each changed. They rewrite requests and answers
//     around the vendor handlers, so the store stays truthful (clock-skew
//     changes what is listed, not what is held).
package emulator
